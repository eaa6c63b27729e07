"""Monthly statements: which month, its bounds, and the arithmetic that must hold.

A statement covers one calendar month **in the provider's time zone** (DOMAIN.md
"Time zone, schedules, caps": the month from the 1st 00:00 local time), named
``yyyy-mm``.  Its opening balance is the signed sum of every entry made before the
month, its closing balance the opening plus the signed sum of the month's entries,
which is also the next month's opening.  The current month has a statement "to date".

Pure rules: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hotlead_app.domain import money
from hotlead_app.domain.errors import InvalidInput

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
#: The oldest month a statement can name (before the platform existed: nothing to show).
FIRST_YEAR = 2000
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: The entry types in the order a statement's totals list them.
TYPE_ORDER = ("deposit", "credit", "refund", "charge", "debit")
TYPE_TEXT = {
    "deposit": "Deposit",
    "charge": "Lead charge",
    "refund": "Refund",
    "credit": "Credit",
    "debit": "Debit",
}


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[start, end) in UTC of this month in ``zone``: local 1st 00:00 to the next 1st."""
        tz = ZoneInfo(zone)

        def at(d: date) -> datetime:
            return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)

        return at(self.first_day()), at(self.next().first_day())


def parse_month(text: object, *, field: str = "month") -> Month:
    """``"2026-11"`` -> Month(2026, 11); ``InvalidInput`` naming ``field`` otherwise."""
    match = _MONTH.fullmatch(text) if isinstance(text, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < FIRST_YEAR:
        raise InvalidInput("A month is written yyyy-mm, e.g. 2026-11.", details={field: "a month like 2026-11"})
    return Month(int(match.group(1)), int(match.group(2)))


def parse_day(text: object, *, field: str) -> date | None:
    """A date filter's ``yyyy-mm-dd`` (``None`` when empty); ``InvalidInput`` naming ``field``."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
            raise ValueError(text)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("A date is written yyyy-mm-dd.", details={field: "a date like 2026-11-30"}) from None
    if day.year < FIRST_YEAR:
        raise InvalidInput("A date is written yyyy-mm-dd.", details={field: "a date like 2026-11-30"})
    return day


def day_range(since: date | None, until: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC of the days from ``since`` to ``until`` (both included) in
    ``zone``; ``InvalidInput`` on ``to`` when it is before ``from``."""
    if since is not None and until is not None and until < since:
        raise InvalidInput("The end date is before the start date.", details={"to": "on or after the start date"})
    tz = ZoneInfo(zone)

    def at(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)

    return (at(since) if since else None), (at(until + timedelta(days=1)) if until else None)


def month_of(moment: datetime, zone: str) -> Month:
    """The month holding ``moment`` in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    return Month(local.year, local.month)


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last``, both included (empty when first > last)."""
    out: list[Month] = []
    current = first
    while current <= last:
        out.append(current)
        current = current.next()
    return out


def type_text(entry_type: str) -> str:
    return TYPE_TEXT.get(entry_type, entry_type.replace("_", " ").capitalize())


@dataclass(frozen=True)
class TypeTotal:
    type: str
    count: int
    total: Decimal  # the positive sum of the amounts
    signed_total: Decimal  # its effect on the balance


def totals_by_type(entries: Iterable[tuple[str, Decimal]]) -> list[TypeTotal]:
    """Per entry type (in ``TYPE_ORDER``, only the types present): how many, their sum
    and their signed effect; ``entries`` are (type, positive amount)."""
    counts: dict[str, int] = {}
    sums: dict[str, Decimal] = {}
    for entry_type, amount in entries:
        counts[entry_type] = counts.get(entry_type, 0) + 1
        sums[entry_type] = sums.get(entry_type, money.ZERO) + amount
    return [
        TypeTotal(t, counts[t], sums[t], sums[t] * money.sign(t))
        for t in (*TYPE_ORDER, *sorted(set(counts) - set(TYPE_ORDER)))
        if t in counts
    ]
