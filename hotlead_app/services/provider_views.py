"""Read models and use cases behind the provider dashboard (and its API twins).

Every function takes the provider's id from the signed-in principal and returns only
that provider's data: a lead, a subscription or an entry of another provider is
``NotFound``, exactly as if it did not exist.  Missed leads never carry contact
details, and of the payload only the fields the provider's own filters use.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, text, tuple_
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.filters import validate_filters
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.models import (
    CompetitionLevel,
    Lead,
    LeadAssignment,
    LedgerEntry,
    Niche,
    ProviderSubscription,
    ServiceProvider,
)
from hotlead_app.models._types import utcnow
from hotlead_app.services import distribution, query
from hotlead_app.services.checks import seq_cursor, time_cursor
from hotlead_app.services.csv_export import Number, csv_line

#: Form field types a filter can be built on, and the rule each gets.
FILTERABLE_TYPES = {"select": "list", "zip": "list", "number": "range"}
#: Leads a filter preview counts: those that went through approval to the engine.
PREVIEW_STATUSES = (LeadStatus.APPROVED, LeadStatus.DISTRIBUTED, LeadStatus.BAD_LEAD)
PREVIEW_DAYS = 30
MISSED_DAYS = 30
#: Missed leads a page: each one's reasons are read from the history (a few queries each).
MISSED_PAGE = 10
CSV_BATCH = 500

STATUS_TEXT = {
    "active": "Active: you receive the leads your subscriptions match.",
    "auto_deactivated": "Paused automatically: your balance covers none of your subscriptions' prices. "
    "Add funds and they resume by themselves.",
    "inactive": "Switched off by an admin.",
}
INACTIVE_REASON_TEXT = {
    "payment_reversed": "A payment was taken back by the payment processor after it was spent; "
    "add funds to bring the balance back to zero, then contact support.",
    "admin": "Contact support to be switched on again.",
}
PAUSE_TEXT = {
    "insufficient_balance": "paused: balance below the price",
    "paused_by_provider": "paused by you",
    "cancelled": "cancelled",
}
REASON_TEXT = {
    "chosen": "You received it.",
    "level_inactive": "This competition level was not open for this lead.",
    "not_subscribed": "Your subscription did not exist yet when the lead was distributed.",
    "subscription_paused": "Your subscription was paused.",
    "provider_inactive": "Your account was not active.",
    "filter_mismatch": "Your filters did not match the lead's {field}.",
    "insufficient_balance": "Your balance was below the price.",
    "already_received": "You received it through another subscription.",
    "level_full": "The level was full: providers ahead of you in the fair rotation took its places.",
    "unexplained": "No reason recorded.",
    "not_distributed": "Not distributed yet: no subscription could take it so far.",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def reason_text(reason: str) -> str:
    code, _, field = reason.partition(":")
    return REASON_TEXT.get(code, reason).format(field=field or "field")


# --------------------------------------------------------------------------- overview


def overview(*, provider_id: uuid.UUID, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Balance, status and why, leads received this week (since Monday, UTC) and this
    month, paused subscriptions, and the net spend per day for the last ``days`` days."""
    now = now or utcnow()
    today = now.date()
    week_start = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), now.tzinfo)
    month_start = datetime.combine(today.replace(day=1), datetime.min.time(), now.tzinfo)
    first_day = today - timedelta(days=days - 1)
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        week, month = uow.session.execute(
            select(
                func.count().filter(LeadAssignment.assigned_at >= week_start),
                func.count().filter(LeadAssignment.assigned_at >= month_start),
            ).where(
                LeadAssignment.provider_id == provider_id, LeadAssignment.assigned_at >= min(week_start, month_start)
            )
        ).one()
        day = func.date(LedgerEntry.created_at)
        per_day = uow.session.execute(
            select(day, LedgerEntry.type, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.provider_id == provider_id,
                LedgerEntry.type.in_([LedgerEntryType.CHARGE, LedgerEntryType.REFUND]),
                LedgerEntry.created_at >= datetime.combine(first_day, datetime.min.time(), now.tzinfo),
            )
            .group_by(day, LedgerEntry.type)
        ).all()
        paused = uow.session.execute(
            select(ProviderSubscription.pause_reason, func.count())
            .where(ProviderSubscription.provider_id == provider_id, ProviderSubscription.cancelled_at.is_(None))
            .group_by(ProviderSubscription.pause_reason)
        ).all()
    spend: dict[date, Decimal] = {}
    for when, entry_type, total in per_day:
        signed = total if entry_type == LedgerEntryType.CHARGE else -total
        spend[when] = spend.get(when, Decimal("0.00")) + signed
    counts = dict(paused)
    status = provider.status.value
    why = STATUS_TEXT.get(status, status)
    if status == "inactive" and provider.status_reason in INACTIVE_REASON_TEXT:
        why = f"{why} {INACTIVE_REASON_TEXT[provider.status_reason]}"
    low_balance = counts.get("insufficient_balance", 0)
    if status == "active" and low_balance:
        why = (
            f"{why} {low_balance} subscription(s) paused because the balance is below their price: "
            "add funds to resume them."
        )
    return {
        "id": str(provider.id),
        "name": provider.name,
        "balance": money.format_money(provider.balance),
        "status": status,
        "status_reason": provider.status_reason,
        "status_text": why,
        "needs_funds": status == "auto_deactivated"
        or low_balance > 0
        or provider.balance <= 0
        or provider.status_reason == "payment_reversed",
        "leads_this_week": week,
        "leads_this_month": month,
        "active_subscriptions": counts.get(None, 0),
        "paused_subscriptions": sum(n for reason, n in counts.items() if reason is not None),
        "spend_per_day": [
            {
                "day": (first_day + timedelta(days=i)).isoformat(),
                "spend": money.format_money(spend.get(first_day + timedelta(days=i), Decimal("0.00"))),
            }
            for i in range(days)
        ],
    }


