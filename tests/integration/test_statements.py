"""Monthly statements (DOMAIN.md "Auto-recharge and statements"): balances that chain
month to month for any ledger, files that hold every entry, the API's answers, and the
email on the 1st sent once per provider and month."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import httpx
import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import actors, money
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.statements import Month, month_of
from hotlead_app.models import EmailMessage, LedgerEntry, ServiceProvider, UserRole
from hotlead_app.services import (
    accounts,
    catalog,
    distribution,
    email_templates,
    ledger,
    refunds,
    statement_files,
    statements,
)
from hotlead_app.services.reads import statements as statement_reads
from tests.factories import ADMIN, approved_lead, assignments_of, make_market, unique_email

ZONES = ["America/New_York", "America/Los_Angeles", "UTC", "Asia/Tokyo", "Pacific/Kiritimati"]
YEAR = 2025
NOW = datetime(YEAR + 1, 1, 20, 12, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _provider(zone: str = "UTC", name: str | None = None) -> uuid.UUID:
    provider = catalog.create_provider(
        name=name or f"Statement {uuid.uuid4().hex[:6]}", email=unique_email("stmt"), actor=ADMIN
    )
    if zone != provider.time_zone:
        catalog.update_provider_settings(provider_id=provider.id, actor=ADMIN, values={"time_zone": zone})
    return provider.id


def _insert(provider_id: uuid.UUID, entries: list[tuple[str, Decimal, datetime]]) -> None:
    """Entries written straight into the ledger with the given times (the trigger keeps
    the balance); a charge or debit that would overdraw becomes a deposit."""
    with unit_of_work() as uow:
        balance = money.ZERO
        for entry_type, amount, created_at in entries:
            if money.sign(entry_type) < 0 and balance - amount < 0:
                entry_type = "deposit"
            balance += money.signed_amount(entry_type, amount)
            uow.session.add(
                LedgerEntry(
                    provider_id=provider_id,
                    type=entry_type,
                    amount=amount,
                    idempotency_key=f"test:{uuid.uuid4()}",
                    created_at=created_at,
                )
            )
            uow.session.flush()


def _times(zone: str):
    """Moments of YEAR, many of them right at a month's edge in ``zone``."""
    edges = [Month(YEAR, m).bounds(zone)[0] for m in range(1, 13)]
    near_edge = st.builds(
        lambda edge, delta: edge + timedelta(microseconds=delta),
        st.sampled_from(edges),
        st.sampled_from([-1, 0, 1, -3_600_000_000, 1_000_000]),
    )
    anywhere = st.builds(
        lambda seconds: datetime(YEAR, 1, 2, tzinfo=UTC) + timedelta(seconds=seconds),
        st.integers(0, 360 * 24 * 3600),
    )
    return st.one_of(near_edge, anywhere)


@st.composite
def ledgers(draw):
    zone = draw(st.sampled_from(ZONES))
    entries = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["deposit", "charge", "refund", "credit", "debit"]),
                st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
                _times(zone),
            ),
            min_size=1,
            max_size=30,
        )
    )
    return zone, entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ledger_=ledgers())
def test_closing_is_opening_plus_the_months_entries_and_the_next_opening(module_db, ledger_):
    zone, entries = ledger_
    provider_id = _provider(zone)
    _insert(provider_id, entries)  # in list order: times jump back and forth across months
    with unit_of_work() as uow:
        rows = uow.session.exec(select(LedgerEntry).where(LedgerEntry.provider_id == provider_id)).all()
        signed = [(e.created_at, money.signed_amount(e.type, e.amount), str(e.id)) for e in rows]
        balance = uow.session.get(ServiceProvider, provider_id).balance

    summaries = statement_reads.admin_statements(ADMIN, provider_id=provider_id, now=NOW)[::-1]
    assert summaries[0].month == month_of(min(t for t, _, _ in signed), zone)
    assert summaries[-1].month == month_of(NOW, zone) and summaries[-1].to_date
    assert summaries[0].opening == 0
    assert summaries[-1].closing == balance  # the cached balance, kept by the trigger
    for earlier, later in pairwise(summaries):
        assert later.month == earlier.month.next()  # no month skipped
        assert later.opening == earlier.closing
    for summary in summaries:
        start, end = summary.month.bounds(zone)
        in_month = [(a, i) for t, a, i in signed if start <= t < end]
        statement = statement_reads.admin_statement(ADMIN, provider_id=provider_id, month=summary.month.key, now=NOW)
        assert statement.opening == sum((a for t, a, _ in signed if t < start), Decimal("0.00"))
        assert statement.opening == summary.opening
        assert statement.closing == statement.opening + sum((a for a, _ in in_month), Decimal("0.00"))
        assert statement.closing == summary.closing
        assert sorted(line.entry_id for line in statement.lines) == sorted(i for _, i in in_month)
        running = statement.opening
        for line in statement.lines:
            running += line.amount
            assert line.balance == running
        assert sum((t.signed_total for t in statement.totals), Decimal("0.00")) == statement.net
        assert sum(t.count for t in statement.totals) == len(statement.lines)


