"""A provider's subscriptions, the niches and levels it may subscribe to (with the
fields a filter may name), and the filter preview: how many recent leads a filter
would have matched."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import text
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.controls import (
    ControlsCount,
    count_within_controls,
    next_window_open,
    period_bounds,
    validate_caps,
    validate_schedule,
)
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.filters import FILTERABLE_TYPES, check_fields, refused_fields, validate_filters
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import (
    PAUSE_REASON_TEXT,
    CompetitionLevel,
    Niche,
    PauseReason,
    ProviderSubscription,
    ServiceProvider,
)
from hotlead_app.models._types import utcnow
from hotlead_app.models.provider import DEFAULT_TIME_ZONE
from hotlead_app.services.reads._access import iso, own_provider

#: Leads a filter preview counts: those that went through approval to the engine.
PREVIEW_STATUSES = (LeadStatus.APPROVED, LeadStatus.DISTRIBUTED, LeadStatus.BAD_LEAD)
PREVIEW_DAYS = 30
#: A pause reason as its provider reads it.
PAUSE_TEXT = {**PAUSE_REASON_TEXT, PauseReason.BY_PROVIDER: "paused by you"}


class FilterFieldOption(TypedDict):
    name: str
    label: str
    type: str
    rule: str  # list | range
    options: list[str]


class LevelOption(TypedDict):
    id: str
    name: str
    price_per_lead: str
    max_providers: int
    subscribed: bool


class NicheOption(TypedDict):
    id: str
    slug: str
    name: str
    fields: list[FilterFieldOption]
    levels: list[LevelOption]


class ProviderSubscriptionRow(TypedDict):
    id: str
    niche_id: str
    niche: str
    niche_slug: str
    level_id: str
    level: str
    price_per_lead: str
    max_providers: int
    active: bool
    pause_reason: str | None
    status: str
    cancelled: bool
    can_resume: bool
    filters: dict[str, Any]
    filters_text: str
    #: The rules a filter may not have, with why (saved before the rule was).
    filter_problems: dict[str, str]
    last_received_at: str | None
    created_at: str | None
    #: Buyer controls: the weekly schedule (None: always open), caps per period, the
    #: approval time from which it takes leads (None: it takes the waiting ones too),
    #: and each capped period's use now in the provider's zone ("3 of 5 today").
    schedule: dict[str, Any] | None
    caps: dict[str, int]
    leads_from: str | None
    cap_use: dict[str, dict[str, int]]
    #: When its schedule next opens (ISO, in the provider's zone) if closed now, else None.
    next_open: str | None


class FilterPreview(TypedDict):
    niche_id: str
    days: int
    matched: int
    total: int
    filters: dict[str, object]
    #: of ``matched``: how many the schedule and caps let through, and why not the others
    #: (``count_within_controls``); equal to ``matched`` / 0 / 0 without controls
    after_controls: int
    outside_schedule: int
    over_cap: int


def _filter_fields(fields: list[dict[str, Any]]) -> list[FilterFieldOption]:
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


def subscription_options(actor: Actor) -> list[NicheOption]:
    """Active niches with their open competition levels (price and max providers) and
    the fields a filter can use; the levels this provider already holds are marked."""
    provider_id = own_provider(actor)
    with unit_of_work() as uow:
        held = set(
            uow.session.exec(
                select(ProviderSubscription.competition_level_id).where(
                    ProviderSubscription.provider_id == provider_id, col(ProviderSubscription.cancelled_at).is_(None)
                )
            ).all()
        )
        rows = uow.session.exec(
            select(Niche, CompetitionLevel)
            .join(CompetitionLevel, col(CompetitionLevel.niche_id) == Niche.id)
            .where(col(Niche.active), col(CompetitionLevel.active))
            .order_by(col(Niche.name), col(Niche.id), col(CompetitionLevel.priority_order), col(CompetitionLevel.id))
        ).all()
    niches: dict[uuid.UUID, NicheOption] = {}
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
        elif isinstance(rule, dict) and ("near" in rule or "states" in rule):
            if "near" in rule:
                parts.append(f"{field} within {rule['near'].get('miles')} miles of {rule['near'].get('zip')}")
            if "states" in rule:
                parts.append(f"{field} in {', '.join(str(v) for v in rule['states'])}")
        elif isinstance(rule, dict):
            low, high = rule.get("min"), rule.get("max")
            if low is not None and high is not None:
                parts.append(f"{field} {low}–{high}")
            elif low is not None:
                parts.append(f"{field} ≥ {low}")
            else:
                parts.append(f"{field} ≤ {high}")
    return "; ".join(parts)


def provider_subscriptions(actor: Actor, *, include_cancelled: bool = False) -> list[ProviderSubscriptionRow]:
    """The provider's subscriptions with niche, level, price, max providers and status."""
    provider_id = own_provider(actor)
    with unit_of_work() as uow:
        stmt = (
            select(ProviderSubscription, CompetitionLevel, Niche)
            .join(CompetitionLevel, col(CompetitionLevel.id) == ProviderSubscription.competition_level_id)
            .join(Niche, col(Niche.id) == CompetitionLevel.niche_id)
            .where(ProviderSubscription.provider_id == provider_id)
            .order_by(col(ProviderSubscription.created_at).desc(), col(ProviderSubscription.id))
        )
        if not include_cancelled:
            stmt = stmt.where(col(ProviderSubscription.cancelled_at).is_(None))
        rows = uow.session.exec(stmt).all()
        use = _cap_use(uow.session, provider_id, [sub for sub, _l, _n in rows if sub.caps])
        provider = uow.session.get(ServiceProvider, provider_id)
        zone = provider.time_zone if provider is not None else "America/New_York"
    now = utcnow()
    out: list[ProviderSubscriptionRow] = []
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
                "filter_problems": refused_fields(sub.filters, niche.fields),
                "last_received_at": iso(sub.last_received_at),
                "created_at": iso(sub.created_at),
                "schedule": sub.schedule,
                "caps": dict(sub.caps or {}),
                "leads_from": iso(sub.leads_from),
                "cap_use": use.get(sub.id, {}),
                "next_open": iso(next_window_open(sub.schedule, now, zone)),
            }
        )
    return out


