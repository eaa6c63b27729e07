"""Monthly statements, computed from the ledger itself (``domain/statements.py`` says
what a statement is), and the email that sends each provider its last month's
statement on the 1st.  Access checks are the reads' (``services/reads/statements.py``).

Months are calendar months in the provider's time zone.  Balances are computed, never
cached: the opening balance of a month is the signed sum of the provider's entries made
before it (one aggregate over the index ``ix_ledger_provider_created``), so closing =
opening + the month's entries = the next month's opening holds by construction, whatever
the order in which concurrent transactions committed.  The list of months is one grouped
pass over the provider's entries.  Each line's running balance follows the ledger's own
order (``seq``); admin memos are never on a statement (it is the provider's document).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import text

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.statements import (
    Month,
    TypeTotal,
    month_of,
    months_between,
    parse_month,
    totals_by_type,
    type_text,
)
from hotlead_app.models import ServiceProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatementLine:
    entry_id: str
    seq: int
    created_at: datetime  # UTC
    local_time: datetime  # in the statement's time zone
    type: str
    type_text: str
    description: str
    reference: str  # the lead's or the deposit's id, or the processor's payment id
    link_kind: str  # "lead", "deposit" or ""
    link_id: str
    amount: Decimal  # signed: its effect on the balance
    balance: Decimal  # the running balance after it


@dataclass(frozen=True)
class StatementSummary:
    month: Month
    opening: Decimal
    closing: Decimal
    entries: int
    to_date: bool  # the current month: "to date", not final yet


@dataclass(frozen=True)
class Statement:
    provider_id: uuid.UUID
    provider_name: str
    provider_email: str
    time_zone: str
    month: Month
    start: datetime  # UTC, included
    end: datetime  # UTC, excluded
    to_date: bool
    generated_at: datetime
    opening: Decimal
    closing: Decimal
    lines: list[StatementLine]
    totals: list[TypeTotal]

    @property
    def net(self) -> Decimal:
        return self.closing - self.opening


def _provider(uow: UnitOfWork, provider_id: uuid.UUID) -> ServiceProvider:
    provider = uow.session.get(ServiceProvider, provider_id)
    if provider is None:
        raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
    return provider


def _monthly_sums(uow: UnitOfWork, provider_id: uuid.UUID, zone: str) -> dict[Month, tuple[Decimal, int]]:
    rows = uow.session.execute(
        text(
            "SELECT to_char(created_at AT TIME ZONE :zone, 'YYYY-MM') AS month, "
            "sum(hotlead_signed_amount(type, amount)), count(*) "
            "FROM ledger_entries WHERE provider_id = :pid GROUP BY 1"
        ),
        {"zone": zone, "pid": provider_id},
    ).all()
    return {parse_month(m): (Decimal(total), count) for m, total, count in rows}


def summaries(provider_id: uuid.UUID, now: datetime | None) -> list[StatementSummary]:
    now = now or datetime.now(UTC)
    with unit_of_work() as uow:
        zone = _provider(uow, provider_id).time_zone
        sums = _monthly_sums(uow, provider_id, zone)
    if not sums:
        return []
    current = month_of(now, zone)
    out: list[StatementSummary] = []
    balance = money.ZERO
    for month in months_between(min(sums), max(current, max(sums))):
        net, count = sums.get(month, (money.ZERO, 0))
        if month <= current:
            out.append(StatementSummary(month, balance, balance + net, count, to_date=month == current))
        balance += net
    return out[::-1]


_LINES = text(
    """
    SELECT e.id, e.seq, e.type::text AS type, e.amount, e.created_at,
           e.related_entity_type, e.related_entity_id, e.is_reversal,
           a.lead_id, n.name AS niche_name,
           d.id AS deposit_id, d.method AS deposit_method, d.payment_id AS deposit_payment
      FROM ledger_entries e
      LEFT JOIN lead_assignments a ON e.related_entity_type = 'lead_assignment' AND a.id = e.related_entity_id
      LEFT JOIN leads l ON l.id = a.lead_id
      LEFT JOIN niches n ON n.id = l.niche_id
      LEFT JOIN deposits d ON e.related_entity_type = 'deposit' AND d.id = e.related_entity_id
     WHERE e.provider_id = :pid AND e.created_at >= :start AND e.created_at < :end
     ORDER BY e.seq
    """
)

METHOD_TEXT = {"stripe": "card (Stripe)", "paypal": "PayPal"}


def _describe(row) -> tuple[str, str, str, str]:
    """(description, reference, link kind, link id) of one entry: what it was for, in words."""
    if row.lead_id is not None:
        lead = str(row.lead_id)
        niche = f" ({row.niche_name})" if row.niche_name else ""
        what = "Refund of lead" if row.type == "refund" else "Lead"
        if row.type not in ("charge", "refund"):
            what = f"{type_text(row.type)} for lead"
        return f"{what} {lead[:8]}{niche}", lead, "lead", lead
    if row.deposit_id is not None:
        deposit = str(row.deposit_id)
        method = METHOD_TEXT.get(row.deposit_method, row.deposit_method or "")
        if row.type == "deposit":
            text_ = f"Deposit by {method}"
        else:
            text_ = f"Payment reversed by {method.split(' ')[-1].strip('()') or 'the processor'}"
        return text_, row.deposit_payment or deposit, "deposit", deposit
    if row.related_entity_type == "adjustment":
        return ("Credit from the platform" if row.type == "credit" else "Debit by the platform"), "", "", ""
    return type_text(row.type), "", "", ""


def statement(provider_id: uuid.UUID, month: Month, now: datetime | None) -> Statement:
    now = now or datetime.now(UTC)
    with unit_of_work() as uow:
        provider = _provider(uow, provider_id)
        zone = provider.time_zone
        current = month_of(now, zone)
        first = uow.session.execute(
            text("SELECT min(created_at) FROM ledger_entries WHERE provider_id = :pid"), {"pid": provider_id}
        ).scalar_one()
        if first is None or month < month_of(first, zone) or month > current:
            raise NotFound(
                "There is no statement for this month.",
                details={"month": f"no statement for {month.key}: statements start with the first entry"},
            )
        start, end = month.bounds(zone)
        opening = Decimal(
            uow.session.execute(
                text(
                    "SELECT coalesce(sum(hotlead_signed_amount(type, amount)), 0) FROM ledger_entries "
                    "WHERE provider_id = :pid AND created_at < :start"
                ),
                {"pid": provider_id, "start": start},
            ).scalar_one()
        )
        rows = uow.session.execute(_LINES, {"pid": provider_id, "start": start, "end": end}).all()
        name, email = provider.name, provider.email
    opening = money.to_money(opening)
    balance = opening
    lines: list[StatementLine] = []
    tz = ZoneInfo(zone)
    for row in rows:
        signed = money.signed_amount(row.type, row.amount)
        balance += signed
        description, reference, link_kind, link_id = _describe(row)
        lines.append(
            StatementLine(
                entry_id=str(row.id),
                seq=row.seq,
                created_at=row.created_at,
                local_time=row.created_at.astimezone(tz),
                type=row.type,
                type_text=type_text(row.type),
                description=description,
                reference=reference,
                link_kind=link_kind,
                link_id=link_id,
                amount=signed,
                balance=balance,
            )
        )
    return Statement(
        provider_id=provider_id,
        provider_name=name,
        provider_email=email,
        time_zone=zone,
        month=month,
        start=start,
        end=end,
        to_date=month == current,
        generated_at=now,
        opening=opening,
        closing=balance,
        lines=lines,
        totals=totals_by_type((r.type, money.to_money(r.amount)) for r in rows),
    )


# --------------------------------------------------------------------------- the email on the 1st

#: A month is over (its statement final) this long after its local midnight: an entry's
#: ``created_at`` is its transaction's start, and no transaction lives this long.
CLOSE_MARGIN = timedelta(hours=1)
#: The monthly email goes out during the first days of the next month (the beat runs
#: hourly; a beat that was down catches up within this window, never later).
EMAIL_WINDOW = timedelta(days=7)


def statement_email_key(provider_id: uuid.UUID, month: Month) -> str:
    """The email's dedupe key: one statement email per provider and month, ever."""
    return f"statement:{provider_id}:{month.key}"