# --------------------------------------------------------------------------- subscriptions


def _filter_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The niche's form fields a filter can be built on, with the rule each gets."""
    return [
        {
            "name": f["name"],
            "label": f.get("label") or f["name"],
            "type": f["type"],
            "rule": FILTERABLE_TYPES[f["type"]],
            "options": [str(o) for o in f.get("options") or []],
        }
        for f in fields
        if f.get("type") in FILTERABLE_TYPES
    ]


def subscription_options(*, provider_id: uuid.UUID) -> list[dict[str, Any]]:
    """Active niches with their open competition levels (price and max providers) and
    the fields a filter can use; the levels this provider already holds are marked."""
    with unit_of_work() as uow:
        held = set(
            uow.session.exec(
                select(ProviderSubscription.competition_level_id).where(
                    ProviderSubscription.provider_id == provider_id, ProviderSubscription.cancelled_at.is_(None)
                )
            ).all()
        )
        rows = uow.session.exec(
            select(Niche, CompetitionLevel)
            .join(CompetitionLevel, CompetitionLevel.niche_id == Niche.id)
            .where(Niche.active, CompetitionLevel.active)
            .order_by(Niche.name, Niche.id, CompetitionLevel.priority_order, CompetitionLevel.id)
        ).all()
    niches: dict[uuid.UUID, dict[str, Any]] = {}
    for niche, level in rows:
        entry = niches.setdefault(
            niche.id,
            {
                "id": str(niche.id),
                "slug": niche.slug,
                "name": niche.name,
                "fields": _filter_fields(niche.fields),
                "levels": [],
            },
        )
        entry["levels"].append(
            {
                "id": str(level.id),
                "name": level.name,
                "price_per_lead": money.format_money(level.price_per_lead),
                "max_providers": level.max_providers,
                "subscribed": level.id in held,
            }
        )
    return list(niches.values())


def describe_filters(filters: dict[str, Any]) -> str:
    if not filters:
        return "every lead"
    parts = []
    for field in sorted(filters):
        rule = filters[field]
        if isinstance(rule, list):
            parts.append(f"{field} in {', '.join(str(v) for v in rule)}")
        elif isinstance(rule, dict):
            low, high = rule.get("min"), rule.get("max")
            if low is not None and high is not None:
                parts.append(f"{field} {low}–{high}")
            elif low is not None:
                parts.append(f"{field} ≥ {low}")
            else:
                parts.append(f"{field} ≤ {high}")
    return "; ".join(parts)


