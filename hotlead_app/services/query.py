"""Read models for the API and pages: plain dicts of JSON-safe values."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.errors import NotFound
from hotlead_app.models import Lead, LeadAssignment, Niche
from hotlead_app.services.checks import name_cursor


def _assignment(a: LeadAssignment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "provider_id": str(a.provider_id),
        "subscription_id": str(a.subscription_id),
        "competition_level_id": str(a.competition_level_id),
        "charged_amount": money.format_money(a.charged_amount),
        "is_refunded": a.is_refunded,
        "refunded_at": a.refunded_at.isoformat() if a.refunded_at else None,
        "refund_reason": a.refund_reason,
        "assigned_at": a.assigned_at.isoformat(),
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
            "id": str(lead.id),
            "status": lead.status.value,
            "niche": niche.slug,
            "email": lead.email,
            "phone": lead.phone,
            "payload": lead.payload,
            "referrer_url": lead.referrer_url,
            "utm_params": lead.utm_params,
            "created_at": lead.created_at.isoformat(),
            "confirmed_at": lead.confirmed_at.isoformat() if lead.confirmed_at else None,
            "distribution_seq": lead.distribution_seq,
            "assignments": [_assignment(a) for a in assignments],
        }


# --------------------------------------------------------------------------- lists
# The admin's list of leads (GET /admin/leads and the leads browser) is
# lead_browser.search_leads.


def provider_leads(*, provider_id: uuid.UUID, limit: int = 50, after: object = None) -> list[dict[str, Any]]:
    """A provider's assignments newest first, with the lead's contact and payload;
    ``after`` is the ``[assigned_at, id]`` of the last row of the previous page."""
    from sqlalchemy import and_, func, or_

    from hotlead_app.models import CompetitionLevel
    from hotlead_app.services.checks import time_cursor

    key = time_cursor(after)

    with unit_of_work() as uow:
        shared = (
            select(func.count())
            .select_from(LeadAssignment)
            .where(LeadAssignment.lead_id == Lead.id)
            .correlate(Lead)
            .scalar_subquery()
        )
        query = (
            select(LeadAssignment, Lead, Niche.slug, CompetitionLevel.name, shared)
            .join(Lead, Lead.id == LeadAssignment.lead_id)
            .join(Niche, Niche.id == Lead.niche_id)
            .join(CompetitionLevel, CompetitionLevel.id == LeadAssignment.competition_level_id)
            .where(LeadAssignment.provider_id == provider_id)
        )
        if key:
            at, last_id = key
            query = query.where(
                or_(
                    LeadAssignment.assigned_at < at, and_(LeadAssignment.assigned_at == at, LeadAssignment.id < last_id)
                )
            )
        rows = uow.session.exec(
            query.order_by(LeadAssignment.assigned_at.desc(), LeadAssignment.id.desc()).limit(limit + 1)
        ).all()
        return [
            {
                **_assignment(a),
                "lead_id": str(lead.id),
                "niche": slug,
                "level": level_name,
                "providers_on_lead": count,
                "email": lead.email,
                "phone": lead.phone,
                "payload": lead.payload,
            }
            for a, lead, slug, level_name, count in rows
        ]


def list_providers(*, limit: int = 50, after: object = None) -> list[dict[str, Any]]:
    from hotlead_app.models import ServiceProvider

    with unit_of_work() as uow:
        query = select(ServiceProvider).order_by(ServiceProvider.name, ServiceProvider.id)
        key = name_cursor(after)
        if key:
            from sqlalchemy import and_, or_

            name, last_id = key
            query = query.where(
                or_(ServiceProvider.name > name, and_(ServiceProvider.name == name, ServiceProvider.id > last_id))
            )
        return [
            {
                "id": str(p.id),
                "name": p.name,
                "email": p.email,
                "status": p.status.value,
                "status_reason": p.status_reason,
                "balance": money.format_money(p.balance),
                "created_at": p.created_at.isoformat(),
            }
            for p in uow.session.exec(query.limit(limit + 1)).all()
        ]


def list_niches(*, active_only: bool = False) -> list[dict[str, Any]]:
    with unit_of_work() as uow:
        query = select(Niche).order_by(Niche.name)
        if active_only:
            query = query.where(Niche.active)
        return [
            {
                "id": str(n.id),
                "slug": n.slug,
                "name": n.name,
                "active": n.active,
                "fields": n.fields,
                "distributed_count": n.distributed_count,
            }
            for n in uow.session.exec(query).all()
        ]
