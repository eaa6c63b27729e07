"""Leads of the niches a provider subscribes to that it did not receive, and why.

No contact details; of a lead's payload only the fields the provider's own filters
in that niche name, and never a text, email or phone field (DOMAIN.md "Which fields
a filter may name")."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import and_, or_, tuple_
from sqlalchemy import select as select_columns
from sqlalchemy.orm import Session
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.filters import shown_fields
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import CompetitionLevel, Lead, LeadAssignment, Niche, ProviderSubscription
from hotlead_app.models._types import utcnow
from hotlead_app.services import distribution
from hotlead_app.services.checks import time_cursor
from hotlead_app.services.reads._access import iso, own_provider

#: Leads that went through approval to the engine.
MISSED_STATUSES = (LeadStatus.APPROVED, LeadStatus.DISTRIBUTED, LeadStatus.BAD_LEAD)
MISSED_DAYS = 30
#: Missed leads a page: each one's reasons are read from the history (a few queries each).
MISSED_PAGE = 10

REASON_TEXT = {
    "chosen": "You received it.",
    "level_inactive": "This competition level was not open for this lead.",
    "not_subscribed": "Your subscription did not exist yet when the lead was distributed.",
    "subscription_paused": "Your subscription was paused.",
    "provider_inactive": "Your account was not active.",
    "before_subscription": "It was approved before your subscription started (you chose future leads only).",
    "filter_mismatch": "Your filters did not match the lead's {field}.",
    "outside_schedule": "It came outside your subscription's schedule.",
    "cap_reached": "Your subscription had reached its lead cap for the {period}.",
    "spend_cap_reached": "Your account had reached its spend cap for the {period}.",
    "duplicate_consumer": "You had recently received this same consumer in this niche.",
    "insufficient_balance": "Your balance was below the price.",
    "already_received": "You received it through another subscription.",
    "level_full": "The level was full: providers ahead of you in the fair rotation took its places.",
    "unexplained": "No reason recorded.",
    "not_distributed": "Not distributed yet: no subscription could take it so far.",
}


class MissedReason(TypedDict):
    subscription_id: str
    level: str
    reason: str
    text: str


class MissedLead(TypedDict):
    lead_id: str
    niche: str
    status: str
    created_at: str | None
    distributed_at: str | None
    fields: dict[str, Any]
    reasons: list[MissedReason]


def reason_text(reason: str) -> str:
    code, _, field = reason.partition(":")
    return REASON_TEXT.get(code, reason).format(field=field or "field", period=field or "period")


def _missed_scope(
    session: Session, provider_id: uuid.UUID
) -> tuple[dict[uuid.UUID, set[str]], dict[uuid.UUID, datetime], dict[uuid.UUID, str]]:
    """The niches the provider subscribes to now (with the fields its current filters
    there may show, and when its first subscription there began) and its level names."""
    subs = session.execute(
        select(ProviderSubscription, CompetitionLevel, Niche.fields)
        .join(CompetitionLevel, col(CompetitionLevel.id) == ProviderSubscription.competition_level_id)
        .join(Niche, col(Niche.id) == CompetitionLevel.niche_id)
        .where(ProviderSubscription.provider_id == provider_id)
    ).all()
    used: dict[uuid.UUID, set[str]] = {}
    first: dict[uuid.UUID, datetime] = {}
    level_names: dict[uuid.UUID, str] = {}
    for sub, level, form in subs:
        level_names[level.id] = level.name
        first[level.niche_id] = min(first.get(level.niche_id, sub.created_at), sub.created_at)
        if sub.cancelled_at is None:
            # Never a text, email or phone field, whatever an old row's filters name.
            used.setdefault(level.niche_id, set()).update(shown_fields(sub.filters, form))
    return used, first, level_names


def _not_received(provider_id: uuid.UUID) -> Any:
    return ~(
        select(LeadAssignment.id)
        .where(LeadAssignment.lead_id == Lead.id, LeadAssignment.provider_id == provider_id)
        .exists()
    )


def missed_leads(
    actor: Actor,
    *,
    limit: int = MISSED_PAGE,
    after: object = None,
    days: int = MISSED_DAYS,
    now: datetime | None = None,
    with_reasons: bool = True,
) -> list[MissedLead]:
    """Recent leads (approved or later) of the niches the provider subscribes to (from
    its first subscription there) that it did not receive, newest first (up to
    limit + 1), each with the reason for each of its subscriptions (``with_reasons``;
    the page asks for them in a second step, see ``missed_reasons``)."""
    provider_id = own_provider(actor)
    key = time_cursor(after)
    since = (now or utcnow()) - timedelta(days=days)
    with unit_of_work() as uow:
        used, first, level_names = _missed_scope(uow.session, provider_id)
        if not used:
            return []
        stmt = (
            select_columns(
                col(Lead.id),
                col(Lead.niche_id),
                col(Lead.status),
                col(Lead.payload),
                col(Lead.created_at),
                col(Lead.distributed_at),
                col(Niche.name),
            )
            .join(Niche, col(Niche.id) == Lead.niche_id)
            .where(
                or_(
                    *[
                        and_(col(Lead.niche_id) == niche_id, col(Lead.created_at) >= max(since, first[niche_id]))
                        for niche_id in used
                    ]
                ),
                col(Lead.status).in_(MISSED_STATUSES),
                _not_received(provider_id),
            )
        )
        if key:
            # A row comparison, not (created_at < at OR created_at = at AND id < last): the
            # same rows, but PostgreSQL uses it as a bound of ix_leads_created_at_id, so a
            # deep page starts at its cursor instead of filtering from the newest lead.
            stmt = stmt.where(tuple_(Lead.created_at, Lead.id) < tuple_(key[0], key[1]))
        rows = uow.session.execute(
            stmt.order_by(col(Lead.created_at).desc(), col(Lead.id).desc()).limit(limit + 1)
        ).all()
    explained = (
        distribution.explain_many(lead_ids=[row[0] for row in rows[:limit]], provider_id=provider_id)
        if with_reasons and rows
        else {}
    )
    out: list[MissedLead] = []
    for lead_id, niche_id, status, payload, created_at, distributed_at, niche_name in rows:
        shown = sorted(used.get(niche_id, set()) & set(payload or {}))
        reasons = _reasons(explained[lead_id], status, level_names) if lead_id in explained else []
        out.append(
            {
                "lead_id": str(lead_id),
                "niche": niche_name,
                "status": status.value,
                "created_at": iso(created_at),
                "distributed_at": iso(distributed_at),
                "fields": {name: payload[name] for name in shown},
                "reasons": reasons,
            }
        )
    return out


def _reasons(
    decisions: list[distribution.Decision], status: LeadStatus, level_names: dict[uuid.UUID, str]
) -> list[MissedReason]:
    reasons: list[MissedReason] = [
        {
            "subscription_id": str(d.subscription_id),
            "level": level_names.get(d.competition_level_id, ""),
            "reason": d.reason,
            "text": reason_text(d.reason),
        }
        for d in decisions
    ]
    if not reasons and status == LeadStatus.APPROVED:
        reasons = [
            {"subscription_id": "", "level": "", "reason": "not_distributed", "text": reason_text("not_distributed")}
        ]
    return reasons


def missed_reasons(actor: Actor, *, lead_ids: list[uuid.UUID]) -> dict[str, list[MissedReason]]:
    """The reasons of ``missed_leads`` for some of those leads (at most 50); a lead
    that is not one of the provider's missed leads is left out."""
    provider_id = own_provider(actor)
    if len(lead_ids) > 50:
        raise InvalidInput("Ask for at most 50 leads at a time.", details={"lead_ids": "at most 50"})
    with unit_of_work() as uow:
        used, _first, level_names = _missed_scope(uow.session, provider_id)
        rows = (
            uow.session.execute(
                select(Lead.id, Lead.status).where(
                    col(Lead.id).in_(lead_ids),
                    col(Lead.niche_id).in_(list(used)),
                    col(Lead.status).in_(MISSED_STATUSES),
                    _not_received(provider_id),
                )
            ).all()
            if used and lead_ids
            else []
        )
    explained = (
        distribution.explain_many(lead_ids=[lead_id for lead_id, _ in rows], provider_id=provider_id) if rows else {}
    )
    return {str(lead_id): _reasons(explained.get(lead_id, []), status, level_names) for lead_id, status in rows}
