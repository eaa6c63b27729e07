"""Niches: the list (open ones for anyone, every one for admins) and one niche with
its form and competition levels (admins)."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from sqlalchemy import text
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


class NicheHealth(TypedDict):
    """What an admin needs to see a niche that cannot sell its leads."""

    #: every competition level of the niche, and the active ones
    level_count: int
    active_level_count: int
    #: active subscriptions of active providers on the niche's active levels
    buyer_count: int
    #: None, or why the niche takes leads that no level can sell (see ``unsold_warning``)
    warning: str | None


#: On the niches page, word for word: when a niche gets its warning.
UNSOLD_RULE = (
    "A warning marks an open niche (its form takes requests) that cannot sell them: it has no active "
    "competition level, or no active subscription of an active provider on any of its active levels."
)


def unsold_warning(*, open_: bool, active_levels: int, buyers: int) -> str | None:
    """Why an open niche takes leads that no level can sell, or None.  A closed niche
    takes no lead, so it gets no warning; an open one gets one when it has no active
    level (its leads can never be distributed) or when no active provider holds an
    active subscription on an active level (its leads wait, approved, unsold).  A
    buyer whose balance or caps stop it for now still counts: that is a passing state,
    the warning is for a niche nobody could buy from even with money."""
    if not open_:
        return None
    if active_levels == 0:
        return "Takes requests but has no active level: its leads cannot be sold."
    if buyers == 0:
        return "Takes requests but no active provider subscribes to an active level: its leads wait unsold."
    return None


def niche_health(actor: Actor) -> dict[str, NicheHealth]:
    """``{niche id: health}`` for every niche, in one statement.  Admin-only."""
    admin_only(actor)
    with unit_of_work() as uow:
        rows = uow.session.execute(
            text("""
            SELECT n.id, n.active,
                   (SELECT count(*) FROM competition_levels cl WHERE cl.niche_id = n.id),
                   (SELECT count(*) FROM competition_levels cl WHERE cl.niche_id = n.id AND cl.active),
                   (SELECT count(*) FROM provider_subscriptions s
                      JOIN competition_levels cl ON cl.id = s.competition_level_id
                      JOIN service_providers p ON p.id = s.provider_id
                     WHERE cl.niche_id = n.id AND cl.active AND s.active AND p.status = 'active')
              FROM niches n""")
        ).all()
    return {
        str(niche_id): {
            "level_count": int(levels),
            "active_level_count": int(active_levels),
            "buyer_count": int(buyers),
            "warning": unsold_warning(open_=bool(active), active_levels=int(active_levels), buyers=int(buyers)),
        }
        for niche_id, active, levels, active_levels, buyers in rows
    }