def list_subscriptions(*, provider_id: uuid.UUID, include_cancelled: bool = False) -> list[dict[str, Any]]:
    """The provider's subscriptions with niche, level, price, max providers and status."""
    with unit_of_work() as uow:
        stmt = (
            select(ProviderSubscription, CompetitionLevel, Niche)
            .join(CompetitionLevel, CompetitionLevel.id == ProviderSubscription.competition_level_id)
            .join(Niche, Niche.id == CompetitionLevel.niche_id)
            .where(ProviderSubscription.provider_id == provider_id)
            .order_by(ProviderSubscription.created_at.desc(), ProviderSubscription.id)
        )
        if not include_cancelled:
            stmt = stmt.where(ProviderSubscription.cancelled_at.is_(None))
        rows = uow.session.exec(stmt).all()
    out = []
    for sub, level, niche in rows:
        if sub.active:
            status = "active" if level.active else "level closed"
        else:
            status = PAUSE_TEXT.get(sub.pause_reason or "", "paused")
        out.append(
            {
                "id": str(sub.id),
                "niche_id": str(niche.id),
                "niche": niche.name,
                "niche_slug": niche.slug,
                "level_id": str(level.id),
                "level": level.name,
                "price_per_lead": money.format_money(level.price_per_lead),
                "max_providers": level.max_providers,
                "active": sub.active,
                "pause_reason": sub.pause_reason,
                "status": status,
                "cancelled": sub.cancelled_at is not None,
                "can_resume": not sub.active and sub.cancelled_at is None,
                "filters": sub.filters,
                "filters_text": describe_filters(sub.filters),
                "last_received_at": _iso(sub.last_received_at),
                "created_at": _iso(sub.created_at),
            }
        )
    return out


def count_matching_leads(
    *,
    provider_id: uuid.UUID,
    niche_id: uuid.UUID,
    filters: object,
    days: int = PREVIEW_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """How many of the niche's leads of the last ``days`` days (those that went
    through approval) ``filters`` would have matched.  Counted in PostgreSQL with the
    engine's own filter function (``hotlead_filter_mismatch``) on the filters as a
    subscription would store them; malformed filters raise ``InvalidFilters``."""
    del provider_id  # any provider may preview any open niche; nothing private is read
    clean = validate_filters({} if filters is None else filters)
    since = (now or utcnow()) - timedelta(days=days)
    with unit_of_work() as uow:
        niche = uow.session.get(Niche, niche_id)
        if niche is None or not niche.active:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        matched, total = uow.session.execute(
            text(
                "SELECT count(*) FILTER (WHERE hotlead_filter_mismatch(CAST(:filters AS jsonb), payload) IS NULL),"
                "       count(*)"
                "  FROM leads"
                " WHERE niche_id = :niche AND created_at >= :since"
                "   AND status = ANY(CAST(:statuses AS lead_status[]))"
            ),
            {
                "filters": json.dumps(clean),
                "niche": niche_id,
                "since": since,
                "statuses": [s.value for s in PREVIEW_STATUSES],
            },
        ).one()
    return {"niche_id": str(niche_id), "days": days, "matched": matched, "total": total, "filters": clean}


# --------------------------------------------------------------------------- leads


def list_leads(*, provider_id: uuid.UUID, limit: int = 50, after: list | None = None) -> list[dict[str, Any]]:
    """The provider's assigned leads newest first (up to limit + 1 rows): contact
    details, payload, price, level and how many providers received the same lead."""
    return query.provider_leads(provider_id=provider_id, limit=limit, after=after)


def lead_detail(*, provider_id: uuid.UUID, lead_id: uuid.UUID) -> dict[str, Any]:
    """One lead the provider received; any other lead is NotFound."""
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(LeadAssignment, Lead, Niche, CompetitionLevel)
            .join(Lead, Lead.id == LeadAssignment.lead_id)
            .join(Niche, Niche.id == Lead.niche_id)
            .join(CompetitionLevel, CompetitionLevel.id == LeadAssignment.competition_level_id)
            .where(LeadAssignment.lead_id == lead_id, LeadAssignment.provider_id == provider_id)
        ).first()
        if row is None:
            raise NotFound("No such lead among yours.", details={"lead_id": str(lead_id)})
        assignment, lead, niche, level = row
        shared = uow.session.exec(
            select(func.count()).select_from(LeadAssignment).where(LeadAssignment.lead_id == lead_id)
        ).one()
        labels = {f["name"]: f.get("label") or f["name"] for f in niche.fields}
    return {
        "lead_id": str(lead.id),
        "assignment_id": str(assignment.id),
        "niche": niche.name,
        "niche_slug": niche.slug,
        "level": level.name,
        "email": lead.email,
        "phone": lead.phone,
        "payload": lead.payload,
        "fields": [
            {"name": k, "label": labels.get(k, k), "value": "" if v is None else str(v)}
            for k, v in lead.payload.items()
        ],
        "charged_amount": money.format_money(assignment.charged_amount),
        "providers_on_lead": shared,
        "is_refunded": assignment.is_refunded,
        "refunded_at": _iso(assignment.refunded_at),
        "refund_reason": assignment.refund_reason,
        "assigned_at": _iso(assignment.assigned_at),
        "created_at": _iso(lead.created_at),
        "status": lead.status.value,
    }


