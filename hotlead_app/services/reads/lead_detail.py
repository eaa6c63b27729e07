"""One lead: as the provider that received it sees it (``provider_lead``), and as an
admin sees it (``admin_lead`` with assignments, refunds, explanation and history;
``lead_record``, the API's plain record; ``explanation``, why each subscription of
its niche did or did not receive it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import (
    AuditLog,
    CompetitionLevel,
    DistributionAttempt,
    Lead,
    LeadAssignment,
    Niche,
    ServiceProvider,
)
from hotlead_app.services import distribution, inbox
from hotlead_app.services.reads._access import admin_only, iso, own_provider
from hotlead_app.services.reads._admin_leads import AdminLeadRow, lead_query, lead_row
from hotlead_app.services.reads._assignments import (
    AssignmentRow,
    OutcomeView,
    ReturnView,
    assignment_row,
    latest_outcomes,
    return_requests_of,
    window_closes_at,
)

# --------------------------------------------------------------------------- the provider's


class LeadField(TypedDict):
    name: str
    label: str
    value: str


class ProviderLead(TypedDict):
    lead_id: str
    assignment_id: str
    niche: str
    niche_slug: str
    niche_fields: list[dict[str, Any]]  # the form: labels and order of the answers
    level: str
    name: str  # the consumer's name ("" when the lead has none)
    email: str
    phone: str | None
    payload: dict[str, Any]
    fields: list[LeadField]
    charged_amount: str
    providers_on_lead: int
    shared_with: int
    is_refunded: bool
    refunded_at: str | None
    refund_reason: str | None
    assigned_at: str | None
    created_at: str | None
    status: str
    latest_outcome: OutcomeView | None
    return_request: ReturnView | None
    return_window_closes_at: str
    return_reasons: list[dict[str, Any]]
    note: str
    note_updated_at: str | None


def provider_lead(actor: Actor, *, lead_id: uuid.UUID) -> ProviderLead:
    """One lead the provider received; any other lead is NotFound."""
    provider_id = own_provider(actor)
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(LeadAssignment, Lead, Niche, CompetitionLevel)
            .join(Lead, col(Lead.id) == LeadAssignment.lead_id)
            .join(Niche, col(Niche.id) == Lead.niche_id)
            .join(CompetitionLevel, col(CompetitionLevel.id) == LeadAssignment.competition_level_id)
            .where(LeadAssignment.lead_id == lead_id, LeadAssignment.provider_id == provider_id)
        ).first()
        if row is None:
            raise NotFound("No such lead among yours.", details={"lead_id": str(lead_id)})
        assignment, lead, niche, level = row
        shared = uow.session.exec(
            select(func.count()).select_from(LeadAssignment).where(LeadAssignment.lead_id == lead_id)
        ).one()
        labels = {f["name"]: f.get("label") or f["name"] for f in niche.fields}
        outcome = latest_outcomes(uow, [assignment.id]).get(assignment.id)
        request = return_requests_of(uow, [assignment.id]).get(assignment.id)
        note = inbox.notes_of(uow.session, [assignment.id]).get(assignment.id)
    return {
        "lead_id": str(lead.id),
        "assignment_id": str(assignment.id),
        "niche": niche.name,
        "niche_slug": niche.slug,
        "niche_fields": niche.fields,
        "level": level.name,
        "name": lead.name or "",
        "email": lead.email,
        "phone": lead.phone,
        "payload": lead.payload,
        "fields": [
            {"name": k, "label": labels.get(k, k), "value": "" if v is None else str(v)}
            for k, v in lead.payload.items()
        ],
        "charged_amount": money.format_money(assignment.charged_amount),
        "providers_on_lead": shared,
        "shared_with": shared,
        "is_refunded": assignment.is_refunded,
        "refunded_at": iso(assignment.refunded_at),
        "refund_reason": assignment.refund_reason,
        "assigned_at": iso(assignment.assigned_at),
        "created_at": iso(lead.created_at),
        "status": lead.status.value,
        "latest_outcome": outcome,
        "return_request": request,
        "return_window_closes_at": window_closes_at(assignment, niche.return_window_hours),
        "return_reasons": niche.return_reasons,
        "note": note[0] if note else "",
        "note_updated_at": note[1].isoformat() if note else None,
    }


# --------------------------------------------------------------------------- the admin's


class LeadRecord(TypedDict):
    id: str
    status: str
    niche: str
    name: str | None
    email: str
    phone: str | None
    payload: dict[str, Any]
    referrer_url: str | None
    utm_params: dict[str, Any] | None
    created_at: str
    confirmed_at: str | None
    distribution_seq: int | None
    duplicate_of: str | None
    assignments: list[AssignmentRow]


def lead_record(actor: Actor, *, lead_id: uuid.UUID) -> LeadRecord:
    """A lead as stored, with its assignments (``GET /admin/leads/{id}``)."""
    admin_only(actor)
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        if lead is None:
            raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
        niche = uow.session.get(Niche, lead.niche_id)
        assert niche is not None  # a foreign key
        assignments = uow.session.exec(
            select(LeadAssignment).where(LeadAssignment.lead_id == lead_id).order_by(col(LeadAssignment.received_at))
        ).all()
        return {
            "id": str(lead.id),
            "status": lead.status.value,
            "niche": niche.slug,
            "name": lead.name,
            "email": lead.email,
            "phone": lead.phone,
            "payload": lead.payload,
            "referrer_url": lead.referrer_url,
            "utm_params": lead.utm_params,
            "created_at": lead.created_at.isoformat(),
            "confirmed_at": iso(lead.confirmed_at),
            "distribution_seq": lead.distribution_seq,
            "duplicate_of": str(lead.duplicate_of) if lead.duplicate_of else None,
            "assignments": [assignment_row(a) for a in assignments],
        }


REASON_TEXT = {
    "chosen": "Received the lead",
    "level_inactive": "Its competition level was not active",
    "not_subscribed": "The subscription did not exist yet",
    "subscription_paused": "The subscription was paused",
    "provider_inactive": "The provider was not active",
    "before_subscription": "Approved before the subscription started taking leads",
    "filter_mismatch": "Its filters exclude this lead",
    "outside_schedule": "Outside the subscription's schedule",
    "cap_reached": "The subscription's lead cap for the period was reached",
    "spend_cap_reached": "The provider's spend cap for the period was reached",
    "duplicate_consumer": "The provider recently received this consumer in this niche",
    "insufficient_balance": "The balance did not cover the price",
    "already_received": "The provider already received it at another level",
    "level_full": "The level was full (others were ahead in the fair order)",
    "unexplained": "No recorded reason",
}


PERIOD_TEXT = {"day": "today", "week": "this week", "month": "this month"}


def reason_text(reason: str) -> str:
    code, _, field = reason.partition(":")
    text = REASON_TEXT.get(code, code)
    if code in ("cap_reached", "spend_cap_reached") and field:
        return text.replace("the period", PERIOD_TEXT.get(field, field))
    return f"{text} (field “{field}”)" if field else text


class Decision(TypedDict):
    subscription_id: str
    provider_id: str
    provider: str
    level: str
    reason: str
    reason_text: str
    chosen: bool


def explanation(actor: Actor, *, lead_id: uuid.UUID) -> list[Decision]:
    """Why each subscription of the lead's niche did or did not receive it (empty
    until it is distributed), with provider and level names: the subscriptions that
    received it first, then the others, each group by level (priority order)."""
    admin_only(actor)
    decisions = distribution.explain(lead_id=lead_id)
    if not decisions:
        return []
    with unit_of_work() as uow:
        providers = dict(
            uow.session.exec(
                select(ServiceProvider.id, ServiceProvider.name).where(
                    col(ServiceProvider.id).in_({d.provider_id for d in decisions})
                )
            ).all()
        )
        level_rows = uow.session.exec(
            select(CompetitionLevel.id, CompetitionLevel.name, CompetitionLevel.priority_order).where(
                col(CompetitionLevel.id).in_({d.competition_level_id for d in decisions})
            )
        ).all()
    levels = {level_id: name for level_id, name, _order in level_rows}
    order = {level_id: (priority, name) for level_id, name, priority in level_rows}
    # The chosen first, then the others; each group by level (its priority, then name).
    decisions = sorted(
        decisions,
        key=lambda d: (
            not d.chosen,
            order.get(d.competition_level_id, (0, "")),
            str(d.competition_level_id),
            providers.get(d.provider_id, ""),
            str(d.subscription_id),
        ),
    )
    return [
        {
            "subscription_id": str(d.subscription_id),
            "provider_id": str(d.provider_id),
            "provider": providers.get(d.provider_id, str(d.provider_id)),
            "level": levels.get(d.competition_level_id, str(d.competition_level_id)),
            "reason": d.reason,
            "reason_text": reason_text(d.reason),
            "chosen": d.chosen,
        }
        for d in decisions
    ]


class AdminAssignment(TypedDict):
    id: str
    provider_id: str
    provider: str
    level: str
    price: str
    refunded: bool
    refunded_at: str | None
    refund_reason: str
    assigned_at: str


class BadLeadRefund(TypedDict):
    provider: str
    amount: str


class HistoryRow(TypedDict):
    id: str
    at: str
    entity_type: str
    entity_id: str
    action: str
    actor_role: str
    actor_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    memo: str
    reason: str


class AdminLead(AdminLeadRow):
    distribution_seq: int | None
    distributed_at: str | None
    can_bad_lead: bool
    assignments: list[AdminAssignment]
    bad_lead_refunds: list[BadLeadRefund]
    bad_lead_total: str
    explanation: list[Decision] | None
    #: A lead still approved: when the latest attempt found nobody, and how many did.
    attempted_at: str | None
    attempts: int
    history: list[HistoryRow]


def admin_lead(actor: Actor, *, lead_id: uuid.UUID, with_explanation: bool = True) -> AdminLead:
    """One lead: its data, consent evidence and attribution, its assignments (with
    provider and level names), what Global Bad Lead would refund to whom, the
    distribution explanation for every subscription of its niche (unless
    ``with_explanation`` is false: it is the costly part, see :func:`explanation`),
    and its history (the lead's and its assignments' audit rows, memos included),
    oldest first."""
    admin_only(actor)
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        found = uow.session.exec(lead_query().where(Lead.id == lead_id)).first()
        if found is None:
            raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
        lead, niche, partner = found
        row = lead_row(lead, niche, partner, now)
        assignments = uow.session.exec(
            select(LeadAssignment, ServiceProvider.name, CompetitionLevel.name)
            .join(ServiceProvider, col(ServiceProvider.id) == LeadAssignment.provider_id)
            .join(CompetitionLevel, col(CompetitionLevel.id) == LeadAssignment.competition_level_id)
            .where(LeadAssignment.lead_id == lead_id)
            .order_by(col(LeadAssignment.received_at))
        ).all()
        assignment_ids = [a.id for a, _p, _l in assignments]
        trail = (
            uow.session.exec(
                select(AuditLog)
                .where(
                    or_(
                        and_(col(AuditLog.entity_type) == "lead", col(AuditLog.entity_id) == lead_id),
                        and_(
                            col(AuditLog.entity_type) == "lead_assignment",
                            col(AuditLog.entity_id).in_(assignment_ids),
                        ),
                    )
                )
                .order_by(col(AuditLog.seq))
            ).all()
            if assignment_ids
            else uow.session.exec(
                select(AuditLog)
                .where(AuditLog.entity_type == "lead", AuditLog.entity_id == lead_id)
                .order_by(col(AuditLog.seq))
            ).all()
        )
        attempt = uow.session.get(DistributionAttempt, lead_id) if lead.status == LeadStatus.APPROVED else None
    refundable = [(a, name) for a, name, _lvl in assignments if not a.is_refunded]
    return {
        **row,
        "distribution_seq": lead.distribution_seq,
        "duplicate_of": str(lead.duplicate_of) if lead.duplicate_of else None,
        "distributed_at": iso(lead.distributed_at),
        "can_bad_lead": lead.status == LeadStatus.DISTRIBUTED,
        "assignments": [
            {
                "id": str(a.id),
                "provider_id": str(a.provider_id),
                "provider": provider_name,
                "level": level_name,
                "price": money.format_money(a.charged_amount),
                "refunded": a.is_refunded,
                "refunded_at": iso(a.refunded_at),
                "refund_reason": a.refund_reason or "",
                "assigned_at": a.assigned_at.isoformat(),
            }
            for a, provider_name, level_name in assignments
        ],
        "bad_lead_refunds": [
            {"provider": name, "amount": money.format_money(a.charged_amount)} for a, name in refundable
        ],
        "bad_lead_total": money.format_money(sum((a.charged_amount for a, _n in refundable), Decimal("0.00"))),
        "explanation": explanation(actor, lead_id=lead_id) if with_explanation else None,
        "attempted_at": iso(attempt.attempted_at) if attempt else None,
        "attempts": attempt.attempts if attempt else 0,
        "history": [
            {
                "id": str(a.id),
                "at": a.created_at.isoformat(),
                "entity_type": a.entity_type,
                "entity_id": str(a.entity_id),
                "action": a.action,
                "actor_role": a.actor_role.value,
                "actor_id": str(a.actor_id) if a.actor_id else None,
                "before": a.before_state,
                "after": a.after_state,
                "memo": a.admin_only_memo or "",
                "reason": str((a.after_state or {}).get("reason") or (a.after_state or {}).get("refund_reason") or ""),
            }
            for a in trail
        ],
    }
