"""Leads of the niches a provider subscribes to that it did not receive, and why.

No contact details; of a lead's payload only the fields the provider's own filters
in that niche name, and never a text, email or phone field (DOMAIN.md "Which fields
a filter may name")."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, text, tuple_
from sqlalchemy import select as select_columns
from sqlalchemy.orm import Session
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.controls import schedule_open
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.filters import first_mismatch, shown_fields
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import (
    CompetitionLevel,
    Lead,
    LeadAssignment,
    Niche,
    ProviderStatus,
    ProviderSubscription,
    ServiceProvider,
)
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
    "no_subscription": "None of your subscriptions in this niche is open now.",
    "eligible_now": "Your subscription can take it now: it is offered at the next distribution attempt.",
}


class MissedReason(TypedDict):
    subscription_id: str
    level: str
    reason: str
    text: str
    # What a sentence naming the field and both values needs (components/format.why_not):
    field_label: str  # filter_mismatch: the field's label ("" otherwise)
    rule: Any  # filter_mismatch: the subscription's filter on that field now (None otherwise)
    value: str | None  # filter_mismatch: the lead's answer (None: it gave none)
    balance: str | None  # insufficient_balance of a waiting lead: the balance now
    price: str | None  # insufficient_balance of a waiting lead: the level's price


class MissedLead(TypedDict):
    lead_id: str
    niche: str
    status: str
    created_at: str | None
    distributed_at: str | None
    fields: dict[str, Any]
    # The shown fields as (label, value) in the form's order.
    answers: list[tuple[str, str]]
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
                col(Lead.approved_at),
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
        forms = {
            niche_id: list(form or [])
            for niche_id, form in uow.session.execute(
                select_columns(col(Niche.id), col(Niche.fields)).where(col(Niche.id).in_(list(used)))
            ).all()
        }
        context = _context(uow.session, provider_id) if with_reasons else _Context({}, {}, {})
        waiting = (
            _waiting_reasons(
                uow.session,
                provider_id,
                [
                    (row[0], row[1], row[3] or {}, row[7] or row[4])
                    for row in rows[:limit]
                    if row[2] == LeadStatus.APPROVED
                ],
            )
            if with_reasons
            else {}
        )
    explained = (
        distribution.explain_many(lead_ids=[row[0] for row in rows[:limit]], provider_id=provider_id)
        if with_reasons and rows
        else {}
    )
    out: list[MissedLead] = []
    for lead_id, niche_id, status, payload, created_at, distributed_at, niche_name, _approved in rows:
        shown = sorted(used.get(niche_id, set()) & set(payload or {}))
        reasons = (
            _reasons(explained[lead_id], lead_id, niche_id, status, payload or {}, level_names, context, waiting)
            if lead_id in explained
            else []
        )
        out.append(
            {
                "lead_id": str(lead_id),
                "niche": niche_name,
                "status": status.value,
                "created_at": iso(created_at),
                "distributed_at": iso(distributed_at),
                "fields": {name: payload[name] for name in shown},
                "answers": [
                    (str(f.get("label") or f.get("name")), str(payload[f["name"]]))
                    for f in forms.get(niche_id, [])
                    if f.get("name") in shown and payload[f["name"]] not in (None, "")
                ],
                "reasons": reasons,
            }
        )
    return out


@dataclass(frozen=True)
class _Context:
    """What the sentences need besides the decisions: the provider's subscriptions (filters
    as they are now), its niches' forms, its balance and its level prices."""

    subs: dict[uuid.UUID, ProviderSubscription]
    forms: dict[uuid.UUID, list[dict[str, Any]]]
    level_prices: dict[uuid.UUID, Decimal]


