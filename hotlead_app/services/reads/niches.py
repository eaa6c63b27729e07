"""Niches: the list (open ones for anyone, every one for admins) and one niche with
its form and competition levels (admins)."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import NotFound
from hotlead_app.models import CompetitionLevel, Niche
from hotlead_app.services.reads._access import admin_only


class NicheRow(TypedDict):
    id: str
    slug: str
    name: str
    active: bool
    fields: list[dict[str, Any]]
    distributed_count: int
    #: DOMAIN.md "The same consumer twice": the window in days (0: off).
    duplicate_window_days: int
    #: Whether the public form requires the consumer's name.
    name_required: bool
    return_window_hours: int
    return_reasons: list[dict[str, Any]]
    max_return_rate_percent: int
    auto_approve_returns_below_percent: int


class LevelRow(TypedDict):
    id: str
    niche_id: str
    name: str
    price_per_lead: str
    max_providers: int
    priority_order: int
    active: bool


class NicheDetail(NicheRow):
    levels: list[LevelRow]


def _row(n: Niche) -> NicheRow:
    return {
        "id": str(n.id),
        "slug": n.slug,
        "name": n.name,
        "active": n.active,
        "fields": n.fields,
        "distributed_count": n.distributed_count,
        "duplicate_window_days": n.duplicate_window_days,
        "name_required": n.name_required,
        "return_window_hours": n.return_window_hours,
        "return_reasons": n.return_reasons,
        "max_return_rate_percent": n.max_return_rate_percent,
        "auto_approve_returns_below_percent": n.auto_approve_returns_below_percent,
    }


def list_niches(actor: Actor, *, active_only: bool = False) -> list[NicheRow]:
    """Niches by name.  Closed niches are listed for admins only: anyone else gets
    the open ones whatever ``active_only`` says."""
    if not actor.is_admin:
        active_only = True
    with unit_of_work() as uow:
        query = select(Niche).order_by(col(Niche.name))
        if active_only:
            query = query.where(col(Niche.active))
        return [_row(n) for n in uow.session.exec(query).all()]


def niche_detail(actor: Actor, *, niche_id: uuid.UUID) -> NicheDetail:
    """One niche with its form and its competition levels (priority order).  Admin-only."""
    admin_only(actor)
    with unit_of_work() as uow:
        niche = uow.session.get(Niche, niche_id)
        if niche is None:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        levels = uow.session.exec(
            select(CompetitionLevel)
            .where(CompetitionLevel.niche_id == niche_id)
            .order_by(col(CompetitionLevel.priority_order), col(CompetitionLevel.id))
        ).all()
        return {
            **_row(niche),
            "levels": [
                {
                    "id": str(lvl.id),
                    "niche_id": str(lvl.niche_id),
                    "name": lvl.name,
                    "price_per_lead": money.format_money(lvl.price_per_lead),
                    "max_providers": lvl.max_providers,
                    "priority_order": lvl.priority_order,
                    "active": lvl.active,
                }
                for lvl in levels
            ],
        }