def _cap_use(
    session, provider_id: uuid.UUID, subs: list[ProviderSubscription]
) -> dict[uuid.UUID, dict[str, dict[str, int]]]:
    """Each capped period's use now: {sub: {"day": {"used": 3, "cap": 5}}}, counted
    as the engine counts (assignments made in the period, refunded or not)."""
    if not subs:
        return {}
    provider = session.get(ServiceProvider, provider_id)
    zone = provider.time_zone if provider is not None else "America/New_York"
    now = utcnow()
    wanted = [(sub, period, *period_bounds(now, zone, period)) for sub in subs for period in sub.caps]
    out: dict[uuid.UUID, dict[str, dict[str, int]]] = {}
    for sub, period, start, end in wanted:
        used = session.execute(
            text(
                "SELECT count(*) FROM lead_assignments WHERE subscription_id = :sub "
                "AND assigned_at >= :start AND assigned_at < :end"
            ),
            {"sub": sub.id, "start": start, "end": end},
        ).scalar_one()
        out.setdefault(sub.id, {})[period] = {"used": int(used), "cap": int(sub.caps[period])}
    return out


def filter_preview(
    actor: Actor,
    *,
    niche_id: uuid.UUID,
    filters: object,
    schedule: object = None,
    caps: object = None,
    days: int = PREVIEW_DAYS,
    now: datetime | None = None,
) -> FilterPreview:
    """How many of the niche's leads of the last ``days`` days (those that went
    through approval) ``filters`` would have matched, and how many of those the
    subscription's ``schedule`` and ``caps`` would have let through (the one rule of
    the live count: ``domain.controls.count_within_controls``, in the provider's time
    zone, each lead at its approval time).  Filters are counted in PostgreSQL with the
    engine's own filter function (``hotlead_filter_mismatch``, ZIP radius and states
    included) on the filters as a subscription would store them; malformed filters,
    and filters naming a field a filter may not name, raise ``InvalidFilters`` (a
    count over a free-text field would tell what the leads say); a malformed schedule
    or caps raise ``InvalidInput`` naming the field.  Any provider may preview any
    open niche: only counts are read."""
    provider_id = own_provider(actor)
    clean = validate_filters({} if filters is None else filters)
    clean_schedule = validate_schedule(schedule)
    clean_caps = validate_caps(caps)
    controlled = clean_schedule is not None or bool(clean_caps)
    since = (now or utcnow()) - timedelta(days=days)
    params = {
        "filters": json.dumps(clean),
        "niche": niche_id,
        "since": since,
        "statuses": [s.value for s in PREVIEW_STATUSES],
    }
    where = (
        "  FROM leads"
        " WHERE niche_id = :niche AND created_at >= :since"
        "   AND status = ANY(CAST(:statuses AS lead_status[]))"
    )
    with unit_of_work() as uow:
        niche = uow.session.get(Niche, niche_id)
        if niche is None or not niche.active:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        check_fields(clean, niche.fields)
        matched, total = uow.session.execute(
            text(
                "SELECT count(*) FILTER (WHERE hotlead_filter_mismatch(CAST(:filters AS jsonb), payload) IS NULL),"
                "       count(*)" + where
            ),
            params,
        ).one()
        counted = ControlsCount(kept=matched, outside_schedule=0, over_cap=0)
        if controlled and matched:
            provider = uow.session.get(ServiceProvider, provider_id)
            zone = provider.time_zone if provider is not None else DEFAULT_TIME_ZONE
            instants = uow.session.execute(
                text(
                    "SELECT coalesce(approved_at, created_at)"
                    + where
                    + " AND hotlead_filter_mismatch(CAST(:filters AS jsonb), payload) IS NULL"
                ),
                params,
            ).scalars()
            counted = count_within_controls(instants, schedule=clean_schedule, caps=clean_caps, zone=zone)
    return {
        "niche_id": str(niche_id),
        "days": days,
        "matched": matched,
        "total": total,
        "filters": clean,
        "after_controls": counted.kept,
        "outside_schedule": counted.outside_schedule,
        "over_cap": counted.over_cap,
    }