def _pdf_text(data: bytes) -> tuple[str, int]:
    doc = pdfium.PdfDocument(data)
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
        return "\n".join(pages), len(doc)
    finally:
        doc.close()


def test_the_pdf_and_the_csv_hold_every_entry_of_the_month(db):
    market = make_market(levels=[("Solo", "7.00", 1)], providers=1, balance="1000.00")
    (provider,) = market.providers
    lead_ids = []
    for i in range(3):
        lead_id = approved_lead(market.slug, {"zip": f"3030{i}", "roof_type": "metal"})
        distribution.distribute_lead(lead_id=lead_id)
        lead_ids.append(lead_id)
    (assignment,) = assignments_of(lead_ids[0])
    refunds.refund_assignment(assignment_id=assignment.id, reason="test", actor=ADMIN)
    ledger.adjust(provider_id=provider.id, type="credit", amount="2.50", actor=ADMIN, memo="goodwill (admin only)")
    # Many entries with distinct amounts: the table runs over several pages.
    now = datetime.now(UTC)
    _insert(provider.id, [("charge", Decimal(f"1.{i:02d}"), now) for i in range(1, 90)])
    st_ = statement_reads.admin_statement(ADMIN, provider_id=provider.id, month=month_of(now, "America/New_York").key)
    assert st_.to_date and len(st_.lines) == 1 + 3 + 1 + 1 + 89

    rows = list(csv.DictReader(io.StringIO("".join(statement_files.statement_csv(st_)))))
    entries = [r for r in rows if r["Entry ID"]]
    assert [r["Entry ID"] for r in entries] == [line.entry_id for line in st_.lines]
    assert [Decimal(r["Amount"]) for r in entries] == [line.amount for line in st_.lines]
    assert [Decimal(r["Balance"]) for r in entries] == [line.balance for line in st_.lines]
    assert rows[0]["Type"] == "Opening balance" and Decimal(rows[0]["Balance"]) == st_.opening
    assert rows[-1]["Type"] == "Balance to date" and Decimal(rows[-1]["Balance"]) == st_.closing
    assert {r["Reference"] for r in entries if r["Type"] == "Lead charge"} >= {str(x) for x in lead_ids}
    assert "goodwill" not in "".join(statement_files.statement_csv(st_))  # admin memos stay admin-only

    text_, pages = _pdf_text(statement_files.statement_pdf(st_))
    assert pages >= 3
    assert f"Page {pages} of {pages}" in text_
    assert text_.count("Description") >= pages - 1  # the table's header on every page it runs over
    for line in st_.lines:
        assert statement_files.money_text(line.amount, plus=True) in text_
        assert statement_files.money_text(line.balance) in text_
    for lead_id in lead_ids:
        assert str(lead_id)[:8] in text_
    assert "Refund of lead" in text_ and "Credit from the platform" in text_
    assert statement_files.money_text(st_.closing) in text_
    assert "goodwill" not in text_


def test_a_malformed_month_is_refused_and_a_month_without_a_statement_is_not_found(db):
    provider_id = _provider("UTC")
    actor = actors.provider(provider_id)
    for bad in ("2026-13", "2026-1", "26-01", "abc", "2026-00", "", None, 202601):
        with pytest.raises(InvalidInput):
            statement_reads.provider_statement(actor, month=bad)
    with pytest.raises(NotFound):  # no entry yet: no statement
        statement_reads.provider_statement(actor, month="2025-06", now=NOW)
    assert statement_reads.provider_statements(actor, now=NOW) == []
    _insert(provider_id, [("deposit", Decimal("10.00"), datetime(YEAR, 6, 15, tzinfo=UTC))])
    assert statement_reads.provider_statement(actor, month="2025-06", now=NOW).closing == Decimal("10.00")
    assert statement_reads.provider_statement(actor, month="2025-09", now=NOW).opening == Decimal("10.00")
    for missing in ("2025-05", "2026-02"):  # before the first entry; not begun
        with pytest.raises(NotFound):
            statement_reads.provider_statement(actor, month=missing, now=NOW)
    months = [s.month.key for s in statement_reads.provider_statements(actor, now=NOW)]
    assert months == ["2026-01", *[f"2025-{m:02d}" for m in range(12, 5, -1)]]