LEAD_CSV_COLUMNS = [
    "assigned_at",
    "lead_id",
    "niche",
    "level",
    "price",
    "refunded",
    "providers_on_lead",
    "email",
    "phone",
    "payload",
]


def leads_csv(*, provider_id: uuid.UUID) -> Iterator[str]:
    """Every assigned lead, newest first, as CSV lines (read in keyset batches)."""
    yield csv_line(LEAD_CSV_COLUMNS)
    after = None
    while True:
        rows = query.provider_leads(provider_id=provider_id, limit=CSV_BATCH, after=after)
        for r in rows[:CSV_BATCH]:
            yield csv_line(
                [
                    r["assigned_at"],
                    r["lead_id"],
                    r["niche"],
                    r["level"],
                    Decimal(r["charged_amount"]),
                    "yes" if r["is_refunded"] else "no",
                    r["providers_on_lead"],
                    r["email"],
                    r["phone"],
                    json.dumps(r["payload"], sort_keys=True),
                ]
            )
        if len(rows) <= CSV_BATCH:
            return
        after = [rows[CSV_BATCH - 1]["assigned_at"], rows[CSV_BATCH - 1]["id"]]


# --------------------------------------------------------------------------- missed leads


def _missed_scope(session, provider_id: uuid.UUID):
    """The niches the provider subscribes to now (with the fields its current filters
    there use, and when its first subscription there began) and its level names."""
    subs = session.exec(
        select(ProviderSubscription, CompetitionLevel)
        .join(CompetitionLevel, CompetitionLevel.id == ProviderSubscription.competition_level_id)
        .where(ProviderSubscription.provider_id == provider_id)
    ).all()
    used: dict[uuid.UUID, set[str]] = {}
    first: dict[uuid.UUID, datetime] = {}
    level_names: dict[uuid.UUID, str] = {}
    for sub, level in subs:
        level_names[level.id] = level.name
        first[level.niche_id] = min(first.get(level.niche_id, sub.created_at), sub.created_at)
        if sub.cancelled_at is None:
            used.setdefault(level.niche_id, set()).update(sub.filters or {})
    return used, first, level_names


def _not_received(provider_id: uuid.UUID):
    return (
        ~select(LeadAssignment.id)
        .where(LeadAssignment.lead_id == Lead.id, LeadAssignment.provider_id == provider_id)
        .exists()
    )


def missed_leads(
    *,
    provider_id: uuid.UUID,
    limit: int = MISSED_PAGE,
    after: list | None = None,
    days: int = MISSED_DAYS,
    now: datetime | None = None,
    with_reasons: bool = True,
) -> list[dict[str, Any]]:
    """Recent leads (approved or later) of the niches the provider subscribes to (from
    its first subscription there) that it did not receive, newest first (up to
    limit + 1), each with the reason for each of its subscriptions (``with_reasons``;
    the page asks for them in a second step, see ``missed_reasons``).  No contact
    details; of the payload only the fields its own filters in that niche use."""
    key = time_cursor(after)
    since = (now or utcnow()) - timedelta(days=days)
    with unit_of_work() as uow:
        used, first, level_names = _missed_scope(uow.session, provider_id)
        if not used:
            return []
        stmt = (
            select(Lead.id, Lead.niche_id, Lead.status, Lead.payload, Lead.created_at, Lead.distributed_at, Niche.name)
            .join(Niche, Niche.id == Lead.niche_id)
            .where(
                or_(
                    *[
                        and_(Lead.niche_id == niche_id, Lead.created_at >= max(since, first[niche_id]))
                        for niche_id in used
                    ]
                ),
                Lead.status.in_(PREVIEW_STATUSES),
                _not_received(provider_id),
            )
        )
        if key:
            # A row comparison, not (created_at < at OR created_at = at AND id < last): the
            # same rows, but PostgreSQL uses it as a bound of ix_leads_created_at_id, so a
            # deep page starts at its cursor instead of filtering from the newest lead.
            stmt = stmt.where(tuple_(Lead.created_at, Lead.id) < tuple_(key[0], key[1]))
        rows = uow.session.execute(stmt.order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit + 1)).all()
    explained = (
        distribution.explain_many(lead_ids=[row[0] for row in rows[:limit]], provider_id=provider_id)
        if with_reasons and rows
        else {}
    )
    out = []
    for lead_id, niche_id, status, payload, created_at, distributed_at, niche_name in rows:
        shown = sorted(used.get(niche_id, set()) & set(payload or {}))
        reasons = _reasons(explained[lead_id], status, level_names) if lead_id in explained else []
        out.append(
            {
                "lead_id": str(lead_id),
                "niche": niche_name,
                "status": status.value,
                "created_at": _iso(created_at),
                "distributed_at": _iso(distributed_at),
                "fields": {name: payload[name] for name in shown},
                "reasons": reasons,
            }
        )
    return out


