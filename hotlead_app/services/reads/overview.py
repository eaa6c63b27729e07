"""Figures for the admin overview: SQL aggregates, never a loop over every row.

Every function is admin-only (``Forbidden`` for anyone else), so the overview page
and ``GET /api/v1/admin/reports/...`` get the same answer from the same place.
Days are UTC calendar days; a series covers ``days`` days ending today, with a
zero for each day that had nothing.  Money is ``Decimal`` in the series, text in
:func:`overview`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.domain.money import ZERO, format_money
from hotlead_app.models import ProviderStatus
from hotlead_app.services import ledger_totals
from hotlead_app.services.ledger_totals import MAX_DAYS, checked_days, closed_before, day_start
from hotlead_app.services.reads._access import admin_only
from hotlead_app.services.reads.approval_queue import WaitBucket, backlog, backlog_by_wait

__all__ = [
    "MAX_DAYS",
    "leads_per_day",
    "overview",
    "providers_by_status",
    "revenue_per_day",
]

LEAD_STATUSES = [s.value for s in LeadStatus]
PROVIDER_STATUSES = [s.value for s in ProviderStatus]

#: ``{"day": "2026-11-26", "pending_confirmation": 3, ..., "total": 9}``: a count per
#: lead status (keys of ``LEAD_STATUSES``) and their total.
LeadsOfDay = dict[str, int | str]


class RevenueOfDay(TypedDict):
    day: str
    charged: Decimal
    refunded: Decimal
    net: Decimal


class RevenueText(TypedDict):
    day: str
    charged: str
    refunded: str
    net: str


class StatusCount(TypedDict):
    status: str
    count: int


class BacklogFigures(TypedDict):
    count: int
    oldest_confirmed_at: str | None
    by_wait: list[WaitBucket]


class Overview(TypedDict):
    days: int
    leads_per_day: list[LeadsOfDay]
    revenue_per_day: list[RevenueText]
    revenue_total: str
    providers_by_status: list[StatusCount]
    approval_backlog: BacklogFigures


def _window(days: int, today: date | None) -> tuple[list[date], datetime]:
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    return [first + timedelta(days=i) for i in range(days)], day_start(first)


def leads_per_day(actor: Actor, *, days: int = 30, today: date | None = None) -> list[LeadsOfDay]:
    """Leads received per day, counted by their current status:
    ``[{"day": "2026-11-26", "pending_confirmation": 3, ..., "total": 9}, ...]``."""
    admin_only(actor)
    series, since = _window(checked_days(days), today)
    with unit_of_work() as uow:
        rows = uow.session.execute(
            text(
                "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status::text, count(*) "
                "FROM leads WHERE created_at >= :since AND created_at < :until GROUP BY 1, 2"
            ),
            {"since": since, "until": since + timedelta(days=len(series))},
        ).all()
    counts = {(day, status): n for day, status, n in rows}
    out: list[LeadsOfDay] = []
    for day in series:
        item: LeadsOfDay = {"day": day.isoformat()}
        for status in LEAD_STATUSES:
            item[status] = counts.get((day, status), 0)
        item["total"] = sum(counts.get((day, status), 0) for status in LEAD_STATUSES)
        out.append(item)
    return out


def revenue_per_day(
    actor: Actor, *, days: int = 30, today: date | None = None, now: datetime | None = None
) -> list[RevenueOfDay]:
    """Money for leads per day: ``charged`` (lead charges), ``refunded`` (refunds)
    and ``net`` (charged − refunded), as ``Decimal``.  Closed days come from the
    roll-up (written on first need), the open ones from the ledger itself."""
    admin_only(actor)
    series, _ = _window(checked_days(days), today)
    closed = closed_before(now)
    with unit_of_work() as uow:
        ledger_totals.roll_up(uow, series[0], min(closed, series[-1] + timedelta(days=1)))
        sums: dict[tuple[date, str], Decimal] = {
            (day, kind): total
            for day, kind, total in uow.session.execute(
                text("SELECT day, type, total FROM ledger_daily_totals WHERE day >= :first AND day <= :last"),
                {"first": series[0], "last": series[-1]},
            ).all()
        }
        open_from = max(series[0], closed)
        if open_from <= series[-1]:
            live = ledger_totals.ledger_sums(uow, open_from, series[-1] + timedelta(days=1))
            sums.update({key: total for key, (total, _count) in live.items()})
    out: list[RevenueOfDay] = []
    for day in series:
        charged = sums.get((day, "charge"), ZERO)
        refunded = sums.get((day, "refund"), ZERO)
        out.append({"day": day.isoformat(), "charged": charged, "refunded": refunded, "net": charged - refunded})
    return out


def providers_by_status(actor: Actor) -> list[StatusCount]:
    """``[{"status": "active", "count": 12}, ...]``, every status (zero included)."""
    admin_only(actor)
    with unit_of_work() as uow:
        rows = uow.session.execute(text("SELECT status::text, count(*) FROM service_providers GROUP BY 1")).all()
    counts = dict(rows)
    return [{"status": s, "count": counts.get(s, 0)} for s in PROVIDER_STATUSES]


def overview(actor: Actor, *, days: int = 30, today: date | None = None) -> Overview:
    """Everything the overview page shows, JSON-ready (money as strings)."""
    admin_only(actor)
    days = checked_days(days)
    queue = backlog(actor)
    revenue = revenue_per_day(actor, days=days, today=today)
    return {
        "days": days,
        "leads_per_day": leads_per_day(actor, days=days, today=today),
        "revenue_per_day": [
            {
                "day": r["day"],
                "charged": format_money(r["charged"]),
                "refunded": format_money(r["refunded"]),
                "net": format_money(r["net"]),
            }
            for r in revenue
        ],
        "revenue_total": format_money(sum((r["net"] for r in revenue), Decimal("0.00"))),
        "providers_by_status": providers_by_status(actor),
        "approval_backlog": {
            "count": queue.count,
            "oldest_confirmed_at": queue.oldest_confirmed_at.isoformat() if queue.oldest_confirmed_at else None,
            "by_wait": backlog_by_wait(actor),
        },
    }