def due_statements(*, now: datetime | None = None) -> list[tuple[uuid.UUID, Month]]:
    """(provider, month) pairs whose statement email is due: the provider's last month
    (in its zone) ended at least ``CLOSE_MARGIN`` ago and at most ``EMAIL_WINDOW`` ago,
    the provider had at least one entry in it, and the email was not composed yet."""
    moment = (now or datetime.now(UTC)) - CLOSE_MARGIN
    with unit_of_work() as uow:
        zones = uow.session.execute(text("SELECT DISTINCT time_zone FROM service_providers")).scalars().all()
        due: list[tuple[uuid.UUID, Month]] = []
        for zone in zones:
            current = month_of(moment, zone)
            ended_at, _ = current.bounds(zone)
            if moment - ended_at > EMAIL_WINDOW:
                continue
            month = current.previous()
            start, end = month.bounds(zone)
            rows = uow.session.execute(
                text(
                    "SELECT p.id FROM service_providers p WHERE p.time_zone = :zone "
                    "AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.provider_id = p.id "
                    "            AND e.created_at >= :start AND e.created_at < :end) "
                    "AND NOT EXISTS (SELECT 1 FROM email_messages m "
                    "                WHERE m.dedupe_key = 'statement:' || p.id || ':' || :month) "
                    "ORDER BY p.id"
                ),
                {"zone": zone, "start": start, "end": end, "month": month.key},
            ).scalars()
            due.extend((provider_id, month) for provider_id in rows)
    return due


def email_statements(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: compose and send each due statement email (once per provider and
    month: the email's dedupe key); one provider's failure does not stop the run."""
    from hotlead_app.services import notifications

    now = now or datetime.now(UTC)
    counts = {"composed": 0, "sent": 0, "failed": 0}
    for provider_id, month in due_statements(now=now):
        try:
            st = statement(provider_id, month, now)
            composed = notifications.compose_statement(
                provider_id=provider_id,
                key=statement_email_key(provider_id, month),
                month_key=month.key,
                month_label=month.label,
                opening=st.opening,
                closing=st.closing,
                entries=len(st.lines),
            )
            if composed is None:
                continue
            counts["composed"] += int(composed.created)
            try:
                sent = notifications.send(email_id=composed.id)
            except notifications.SmtpUnavailable:
                sent = False  # the email sweep sends it later
            counts["sent" if sent else "failed"] += 1
        except Exception:
            log.exception("statement email for provider %s, %s failed", provider_id, month.key)
            counts["failed"] += 1
    return counts
