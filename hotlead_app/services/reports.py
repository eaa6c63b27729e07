"""Figures for the admin overview: SQL aggregates, never a loop over every row.

Every function is admin-only (``Forbidden`` for anyone else), so the overview page
and ``GET /api/v1/admin/reports/...`` get the same answer from the same place.
Days are UTC calendar days; a series covers ``days`` days ending today, with a
zero for each day that had nothing.  Money is ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.domain.money import ZERO, format_money
from hotlead_app.models import ProviderStatus
from hotlead_app.services.checks import require_admin

MAX_DAYS = 366
LEAD_STATUSES = [s.value for s in LeadStatus]
PROVIDER_STATUSES = [s.value for s in ProviderStatus]
#: Waiting-time buckets of the approval backlog: (label, upper bound in hours or None).
BACKLOG_BUCKETS: list[tuple[str, int | None]] = [("< 1 h", 1), ("1–4 h", 4), ("4–24 h", 24), ("> 24 h", None)]


def _days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"The period is between 1 and {MAX_DAYS} days.", details={"days": "between 1 and 366"})
    return days


def _day_start(day: date) -> datetime:
    """A UTC day's first instant."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _window(days: int, today: date | None) -> tuple[list[date], datetime]:
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    return [first + timedelta(days=i) for i in range(days)], _day_start(first)


def leads_per_day(*, actor: Actor, days: int = 30, today: date | None = None) -> list[dict[str, Any]]:
    """Leads received per day, counted by their current status:
    ``[{"day": "2026-11-26", "pending_confirmation": 3, ..., "total": 9}, ...]``."""
    require_admin(actor)
    series, since = _window(_days(days), today)
    with unit_of_work() as uow:
        rows = uow.session.execute(
            text(
                "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status::text, count(*) "
                "FROM leads WHERE created_at >= :since AND created_at < :until GROUP BY 1, 2"
            ),
            {"since": since, "until": since + timedelta(days=len(series))},
        ).all()
    counts = {(day, status): n for day, status, n in rows}
    out = []
    for day in series:
        item: dict[str, Any] = {"day": day.isoformat()}
        for status in LEAD_STATUSES:
            item[status] = counts.get((day, status), 0)
        item["total"] = sum(item[s] for s in LEAD_STATUSES)
        out.append(item)
    return out


#: A day is closed (its ledger totals final) this long after its UTC midnight: an
#: entry's ``created_at`` is its transaction's start, and no transaction lives this long.
CLOSE_MARGIN = timedelta(hours=1)
ROLLED_UP_TYPES = ("charge", "refund")


def _closed_before(now: datetime | None = None) -> date:
    """The first day that is not closed yet: every day before it is final."""
    return ((now or datetime.now(UTC)) - CLOSE_MARGIN).date()


def _ledger_sums(uow, first: date, until: date) -> dict[tuple[date, str], tuple[Decimal, int]]:
    rows = uow.session.execute(
        text(
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, type::text, sum(amount), count(*) "
            "FROM ledger_entries WHERE type IN ('charge', 'refund') AND created_at >= :since "
            "AND created_at < :until GROUP BY 1, 2"
        ),
        {"since": _day_start(first), "until": _day_start(until)},
    ).all()
    return {(day, kind): (total, count) for day, kind, total, count in rows}


def roll_up_closed_days(*, days: int = 90, now: datetime | None = None) -> int:
    """Write the totals of every closed day of the last ``days`` days not rolled up yet
    (the nightly job; reports also call it for the days they need).  Returns how many
    days were written."""
    closed_before = _closed_before(now)
    first = closed_before - timedelta(days=_days(days))
    with unit_of_work() as uow:
        return _roll_up(uow, first, closed_before)


def _roll_up(uow, first: date, closed_before: date) -> int:
    if first >= closed_before:
        return 0
    done = {
        row[0]
        for row in uow.session.execute(
            text("SELECT DISTINCT day FROM ledger_daily_totals WHERE day >= :first AND day < :until"),
            {"first": first, "until": closed_before},
        ).all()
    }
    missing = [
        first + timedelta(days=i) for i in range((closed_before - first).days) if first + timedelta(days=i) not in done
    ]
    if not missing:
        return 0
    sums = _ledger_sums(uow, missing[0], missing[-1] + timedelta(days=1))
    rows = [
        {
            "day": day,
            "type": kind,
            "total": sums.get((day, kind), (ZERO, 0))[0],
            "entries": sums.get((day, kind), (ZERO, 0))[1],
        }
        for day in missing
        for kind in ROLLED_UP_TYPES
    ]
    uow.session.execute(
        text(
            "INSERT INTO ledger_daily_totals (day, type, total, entries) VALUES (:day, :type, :total, :entries) "
            "ON CONFLICT (day, type) DO NOTHING"
        ),
        rows,
    )
    return len(missing)