# --------------------------------------------------------------------------- API


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def test_the_api_serves_own_statements_and_admins_any(db, api_server):
    admin_email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    people = {}
    for who in ("alice", "bob"):
        email = unique_email(who)
        provider = accounts.create_provider_account(
            name=who.title(), email=email, password=PASSWORD, actor=actors.admin()
        )
        ledger.post(provider_id=provider.id, type="deposit", amount="40.00", key=f"dep:{provider.id}")
        people[who] = (provider.id, _login(api_server, email))
    admin_headers = _login(api_server, admin_email)
    (alice_id, alice), (bob_id, bob) = people["alice"], people["bob"]
    month = month_of(datetime.now(UTC), "America/New_York").key
    api = f"{api_server}/api/v1"

    listed = httpx.get(f"{api}/provider/statements", headers=alice).json()["items"]
    assert [(i["month"], i["opening_balance"], i["closing_balance"], i["to_date"]) for i in listed] == [
        (month, "0.00", "40.00", True)
    ]
    pdf = httpx.get(f"{api}/provider/statements/{month}.pdf", headers=alice)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f'filename="statement-{month}.pdf"' in pdf.headers["content-disposition"]
    assert "Alice" in _pdf_text(pdf.content)[0] and "Bob" not in _pdf_text(pdf.content)[0]
    rows = list(csv.DictReader(io.StringIO(httpx.get(f"{api}/provider/statements/{month}.csv", headers=bob).text)))
    own = {r["Entry ID"] for r in rows if r["Entry ID"]}
    assert len(own) == 1
    with unit_of_work() as uow:
        assert (
            uow.session.exec(select(LedgerEntry).where(LedgerEntry.id == uuid.UUID(own.pop()))).one().provider_id
            == bob_id
        )

    for bad in ("2026-13", "2026-1", "latest", "2026-11-01"):
        for ext in ("pdf", "csv"):
            resp = httpx.get(f"{api}/provider/statements/{bad}.{ext}", headers=alice)
            assert resp.status_code == 400, (bad, resp.text)
            assert resp.json()["error"]["details"] == {"month": "a month like 2026-11"}
    resp = httpx.get(f"{api}/provider/statements/2001-01.pdf", headers=alice)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{api}/provider/statements/2999-01.csv", headers=alice).status_code == 404

    # The ledger's CSV by dates: a bad date is a 400 naming the field.
    resp = httpx.get(f"{api}/provider/ledger.csv", params={"from": "2026-02-30"}, headers=alice)
    assert resp.status_code == 400 and list(resp.json()["error"]["details"]) == ["from"]
    resp = httpx.get(f"{api}/provider/ledger.csv", params={"from": "2026-03-02", "to": "2026-03-01"}, headers=alice)
    assert resp.status_code == 400 and list(resp.json()["error"]["details"]) == ["to"]
    today = datetime.now(UTC).date()
    around = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    lines = httpx.get(f"{api}/provider/ledger.csv", params=around, headers=alice).text.strip().splitlines()
    assert len(lines) == 2 and "deposit" in lines[1]
    old_days = {"from": "2001-01-01", "to": "2001-01-31"}
    assert len(httpx.get(f"{api}/provider/ledger.csv", params=old_days, headers=alice).text.strip().splitlines()) == 1

    # A provider reads only its own: the admin routes are refused to it.
    resp = httpx.get(f"{api}/admin/providers/{bob_id}/statements/{month}.pdf", headers=alice)
    assert resp.status_code == 403
    assert httpx.get(f"{api}/admin/providers/{bob_id}/statements", headers=alice).status_code == 403
    assert httpx.get(f"{api}/provider/statements/{month}.pdf").status_code == 401
    assert httpx.get(f"{api}/provider/statements", headers=admin_headers).status_code == 403

    admin_list = httpx.get(f"{api}/admin/providers/{bob_id}/statements", headers=admin_headers).json()["items"]
    assert admin_list[0]["pdf_url"] == f"/api/v1/admin/providers/{bob_id}/statements/{month}.pdf"
    resp = httpx.get(f"{api}/admin/providers/{alice_id}/statements/{month}.csv", headers=admin_headers)
    assert resp.status_code == 200 and "Deposit" in resp.text
    resp = httpx.get(f"{api}/admin/providers/{uuid.uuid4()}/statements/{month}.pdf", headers=admin_headers)
    assert resp.status_code == 404
    assert (
        httpx.get(f"{api}/admin/providers/{alice_id}/statements/13-2026.pdf", headers=admin_headers).status_code == 400
    )


# --------------------------------------------------------------------------- the email on the 1st


