"""Read models for the API and pages: plain dicts of JSON-safe values."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.errors import NotFound
from hotlead_app.models import Lead, LeadAssignment, Niche


def _assignment(a: LeadAssignment) -> dict[str, Any]:
    return {
        "id": str(a.id), "provider_id": str(a.provider_id), "subscription_id": str(a.subscription_id),
        "competition_level_id": str(a.competition_level_id),
        "charged_amount": money.format_money(a.charged_amount), "is_refunded": a.is_refunded,
        "refunded_at": a.refunded_at.isoformat() if a.refunded_at else None,
        "refund_reason": a.refund_reason, "assigned_at": a.assigned_at.isoformat(),
    }


def lead_detail(*, lead_id: uuid.UUID) -> dict[str, Any]:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        if lead is None:
            raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
        niche = uow.session.get(Niche, lead.niche_id)
        assignments = uow.session.exec(
            select(LeadAssignment).where(LeadAssignment.lead_id == lead_id).order_by(LeadAssignment.received_at)
        ).all()
        return {
            "id": str(lead.id), "status": lead.status.value, "niche": niche.slug, "email": lead.email,
            "phone": lead.phone, "payload": lead.payload, "referrer_url": lead.referrer_url,
            "utm_params": lead.utm_params, "created_at": lead.created_at.isoformat(),
            "confirmed_at": lead.confirmed_at.isoformat() if lead.confirmed_at else None,
            "distribution_seq": lead.distribution_seq,
            "assignments": [_assignment(a) for a in assignments],
        }