def _reason(
    reason: str,
    sub: ProviderSubscription | None,
    level: str,
    payload: dict[str, Any],
    form: list[dict[str, Any]],
    money_now: tuple[Decimal, Decimal] | None = None,
) -> MissedReason:
    code, _, field = reason.partition(":")
    row: MissedReason = {
        "subscription_id": str(sub.id) if sub is not None else "",
        "level": level,
        "reason": reason,
        "text": reason_text(reason),
        "field_label": "",
        "rule": None,
        "value": None,
        "balance": None,
        "price": None,
    }
    if code == "filter_mismatch" and field:
        label = next((str(f.get("label") or field) for f in form if f.get("name") == field), field)
        value = payload.get(field)
        row["field_label"] = label
        row["rule"] = (sub.filters or {}).get(field) if sub is not None else None
        row["value"] = None if value in (None, "") else str(value)
    if code == "insufficient_balance" and money_now is not None:
        row["balance"], row["price"] = str(money_now[0]), str(money_now[1])
    return row


def _reasons(
    decisions: list[distribution.Decision],
    lead_id: uuid.UUID,
    niche_id: uuid.UUID,
    status: LeadStatus,
    payload: dict[str, Any],
    level_names: dict[uuid.UUID, str],
    context: _Context,
    waiting: dict[uuid.UUID, list[tuple[uuid.UUID, str, tuple[Decimal, Decimal] | None]]],
) -> list[MissedReason]:
    form = context.forms.get(niche_id, [])
    # A lead still waiting (nobody bought it yet) is explained as things stand now, so
    # the provider sees what would let it buy at the next attempt; the latest attempt's
    # record (``decisions``) explains a distributed lead, as things stood then.
    if decisions and status != LeadStatus.APPROVED:
        return [
            _reason(
                d.reason,
                context.subs.get(d.subscription_id),
                level_names.get(d.competition_level_id, ""),
                payload,
                form,
            )
            for d in decisions
        ]
    if status != LeadStatus.APPROVED:
        return []
    # Nobody bought it yet: each of the provider's subscriptions, as things stand now.
    now = waiting.get(lead_id, [])
    if not now:
        return [_reason("no_subscription", None, "", payload, form)]
    return [
        _reason(
            reason,
            context.subs.get(sub_id),
            level_names.get(context.subs[sub_id].competition_level_id, ""),
            payload,
            form,
            money_now,
        )
        for sub_id, reason, money_now in now
    ]


def _context(session: Session, provider_id: uuid.UUID) -> _Context:
    rows = session.execute(
        select_columns(
            ProviderSubscription,
            col(CompetitionLevel.price_per_lead),
            col(CompetitionLevel.niche_id),
            col(Niche.fields),
        )
        .join(CompetitionLevel, col(CompetitionLevel.id) == ProviderSubscription.competition_level_id)
        .join(Niche, col(Niche.id) == CompetitionLevel.niche_id)
        .where(col(ProviderSubscription.provider_id) == provider_id)
    ).all()
    return _Context(
        subs={sub.id: sub for sub, _price, _niche, _form in rows},
        forms={niche_id: list(form or []) for _sub, _price, niche_id, form in rows},
        level_prices={sub.competition_level_id: price for sub, price, _niche, _form in rows},
    )


