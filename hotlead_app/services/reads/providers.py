"""Providers, for admins: the list by name, one provider with its logins and
subscriptions, and finding a provider by its id or an email."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.models import PAUSE_REASON_TEXT, CompetitionLevel, Niche, ProviderSubscription, ServiceProvider, User
from hotlead_app.services.checks import name_cursor
from hotlead_app.services.reads._access import admin_only, iso


class ProviderRow(TypedDict):
    id: str
    name: str
    email: str
    status: str
    status_reason: str | None
    balance: str
    created_at: str


class LoginRow(TypedDict):
    id: str
    email: str
    active: bool
    created_at: str


class SubscriptionRow(TypedDict):
    id: str
    niche: str
    niche_name: str
    level: str
    competition_level_id: str
    price_per_lead: str
    max_providers: int
    filters: dict[str, Any]
    active: bool
    pause_reason: str | None
    #: The pause reason for people ("" when active).
    pause_text: str
    last_received_at: str | None
    created_at: str
    cancelled_at: str | None
    #: Buyer controls: weekly schedule (None: always open), caps, leads_from.
    schedule: dict[str, Any] | None
    caps: dict[str, int]
    leads_from: str | None


class ProviderDetail(ProviderRow):
    logins: list[LoginRow]
    subscriptions: list[SubscriptionRow]
    time_zone: str
    spend_caps: dict[str, str]


def _row(p: ServiceProvider) -> ProviderRow:
    return {
        "id": str(p.id),
        "name": p.name,
        "email": p.email,
        "status": p.status.value,
        "status_reason": p.status_reason,
        "balance": money.format_money(p.balance),
        "created_at": p.created_at.isoformat(),
    }


def list_providers(actor: Actor, *, limit: int = 50, after: object = None) -> list[ProviderRow]:
    """Providers by name (up to limit + 1); ``after`` is the ``[name, id]`` of the
    last row of the previous page.  Admin-only."""
    admin_only(actor)
    with unit_of_work() as uow:
        query = select(ServiceProvider).order_by(col(ServiceProvider.name), col(ServiceProvider.id))
        key = name_cursor(after)
        if key:
            name, last_id = key
            query = query.where(
                or_(
                    col(ServiceProvider.name) > name,
                    and_(col(ServiceProvider.name) == name, col(ServiceProvider.id) > last_id),
                )
            )
        return [_row(p) for p in uow.session.exec(query.limit(limit + 1)).all()]


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def resolve_provider(actor: Actor, *, text: object) -> uuid.UUID:
    """A provider named by its id or by its email (the provider's or one of its
    logins').  Admin-only."""
    admin_only(actor)
    if not isinstance(text, str) or not text.strip() or len(text) > 255:
        raise InvalidInput("Name a provider by its id or email.", details={"provider": "an id or an email"})
    value = text.strip()
    with unit_of_work() as uow:
        if _looks_like_uuid(value):
            provider = uow.session.get(ServiceProvider, uuid.UUID(value))
            if provider is not None:
                return provider.id
        else:
            found = uow.session.exec(
                select(ServiceProvider.id)
                .where(func.lower(ServiceProvider.email) == value.lower())
                .order_by(col(ServiceProvider.created_at))
                .limit(1)
            ).first()
            if found is None:
                found = uow.session.exec(
                    select(User.provider_id).where(User.email == value.lower(), col(User.provider_id).is_not(None))
                ).first()
            if found is not None:
                return found
    raise InvalidInput("No provider has this id or email.", details={"provider": "no provider has this id or email"})


def provider_detail(actor: Actor, *, provider_id: uuid.UUID) -> ProviderDetail:
    """A provider, its logins and its subscriptions with niche, level and price.  Admin-only."""
    admin_only(actor)
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        logins = uow.session.exec(
            select(User).where(User.provider_id == provider_id).order_by(col(User.created_at))
        ).all()
        subs = uow.session.exec(
            select(ProviderSubscription, CompetitionLevel, Niche)
            .join(CompetitionLevel, col(CompetitionLevel.id) == ProviderSubscription.competition_level_id)
            .join(Niche, col(Niche.id) == CompetitionLevel.niche_id)
            .where(ProviderSubscription.provider_id == provider_id)
            .order_by(col(ProviderSubscription.created_at), col(ProviderSubscription.id))
        ).all()
        return {
            **_row(provider),
            "time_zone": provider.time_zone,
            "spend_caps": dict(provider.spend_caps or {}),
            "logins": [
                {"id": str(u.id), "email": u.email, "active": u.active, "created_at": u.created_at.isoformat()}
                for u in logins
            ],
            "subscriptions": [
                {
                    "id": str(s.id),
                    "niche": n.slug,
                    "niche_name": n.name,
                    "level": lvl.name,
                    "competition_level_id": str(lvl.id),
                    "price_per_lead": money.format_money(lvl.price_per_lead),
                    "max_providers": lvl.max_providers,
                    "filters": s.filters,
                    "active": s.active,
                    "pause_reason": s.pause_reason,
                    "pause_text": PAUSE_REASON_TEXT.get(s.pause_reason or "", "paused") if not s.active else "",
                    "last_received_at": iso(s.last_received_at),
                    "created_at": s.created_at.isoformat(),
                    "cancelled_at": iso(s.cancelled_at),
                    "schedule": s.schedule,
                    "caps": dict(s.caps or {}),
                    "leads_from": iso(s.leads_from),
                }
                for s, lvl, n in subs
            ],
        }