def test_the_monthly_email_goes_once_per_provider_and_month(smtp_sink, db):
    active_ny = _provider("America/New_York")
    active_tokyo = _provider("Asia/Tokyo")
    quiet = _provider("America/New_York")  # no entry in November: no email
    _insert(active_ny, [("deposit", Decimal("50.00"), datetime(YEAR, 11, 10, tzinfo=UTC))])
    _insert(active_tokyo, [("deposit", Decimal("9.00"), datetime(YEAR, 11, 30, 16, tzinfo=UTC))])  # Dec 1 Tokyo
    _insert(quiet, [("deposit", Decimal("5.00"), datetime(YEAR, 10, 10, tzinfo=UTC))])

    # Dec 1, 02:00 UTC: November is over in Tokyo (for hours) but not yet in New York.
    first = statements.email_statements(now=datetime(YEAR, 12, 1, 2, tzinfo=UTC))
    assert first["composed"] == 0  # Tokyo's November had no entry: its deposit is on Dec 1 there
    # Dec 1, 07:00 UTC: November ended in New York at 05:00 UTC (+ the margin).
    second = statements.email_statements(now=datetime(YEAR, 12, 1, 7, tzinfo=UTC))
    third = statements.email_statements(now=datetime(YEAR, 12, 1, 8, tzinfo=UTC))  # run again: nothing new
    assert (second["composed"], third["composed"]) == (1, 0)
    with unit_of_work() as uow:
        emails = uow.session.exec(select(EmailMessage).where(EmailMessage.kind == "monthly_statement")).all()
        email = next(e for e in emails)
        provider = uow.session.get(ServiceProvider, active_ny)
    assert [e.dedupe_key for e in emails] == [f"statement:{active_ny}:{YEAR}-11"]
    sent = smtp_sink.to(provider.email)
    assert len(sent) == 1 and "November 2025" in sent[0]["Subject"]
    assert f"/api/v1/provider/statements/{YEAR}-11.pdf" in email.body_text
    assert f"Closing balance: {email_templates.money('50.00')}" in email.body_text

    # In January the Tokyo provider gets December's (its deposit was on Dec 1 there), once.
    for _ in range(2):
        statements.email_statements(now=datetime(YEAR + 1, 1, 1, 3, tzinfo=UTC))
    # A week later the window has passed: a run sends nothing more.
    assert statements.email_statements(now=datetime(YEAR + 1, 1, 9, tzinfo=UTC))["composed"] == 0
    with unit_of_work() as uow:
        keys = sorted(
            e.dedupe_key
            for e in uow.session.exec(select(EmailMessage).where(EmailMessage.kind == "monthly_statement")).all()
        )
    assert keys == sorted([f"statement:{active_ny}:{YEAR}-11", f"statement:{active_tokyo}:{YEAR}-12"])


def test_ledger_rows_and_statement_lines_name_their_lead_and_deposit(db):
    from hotlead_app.models import Deposit
    from hotlead_app.services.payments import deposits
    from hotlead_app.services.reads import ledger_entries

    market = make_market(levels=[("Solo", "7.00", 1)], providers=1, balance="20.00")
    (provider,) = market.providers
    with unit_of_work() as uow:
        deposit = Deposit(provider_id=provider.id, method="stripe", amount=Decimal("30.00"), checkout_id="cs_test_1")
        uow.session.add(deposit)
        uow.session.flush()
        deposit_id = deposit.id
        outcome = deposits.complete(
            uow,
            deposit_id=deposit_id,
            amount=Decimal("30.00"),
            currency="usd",
            key="stripe:checkout:cs_test_1",
            reference="cs_test_1",
            payment_id="pi_test_1",
            source="test",
        )
    assert outcome == "completed"
    lead_id = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal"})
    distribution.distribute_lead(lead_id=lead_id)
    (assignment,) = assignments_of(lead_id)
    refunds.refund_assignment(assignment_id=assignment.id, reason="test", actor=ADMIN)

    rows = ledger_entries.provider_ledger(actors.provider(provider.id))
    assert [(r["type"], r["lead_id"], r["deposit_id"]) for r in rows] == [
        ("refund", str(lead_id), ""),
        ("charge", str(lead_id), ""),
        ("deposit", "", str(deposit_id)),
        ("deposit", "", ""),  # the factory's deposit names no deposit row
    ]
    st_ = statement_reads.provider_statement(
        actors.provider(provider.id), month=month_of(datetime.now(UTC), provider.time_zone).key
    )
    described = [(line.description, line.reference, line.link_kind) for line in st_.lines]
    niche = market.niche.name
    assert described == [
        ("Deposit", "", ""),
        ("Deposit by card (Stripe)", "pi_test_1", "deposit"),
        (f"Lead {str(lead_id)[:8]} ({niche})", str(lead_id), "lead"),
        (f"Refund of lead {str(lead_id)[:8]} ({niche})", str(lead_id), "lead"),
    ]
