"""Daily ledger totals: the roll-up of closed days' lead charges and refunds into
``ledger_daily_totals``, so that revenue figures never sum the whole ledger.

The nightly job (``reports.roll_up``) calls :func:`roll_up_closed_days`; the revenue
read (``reads/overview.py``) rolls up the days it needs on first need, in its own
transaction, through :func:`roll_up`.  Days are UTC calendar days; money is
``Decimal``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.money import ZERO

MAX_DAYS = 366
#: A day is closed (its ledger totals final) this long after its UTC midnight: an
#: entry's ``created_at`` is its transaction's start, and no transaction lives this long.
CLOSE_MARGIN = timedelta(hours=1)
ROLLED_UP_TYPES = ("charge", "refund")


def checked_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"The period is between 1 and {MAX_DAYS} days.", details={"days": "between 1 and 366"})
    return days


def day_start(day: date) -> datetime:
    """A UTC day's first instant."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def closed_before(now: datetime | None = None) -> date:
    """The first day that is not closed yet: every day before it is final."""
    return ((now or datetime.now(UTC)) - CLOSE_MARGIN).date()


def ledger_sums(uow: UnitOfWork, first: date, until: date) -> dict[tuple[date, str], tuple[Decimal, int]]:
    """(sum, count) of charges and refunds per (day, type), from the ledger itself."""
    rows = uow.session.execute(
        text(
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, type::text, sum(amount), count(*) "
            "FROM ledger_entries WHERE type IN ('charge', 'refund') AND created_at >= :since "
            "AND created_at < :until GROUP BY 1, 2"
        ),
        {"since": day_start(first), "until": day_start(until)},
    ).all()
    return {(day, kind): (total, count) for day, kind, total, count in rows}


def roll_up_closed_days(*, days: int = 90, now: datetime | None = None) -> int:
    """Write the totals of every closed day of the last ``days`` days not rolled up yet
    (the nightly job).  Returns how many days were written."""
    until = closed_before(now)
    first = until - timedelta(days=checked_days(days))
    with unit_of_work() as uow:
        return roll_up(uow, first, until)


def roll_up(uow: UnitOfWork, first: date, until: date) -> int:
    """Write the totals of the days from ``first`` to before ``until`` (all closed)
    not rolled up yet, in the caller's transaction; returns how many were written."""
    if first >= until:
        return 0
    done = {
        row[0]
        for row in uow.session.execute(
            text("SELECT DISTINCT day FROM ledger_daily_totals WHERE day >= :first AND day < :until"),
            {"first": first, "until": until},
        ).all()
    }
    missing = [first + timedelta(days=i) for i in range((until - first).days) if first + timedelta(days=i) not in done]
    if not missing:
        return 0
    sums = ledger_sums(uow, missing[0], missing[-1] + timedelta(days=1))
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
