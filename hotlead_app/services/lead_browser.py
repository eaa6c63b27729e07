"""The admin's views of leads: the approval queue, the leads browser and one lead
with everything that happened to it.

Admin-only (``Forbidden`` for anyone else): these views carry contact details,
consent evidence and ``admin_only_memo``.  Lists are keyset-paginated on
(created_at, id) and return up to ``limit + 1`` rows (the extra one only says that
there is more).  Values are JSON-safe (money as strings, times as ISO 8601).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, tuple_
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import (
    AuditLog,
    CompetitionLevel,
    Lead,
    LeadAssignment,
    Niche,
    Partner,
    ServiceProvider,
)
from hotlead_app.services import distribution
from hotlead_app.services.checks import page_limit, require_admin, time_cursor

REASON_TEXT = {
    "chosen": "Received the lead",
    "level_inactive": "Its competition level was not active",
    "not_subscribed": "The subscription did not exist yet",
    "subscription_paused": "The subscription was paused",
    "provider_inactive": "The provider was not active",
    "filter_mismatch": "Its filters exclude this lead",
    "insufficient_balance": "The balance did not cover the price",
    "already_received": "The provider already received it at another level",
    "level_full": "The level was full (others were ahead in the fair order)",
    "unexplained": "No recorded reason",
}


def reason_text(reason: str) -> str:
    code, _, field = reason.partition(":")
    text = REASON_TEXT.get(code, code)
    return f"{text} (field “{field}”)" if field else text


def _day(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"The {field.replace('_', ' ')} is a date like 2026-11-26.", details={field: "not a date (YYYY-MM-DD)"}
        ) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _waiting(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"


def _row(lead: Lead, niche: Niche, partner: Partner | None, now: datetime) -> dict[str, Any]:
    utm = lead.utm_params or {}
    return {
        "id": str(lead.id),
        "status": lead.status.value,
        "niche": niche.slug,
        "niche_name": niche.name,
        "email": lead.email,
        "phone": lead.phone or "",
        "payload": dict(lead.payload or {}),
        "referrer_url": lead.referrer_url or "",
        "utm_params": dict(utm),
        "partner": partner.code if partner else "",
        "partner_name": partner.name if partner else "",
        "consent_version": lead.consent_version or "",
        "consent_ip": lead.consent_ip or "",
        "consent_user_agent": lead.consent_user_agent or "",
        "created_at": lead.created_at.isoformat(),
        "confirmed_at": _iso(lead.confirmed_at),
        "waiting": _waiting(lead.confirmed_at, now) if lead.status == LeadStatus.PENDING_APPROVAL else "",
    }


def _lead_query():
    return (
        select(Lead, Niche, Partner)
        .join(Niche, Niche.id == Lead.niche_id)
        .join(Partner, Partner.id == Lead.partner_id, isouter=True)
    )


def approval_queue(*, actor: Actor, limit: int = 25, after: object = None) -> list[dict[str, Any]]:
    """``pending_approval`` leads oldest first, with everything an admin decides on."""
    require_admin(actor)
    limit = page_limit(limit)
    cursor = time_cursor(after)
    query = _lead_query().where(Lead.status == LeadStatus.PENDING_APPROVAL)
    if cursor:
        at, last = cursor
        query = query.where(tuple_(Lead.created_at, Lead.id) > tuple_(at, last))  # a bound of the index scan
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        rows = uow.session.exec(query.order_by(Lead.created_at, Lead.id).limit(limit + 1)).all()
        return [_row(lead, niche, partner, now) for lead, niche, partner in rows]


ORDERS = ("newest", "oldest")


def search_leads(
    *,
    actor: Actor,
    status: str | None = None,
    niche: str | None = None,
    email: str | None = None,
    created_from: object = None,
    created_to: object = None,
    order: str = "newest",
    limit: int = 50,
    after: object = None,
) -> list[dict[str, Any]]:
    """Leads newest first (``order="oldest"``: oldest first), for the leads browser and
    ``GET /admin/leads``.  ``email``: the whole address (any case), or the start of
    it; ``created_from`` / ``created_to``: UTC days, both included.  A bad filter
    value is ``InvalidInput`` naming the field."""
    require_admin(actor)
    limit = page_limit(limit)
    if order not in ORDERS:
        raise InvalidInput("The order is newest or oldest.", details={"order": "newest or oldest"})
    oldest_first = order == "oldest"
    cursor = time_cursor(after)
    first, last_day = _day(created_from, "created_from"), _day(created_to, "created_to")
    if first and last_day and first > last_day:
        raise InvalidInput("The first day is after the last day.", details={"created_to": "before created_from"})
    query = _lead_query()
    if status:
        try:
            query = query.where(Lead.status == LeadStatus(status))
        except ValueError:
            raise InvalidInput("Unknown status.", details={"status": status}) from None
    if niche:
        query = query.where(Niche.slug == niche)
    if email and email.strip():
        wanted = email.strip().lower()
        if "@" in wanted:
            query = query.where(Lead.email == wanted)
        else:
            escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(Lead.email.like(escaped + "%"))
    if first:
        query = query.where(Lead.created_at >= datetime(first.year, first.month, first.day, tzinfo=UTC))
    if last_day and last_day < date.max:  # the last day there is: no upper bound
        end = last_day + timedelta(days=1)
        query = query.where(Lead.created_at < datetime(end.year, end.month, end.day, tzinfo=UTC))
    if cursor:
        # A row comparison, not (created_at < at OR created_at = at AND id < last): the
        # same rows, but PostgreSQL uses it as a bound of ix_leads_created_at_id, so a
        # deep page starts where it should instead of filtering from the first row.
        key, bound = tuple_(Lead.created_at, Lead.id), tuple_(*cursor)
        query = query.where(key > bound if oldest_first else key < bound)
    by = (Lead.created_at, Lead.id) if oldest_first else (Lead.created_at.desc(), Lead.id.desc())
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        rows = uow.session.exec(query.order_by(*by).limit(limit + 1)).all()
        return [_row(lead, niche_row, partner, now) for lead, niche_row, partner in rows]


def explanation(*, actor: Actor, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    """Why each subscription of the lead's niche did or did not receive it (empty
    until it is distributed), with provider and level names."""
    require_admin(actor)
    decisions = distribution.explain(lead_id=lead_id)
    if not decisions:
        return []
    with unit_of_work() as uow:
        providers = dict(
            uow.session.exec(
                select(ServiceProvider.id, ServiceProvider.name).where(
                    ServiceProvider.id.in_({d.provider_id for d in decisions})
                )
            ).all()
        )
        levels = dict(
            uow.session.exec(
                select(CompetitionLevel.id, CompetitionLevel.name).where(
                    CompetitionLevel.id.in_({d.competition_level_id for d in decisions})
                )
            ).all()
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


def lead_view(*, actor: Actor, lead_id: uuid.UUID, with_explanation: bool = True) -> dict[str, Any]:
    """One lead: its data, consent evidence and attribution, its assignments (with
    provider and level names), what Global Bad Lead would refund to whom, the
    distribution explanation for every subscription of its niche (unless
    ``with_explanation`` is false: it is the costly part, see :func:`explanation`),
    and its history (the lead's and its assignments' audit rows, memos included),
    oldest first."""
    require_admin(actor)
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        found = uow.session.exec(_lead_query().where(Lead.id == lead_id)).first()
        if found is None:
            raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
        lead, niche, partner = found
        view = _row(lead, niche, partner, now)
        assignments = uow.session.exec(
            select(LeadAssignment, ServiceProvider.name, CompetitionLevel.name)
            .join(ServiceProvider, ServiceProvider.id == LeadAssignment.provider_id)
            .join(CompetitionLevel, CompetitionLevel.id == LeadAssignment.competition_level_id)
            .where(LeadAssignment.lead_id == lead_id)
            .order_by(LeadAssignment.received_at)
        ).all()
        assignment_ids = [a.id for a, _p, _l in assignments]
        trail = (
            uow.session.exec(
                select(AuditLog)
                .where(
                    or_(
                        and_(AuditLog.entity_type == "lead", AuditLog.entity_id == lead_id),
                        and_(AuditLog.entity_type == "lead_assignment", AuditLog.entity_id.in_(assignment_ids)),
                    )
                )
                .order_by(AuditLog.seq)
            ).all()
            if assignment_ids
            else uow.session.exec(
                select(AuditLog)
                .where(AuditLog.entity_type == "lead", AuditLog.entity_id == lead_id)
                .order_by(AuditLog.seq)
            ).all()
        )
    refundable = [(a, name) for a, name, _lvl in assignments if not a.is_refunded]
    view.update(
        {
            "distribution_seq": lead.distribution_seq,
            "distributed_at": _iso(lead.distributed_at),
            "can_bad_lead": lead.status == LeadStatus.DISTRIBUTED,
            "assignments": [
                {
                    "id": str(a.id),
                    "provider_id": str(a.provider_id),
                    "provider": provider_name,
                    "level": level_name,
                    "price": money.format_money(a.charged_amount),
                    "refunded": a.is_refunded,
                    "refunded_at": _iso(a.refunded_at),
                    "refund_reason": a.refund_reason or "",
                    "assigned_at": a.assigned_at.isoformat(),
                }
                for a, provider_name, level_name in assignments
            ],
            "bad_lead_refunds": [
                {"provider": name, "amount": money.format_money(a.charged_amount)} for a, name in refundable
            ],
            "bad_lead_total": money.format_money(sum((a.charged_amount for a, _n in refundable), Decimal("0.00"))),
            "explanation": explanation(actor=actor, lead_id=lead_id) if with_explanation else None,
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
                    "reason": str(
                        (a.after_state or {}).get("reason") or (a.after_state or {}).get("refund_reason") or ""
                    ),
                }
                for a in trail
            ],
        }
    )
    return view