def revenue_per_day(
    *, actor: Actor, days: int = 30, today: date | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Money for leads per day: ``charged`` (lead charges), ``refunded`` (refunds)
    and ``net`` (charged − refunded), as ``Decimal``.  Closed days come from the
    roll-up (written on first need), the open ones from the ledger itself."""
    require_admin(actor)
    series, _ = _window(_days(days), today)
    closed_before = _closed_before(now)
    with unit_of_work() as uow:
        _roll_up(uow, series[0], min(closed_before, series[-1] + timedelta(days=1)))
        sums: dict[tuple[date, str], Any] = {
            (day, kind): total
            for day, kind, total in uow.session.execute(
                text("SELECT day, type, total FROM ledger_daily_totals WHERE day >= :first AND day <= :last"),
                {"first": series[0], "last": series[-1]},
            ).all()
        }
        open_from = max(series[0], closed_before)
        if open_from <= series[-1]:
            live = _ledger_sums(uow, open_from, series[-1] + timedelta(days=1))
            sums.update({key: total for key, (total, _count) in live.items()})
    out = []
    for day in series:
        charged = sums.get((day, "charge"), ZERO)
        refunded = sums.get((day, "refund"), ZERO)
        out.append({"day": day.isoformat(), "charged": charged, "refunded": refunded, "net": charged - refunded})
    return out


def providers_by_status(*, actor: Actor) -> list[dict[str, Any]]:
    """``[{"status": "active", "count": 12}, ...]``, every status (zero included)."""
    require_admin(actor)
    with unit_of_work() as uow:
        rows = uow.session.execute(text("SELECT status::text, count(*) FROM service_providers GROUP BY 1")).all()
    counts = dict(rows)
    return [{"status": s, "count": counts.get(s, 0)} for s in PROVIDER_STATUSES]


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_confirmed_at: datetime | None
    newest_confirmed_at: datetime | None

    @property
    def signature(self) -> str:
        """Changes whenever a lead joins or leaves the queue (a lead joining has the
        newest confirmation; one leaving lowers the count)."""
        newest = self.newest_confirmed_at.isoformat() if self.newest_confirmed_at else ""
        oldest = self.oldest_confirmed_at.isoformat() if self.oldest_confirmed_at else ""
        return f"{self.count}|{oldest}|{newest}"


def backlog(*, actor: Actor) -> Backlog:
    """The approval queue's size and its oldest and newest confirmation: one index
    scan, cheap enough to poll every few seconds."""
    require_admin(actor)
    with unit_of_work() as uow:
        count, oldest, newest = uow.session.execute(
            text("SELECT count(*), min(confirmed_at), max(confirmed_at) FROM leads WHERE status = 'pending_approval'")
        ).one()
    return Backlog(count, oldest, newest)


def backlog_by_wait(*, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
    """Leads waiting for approval by how long they have waited since confirmation."""
    require_admin(actor)
    now = now or datetime.now(UTC)
    cases = []
    lower = 0
    for i, (_label, upper) in enumerate(BACKLOG_BUCKETS):
        cond = f"confirmed_at <= :now - interval '{lower} hours'"
        if upper is not None:
            cond += f" AND confirmed_at > :now - interval '{upper} hours'"
        cases.append(f"count(*) FILTER (WHERE {cond}) AS b{i}")
        lower = upper or lower
    with unit_of_work() as uow:
        row = uow.session.execute(
            text(f"SELECT {', '.join(cases)} FROM leads WHERE status = 'pending_approval'"), {"now": now}
        ).one()
    return [{"wait": label, "count": row[i]} for i, (label, _upper) in enumerate(BACKLOG_BUCKETS)]


def overview(*, actor: Actor, days: int = 30, today: date | None = None) -> dict[str, Any]:
    """Everything the overview page shows, JSON-ready (money as strings)."""
    require_admin(actor)
    days = _days(days)
    queue = backlog(actor=actor)
    revenue = revenue_per_day(actor=actor, days=days, today=today)
    return {
        "days": days,
        "leads_per_day": leads_per_day(actor=actor, days=days, today=today),
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
        "providers_by_status": providers_by_status(actor=actor),
        "approval_backlog": {
            "count": queue.count,
            "oldest_confirmed_at": queue.oldest_confirmed_at.isoformat() if queue.oldest_confirmed_at else None,
            "by_wait": backlog_by_wait(actor=actor),
        },
    }
