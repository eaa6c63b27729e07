"""Ledger entries newest first: a provider's own (``provider_ledger``, without the
memos an admin wrote, and its CSV) and every provider's for admins (``all_entries``,
with provider names, memos and the lead a charge or refund was for, filtered by
provider, type and dates; ``all_entries_csv`` the same rows as CSV).
Keyset-paginated on ``seq``; lists return up to ``limit + 1`` rows (the extra one
only says that there is more)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypedDict

from sqlmodel import col, select

from hotlead_app.db import referenced, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.domain.statements import day_range, parse_day
from hotlead_app.models import LeadAssignment, LedgerEntry, ServiceProvider
from hotlead_app.services.checks import page_limit, seq_cursor
from hotlead_app.services.csv_export import Number, csv_line, money_column
from hotlead_app.services.reads._access import admin_only, iso, own_provider
from hotlead_app.services.reads.lead_inbox import CSV_BATCH


class ProviderEntry(TypedDict):
    id: str
    seq: int | None
    type: str
    amount: str
    signed_amount: str
    balance_after: str
    related_entity_type: str
    related_entity_id: str
    lead_id: str  # the lead a charge or refund was for ("" otherwise)
    deposit_id: str  # the deposit a deposit (or its reversal) came from ("" otherwise)
    created_at: str | None


def _cursor(before_seq: object) -> int | None:
    return seq_cursor(before_seq)


def _provider_entry(e: LedgerEntry, lead_id: uuid.UUID | None = None) -> ProviderEntry:
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
        "lead_id": str(lead_id) if lead_id else "",
        "deposit_id": str(e.related_entity_id) if e.related_entity_type == "deposit" and e.related_entity_id else "",
        "created_at": iso(e.created_at),
    }


def provider_ledger(
    actor: Actor, *, limit: int = 50, before_seq: object = None, since: object = None, until: object = None
) -> list[ProviderEntry]:
    """The provider's entries newest first with the balance after each (up to
    limit + 1); memos are not shown (an admin's memo is for admins).  ``since`` and
    ``until`` (``yyyy-mm-dd``, both included, in the provider's time zone) keep the
    entries of those days; a malformed date is ``InvalidInput`` naming ``from``/``to``."""
    provider_id = own_provider(actor)
    before = _cursor(before_seq)
    first_day = parse_day(since, field="from")
    last_day = parse_day(until, field="to")
    with unit_of_work() as uow:
        stmt = (
            select(LedgerEntry, LeadAssignment.lead_id)
            .outerjoin(
                LeadAssignment,
                (col(LedgerEntry.related_entity_type) == "lead_assignment")
                & (col(LeadAssignment.id) == col(LedgerEntry.related_entity_id)),
            )
            .where(LedgerEntry.provider_id == provider_id)
        )
        if first_day is not None or last_day is not None:
            zone = referenced(uow.session, ServiceProvider, provider_id).time_zone
            start, end = day_range(first_day, last_day, zone)
            if start is not None:
                stmt = stmt.where(col(LedgerEntry.created_at) >= start)
            if end is not None:
                stmt = stmt.where(col(LedgerEntry.created_at) < end)
        if before is not None:
            stmt = stmt.where(col(LedgerEntry.seq) < before)
        rows = uow.session.exec(stmt.order_by(col(LedgerEntry.seq).desc()).limit(limit + 1)).all()
        return [_provider_entry(e, lead_id) for e, lead_id in rows]


LEDGER_CSV_COLUMNS = [
    "created_at",
    "seq",
    "type",
    money_column("amount"),
    money_column("balance_after"),
    "related_entity_type",
    "related_entity_id",
    "id",
]


def provider_ledger_csv(actor: Actor, *, since: object = None, until: object = None) -> Iterator[str]:
    """Every entry of the provider (of the days ``since``..``until`` when given), newest
    first, as CSV lines (in keyset batches)."""
    own_provider(actor)  # checked now, not at the first line read
    provider_ledger(actor, limit=1, since=since, until=until)  # and the dates too
    return _provider_ledger_csv(actor, since, until)


def _provider_ledger_csv(actor: Actor, since: object = None, until: object = None) -> Iterator[str]:
    yield csv_line(LEDGER_CSV_COLUMNS)
    before = None
    while True:
        rows = provider_ledger(actor, limit=CSV_BATCH, before_seq=before, since=since, until=until)
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


class Entry(TypedDict):
    id: str
    seq: int | None
    provider_id: str
    provider_name: str
    type: str
    amount: str
    signed_amount: str
    balance_after: str | None
    related_entity_type: str | None
    related_entity_id: str | None
    lead_id: str | None
    memo: str | None
    is_reversal: bool
    created_at: str


def _day(value: object, field: str) -> date | None:
    """A day given as a ``date`` or ``YYYY-MM-DD`` (``None`` / ``""``: no bound)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput("The dates are not valid.", details={field: "a date like 2026-01-31"}) from None


def date_bounds(date_from: object = None, date_to: object = None) -> tuple[datetime | None, datetime | None]:
    """The UTC instants ``[start of date_from, start of the day after date_to)`` (both
    days included); 400 naming the field for a malformed day or ``to`` before ``from``."""
    first, last = _day(date_from, "from"), _day(date_to, "to")
    if first is not None and last is not None and last < first:
        raise InvalidInput("The dates are not valid.", details={"to": "on or after the first day"})
    start = datetime.combine(first, time.min, tzinfo=UTC) if first is not None else None
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC) if last is not None else None
    return start, end


def all_entries(
    actor: Actor,
    *,
    provider_id: uuid.UUID | None = None,
    type: str | None = None,
    date_from: object = None,
    date_to: object = None,
    limit: int = 50,
    before_seq: object = None,
) -> list[Entry]:
    """Every provider's entries newest first, with the provider's name, the memo an
    admin wrote and the lead a charge or refund was for; filter by provider, entry type
    and the days (UTC, both included) ``date_from`` .. ``date_to``.  Admin-only."""
    admin_only(actor)
    limit = page_limit(limit)
    query = (
        select(LedgerEntry, ServiceProvider.name, LeadAssignment.lead_id)
        .join(ServiceProvider, col(ServiceProvider.id) == LedgerEntry.provider_id)
        .outerjoin(
            LeadAssignment,
            (col(LedgerEntry.related_entity_type) == "lead_assignment")
            & (col(LeadAssignment.id) == LedgerEntry.related_entity_id),
        )
        .order_by(col(LedgerEntry.seq).desc())
        .limit(limit + 1)
    )
    if type:
        try:
            query = query.where(LedgerEntry.type == LedgerEntryType(type))
        except ValueError:
            raise InvalidInput(
                "Unknown entry type.", details={"type": "one of " + ", ".join(t.value for t in LedgerEntryType)}
            ) from None
    start, end = date_bounds(date_from, date_to)
    if start is not None:
        query = query.where(col(LedgerEntry.created_at) >= start)
    if end is not None:
        query = query.where(col(LedgerEntry.created_at) < end)
    if provider_id is not None:
        query = query.where(LedgerEntry.provider_id == provider_id)
    before = _cursor(before_seq)
    if before is not None:
        query = query.where(col(LedgerEntry.seq) < before)
    with unit_of_work() as uow:
        rows = uow.session.exec(query).all()
    return [
        {
            "id": str(e.id),
            "seq": e.seq,
            "provider_id": str(e.provider_id),
            "provider_name": name,
            "type": e.type.value,
            "amount": money.format_money(e.amount),
            "signed_amount": money.format_money(money.signed_amount(e.type, e.amount)),
            "balance_after": money.format_money(e.balance_after) if e.balance_after is not None else None,
            "related_entity_type": e.related_entity_type,
            "related_entity_id": str(e.related_entity_id) if e.related_entity_id else None,
            "lead_id": str(lead_id) if lead_id else None,
            "memo": e.memo,
            "is_reversal": e.is_reversal,
            "created_at": e.created_at.isoformat(),
        }
        for e, name, lead_id in rows
    ]


#: The admin ledger CSV's columns, as people read them (amounts in the settings' currency).
ADMIN_LEDGER_CSV_COLUMNS = [
    "Date (UTC)",
    "Provider",
    "Provider id",
    "Type",
    "Amount ({currency})",
    "Balance after ({currency})",
    "Reversal",
    "For",
    "For id",
    "Lead id",
    "Memo",
    "Entry id",
]


def all_entries_csv(
    actor: Actor,
    *,
    provider_id: uuid.UUID | None = None,
    type: str | None = None,
    date_from: object = None,
    date_to: object = None,
    currency: str = "USD",
) -> Iterator[str]:
    """The entries ``all_entries`` shows with the same filters, every page of them,
    newest first, as CSV lines: signed amounts as plain numbers.  Admin-only; the
    filters are checked now, not at the first line read."""
    admin_only(actor)

    def page(limit: int, before: object) -> list[Entry]:
        return all_entries(
            actor,
            provider_id=provider_id,
            type=type,
            date_from=date_from,
            date_to=date_to,
            limit=limit,
            before_seq=before,
        )

    page(1, None)  # raises on a bad filter before any line is sent
    return _all_entries_csv(page, currency)


def _all_entries_csv(page: Callable[[int, object], list[Entry]], currency: str) -> Iterator[str]:
    yield csv_line([c.format(currency=currency) for c in ADMIN_LEDGER_CSV_COLUMNS])
    before = None
    while True:
        rows = page(CSV_BATCH, before)
        for r in rows[:CSV_BATCH]:
            yield csv_line(
                [
                    r["created_at"][:19].replace("T", " "),
                    r["provider_name"],
                    r["provider_id"],
                    r["type"],
                    Number(Decimal(r["signed_amount"]), plus_sign=True),
                    Decimal(r["balance_after"]) if r["balance_after"] is not None else None,
                    "yes" if r["is_reversal"] else "",
                    r["related_entity_type"] or "",
                    r["related_entity_id"] or "",
                    r["lead_id"] or "",
                    r["memo"] or "",
                    r["id"],
                ]
            )
        if len(rows) <= CSV_BATCH:
            return
        before = rows[CSV_BATCH - 1]["seq"]