def _waiting_reasons(
    session: Session, provider_id: uuid.UUID, leads: list[tuple[uuid.UUID, uuid.UUID, dict[str, Any], datetime]]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str, tuple[Decimal, Decimal] | None]]]:
    """Why each of the provider's open subscriptions of the lead's niche cannot take
    each approved, undistributed lead now: the first failing condition in the engine's
    order (DOMAIN.md step 2), or ``eligible_now``.  ``leads`` are (lead id, niche id,
    payload, approved at).  The buyer controls are read with the engine's own SQL
    functions; the duplicate-consumer rule is not re-checked here."""
    if not leads:
        return {}
    provider = session.get(ServiceProvider, provider_id)
    if provider is None:
        return {}
    rows = session.execute(
        select(ProviderSubscription, CompetitionLevel)
        .join(CompetitionLevel, col(CompetitionLevel.id) == ProviderSubscription.competition_level_id)
        .where(
            ProviderSubscription.provider_id == provider_id,
            col(ProviderSubscription.cancelled_at).is_(None),
            col(CompetitionLevel.niche_id).in_({niche_id for _l, niche_id, _p, _a in leads}),
        )
        .order_by(col(CompetitionLevel.priority_order), col(ProviderSubscription.id))
    ).all()
    now = utcnow()
    zone = provider.time_zone
    local = now.astimezone(ZoneInfo(zone))
    open_now: dict[uuid.UUID, str | None] = {}  # per subscription: the controls' reason, if any
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str, tuple[Decimal, Decimal] | None]]] = {}
    for lead_id, niche_id, payload, approved_at in leads:
        found: list[tuple[uuid.UUID, str, tuple[Decimal, Decimal] | None]] = []
        for sub, level in rows:
            if level.niche_id != niche_id:
                continue
            reason: str | None = None
            if not level.active:
                reason = "level_inactive"
            elif not sub.active:
                reason = "subscription_paused"
            elif provider.status != ProviderStatus.ACTIVE:
                reason = "provider_inactive"
            elif sub.leads_from is not None and approved_at < sub.leads_from:
                reason = "before_subscription"
            else:
                mismatch = first_mismatch(sub.filters or {}, payload)
                if mismatch is not None:
                    reason = f"filter_mismatch:{mismatch}"
            if reason is None:
                if sub.id not in open_now:
                    open_now[sub.id] = _controls_reason(session, sub, provider, level.price_per_lead, zone, now, local)
                reason = open_now[sub.id]
            if reason is None and provider.balance < level.price_per_lead:
                reason = "insufficient_balance"
            money_now = (provider.balance, level.price_per_lead) if reason == "insufficient_balance" else None
            found.append((sub.id, reason or "eligible_now", money_now))
        out[lead_id] = found
    return out


def _controls_reason(
    session: Session,
    sub: ProviderSubscription,
    provider: ServiceProvider,
    price: Decimal,
    zone: str,
    now: datetime,
    local: datetime,
) -> str | None:
    if not schedule_open(sub.schedule, local):
        return "outside_schedule"
    if sub.caps:
        period = session.execute(
            text("SELECT hotlead_cap_reached(:sub, CAST(:caps AS jsonb), :zone, :now)"),
            {"sub": sub.id, "caps": json.dumps(sub.caps), "zone": zone, "now": now},
        ).scalar_one()
        if period:
            return f"cap_reached:{period}"
    if provider.spend_caps:
        period = session.execute(
            text("SELECT hotlead_spend_cap_reached(:pid, CAST(:caps AS jsonb), :zone, :now, :price)"),
            {"pid": provider.id, "caps": json.dumps(provider.spend_caps), "zone": zone, "now": now, "price": price},
        ).scalar_one()
        if period:
            return f"spend_cap_reached:{period}"
    return None


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
                select_columns(
                    col(Lead.id),
                    col(Lead.status),
                    col(Lead.niche_id),
                    col(Lead.payload),
                    col(Lead.approved_at),
                    col(Lead.created_at),
                ).where(
                    col(Lead.id).in_(lead_ids),
                    col(Lead.niche_id).in_(list(used)),
                    col(Lead.status).in_(MISSED_STATUSES),
                    _not_received(provider_id),
                )
            ).all()
            if used and lead_ids
            else []
        )
        context = _context(uow.session, provider_id)
        waiting = _waiting_reasons(
            uow.session,
            provider_id,
            [
                (lead_id, niche_id, payload or {}, approved_at or created_at)
                for lead_id, status, niche_id, payload, approved_at, created_at in rows
                if status == LeadStatus.APPROVED
            ],
        )
    explained = distribution.explain_many(lead_ids=[row[0] for row in rows], provider_id=provider_id) if rows else {}
    return {
        str(lead_id): _reasons(
            explained.get(lead_id, []), lead_id, niche_id, status, payload or {}, level_names, context, waiting
        )
        for lead_id, status, niche_id, payload, _approved, _created in rows
    }