def _reasons(
    decisions: list[distribution.Decision], status: LeadStatus, level_names: dict[uuid.UUID, str]
) -> list[dict[str, str]]:
    reasons = [
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


def missed_reasons(*, provider_id: uuid.UUID, lead_ids: list[uuid.UUID]) -> dict[str, list[dict[str, str]]]:
    """The reasons of ``missed_leads`` for some of those leads (at most 50); a lead
    that is not one of the provider's missed leads is left out."""
    if len(lead_ids) > 50:
        raise InvalidInput("Ask for at most 50 leads at a time.", details={"lead_ids": "at most 50"})
    with unit_of_work() as uow:
        used, _first, level_names = _missed_scope(uow.session, provider_id)
        rows = (
            uow.session.execute(
                select(Lead.id, Lead.status).where(
                    Lead.id.in_(lead_ids),
                    Lead.niche_id.in_(list(used)),
                    Lead.status.in_(PREVIEW_STATUSES),
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


# --------------------------------------------------------------------------- ledger


def _entry(e: LedgerEntry) -> dict[str, Any]:
    sign = money.sign(e.type)
    return {
        "id": str(e.id),
        "seq": e.seq,
        "type": e.type.value,
        "amount": money.format_money(e.amount),
        "signed_amount": ("+" if sign > 0 else "-") + money.format_money(e.amount),
        "balance_after": money.format_money(e.balance_after),
        "related_entity_type": e.related_entity_type or "",
        "related_entity_id": str(e.related_entity_id) if e.related_entity_id else "",
        "created_at": _iso(e.created_at),
    }


def list_ledger(*, provider_id: uuid.UUID, limit: int = 50, before_seq: object = None) -> list[dict[str, Any]]:
    """The provider's entries newest first with the balance after each (up to
    limit + 1); memos are not shown (an admin's memo is for admins)."""
    before_seq = seq_cursor(before_seq)
    with unit_of_work() as uow:
        stmt = select(LedgerEntry).where(LedgerEntry.provider_id == provider_id)
        if before_seq is not None:
            stmt = stmt.where(LedgerEntry.seq < before_seq)
        entries = uow.session.exec(stmt.order_by(LedgerEntry.seq.desc()).limit(limit + 1)).all()
        return [_entry(e) for e in entries]


LEDGER_CSV_COLUMNS = [
    "created_at",
    "seq",
    "type",
    "amount",
    "balance_after",
    "related_entity_type",
    "related_entity_id",
    "id",
]


def ledger_csv(*, provider_id: uuid.UUID) -> Iterator[str]:
    yield csv_line(LEDGER_CSV_COLUMNS)
    before = None
    while True:
        rows = list_ledger(provider_id=provider_id, limit=CSV_BATCH, before_seq=before)
        for r in rows[:CSV_BATCH]:
            yield csv_line(
                [
                    r["created_at"],
                    r["seq"],
                    r["type"],
                    Number(Decimal(r["signed_amount"]), plus_sign=True),
                    Decimal(r["balance_after"]),
                    r["related_entity_type"],
                    r["related_entity_id"],
                    r["id"],
                ]
            )
        if len(rows) <= CSV_BATCH:
            return
        before = rows[CSV_BATCH - 1]["seq"]
