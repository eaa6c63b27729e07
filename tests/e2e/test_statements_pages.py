"""The provider's ledger page in Chromium: monthly statements downloaded as PDF and CSV,
rows that link to their lead or deposit, the date filter (errors next to the field) and
its CSV export; the admin's provider page lists the same statements."""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.domain.statements import month_of
from hotlead_app.models import LedgerEntry
from hotlead_app.services import accounts, catalog, distribution, ledger
from hotlead_app.services.csv_export import money_column
from tests.e2e.conftest import PASSWORD, WAIT, sign_in, sign_in_admin, sign_in_provider
from tests.factories import ROOFING_FIELDS, approved_lead, unique_email

SHOTS = Path(os.environ.get("HOTLEAD_SHOTS") or "/tmp/shots-stmt")


def _provider_with_history():
    """A provider with a login: entries in March and April 2025 (written with their
    dates), then today a deposit and a lead it bought."""
    email = unique_email("stmt")
    provider = accounts.create_provider_account(name="Statement Roofing", email=email, password=PASSWORD, actor=admin())
    with unit_of_work() as uow:
        for entry_type, amount, when in (
            ("deposit", "30.00", datetime(2025, 3, 10, 15, tzinfo=UTC)),
            ("charge", "4.00", datetime(2025, 3, 20, 15, tzinfo=UTC)),
            ("credit", "2.00", datetime(2025, 4, 5, 15, tzinfo=UTC)),
        ):
            uow.session.add(
                LedgerEntry(
                    provider_id=provider.id,
                    type=entry_type,
                    amount=Decimal(amount),
                    idempotency_key=f"e2e:{uuid.uuid4()}",
                    created_at=when,
                )
            )
            uow.session.flush()
    niche = catalog.create_niche(
        slug=f"stmt-{uuid.uuid4().hex[:8]}", name="Statement Roofs", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="7.00", max_providers=1, priority_order=1, actor=admin()
    )
    deposit = ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"e2e:dep:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    lead_id = approved_lead(niche.slug, {"zip": "30301", "roof_type": "metal"})
    distribution.distribute_lead(lead_id=lead_id)
    return email, provider, lead_id, deposit


def _shots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_the_provider_downloads_statements_and_filters_its_ledger(page: Page, app_server, shared_db):
    email, provider, lead_id, _deposit = _provider_with_history()
    this_month = month_of(datetime.now(UTC), provider.time_zone).key
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_provider(page, app_server, email)
    page.goto(f"{app_server}/provider/ledger")
    expect(page.locator("#ledger-balance")).to_have_text(fmt.money("71.00"), timeout=WAIT)

    # Statements: every month from March 2025 to this one, newest first, this one "to date".
    rows = page.locator(".statement-row")
    expect(rows.first).to_have_id(f"statement-{this_month}", timeout=WAIT)
    expect(rows.first).to_contain_text("to date")
    expect(rows).to_have_count(6)  # the recent months, then all of them on demand
    page.locator("#statements-all").click()
    expect(rows.last).to_have_id("statement-2025-03", timeout=WAIT)
    expect(page.locator("#statement-2025-03")).to_contain_text(fmt.money("26.00"))  # closing
    expect(page.locator("#statement-2025-04")).to_contain_text(fmt.money("28.00"))
    with page.expect_download() as download:
        page.locator(f"#statement-pdf-{this_month}").click()
    assert download.value.suggested_filename == f"statement-{this_month}.pdf"
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    doc = pdfium.PdfDocument(data)
    try:
        text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert "Statement Roofing" in text and "to date" in text
    assert str(lead_id)[:8] in text and "+50.00" in text and "-7.00" in text
    with page.expect_download() as download:
        page.locator("#statement-csv-2025-03").click()
    rows_csv = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["Type"], r["Amount"], r["Balance"]) for r in rows_csv] == [
        ("Opening balance", "", "0.00"),
        ("Deposit", "+30.00", "30.00"),
        ("Lead charge", "-4.00", "26.00"),
        ("Total: Deposit", "+30.00", ""),
        ("Total: Lead charge", "-4.00", ""),
        ("Closing balance", "+26.00", "26.00"),
    ]

    # Rows link to their lead and their deposit.
    expect(page.locator(".ledger-row")).to_have_count(5)
    expect(page.locator(".ledger-row.charge").first.get_by_role("link")).to_have_attribute(
        "href", f"/provider/leads/{lead_id}"
    )
    _shots(page, "provider-ledger")

    # The date filter: March 15 to April 10 (in the provider's zone) keeps two entries.
    page.locator("#ledger-from").fill("2025-03-15")
    page.locator("#ledger-to").fill("2025-04-10")
    page.locator("#ledger-filter").click()
    expect(page.locator(".ledger-row")).to_have_count(2, timeout=WAIT)
    expect(page.locator(".ledger-row").nth(0)).to_contain_text("Credit")
    expect(page.locator(".ledger-row").nth(1)).to_contain_text("Lead")
    with page.expect_download() as download:
        page.locator("#export-ledger").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["type"], r[money_column("amount")]) for r in exported] == [("credit", "+2.00"), ("charge", "-4.00")]

    # An end before the start: the error is next to "To", and no row is shown.
    page.locator("#ledger-to").fill("2025-03-01")
    page.locator("#ledger-filter").click()
    expect(page.locator(".field-error")).to_have_text("on or after the start date", timeout=WAIT)
    expect(page.locator(".ledger-row")).to_have_count(0)
    expect(page.locator("#export-ledger")).to_have_count(0)  # no export of a filter in error
    _shots(page, "provider-ledger-filter-error")
    page.locator("#ledger-clear").click()
    expect(page.locator(".ledger-row")).to_have_count(5, timeout=WAIT)

    # The lead's row opens the lead.
    page.locator(".ledger-row.charge").first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/provider/leads/{lead_id}"), timeout=WAIT)

    # Opened with ?from=&to= the page is filtered.
    page.goto(f"{app_server}/provider/ledger?from=2025-04-01&to=2025-04-30")
    expect(page.locator(".ledger-row")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#ledger-from")).to_have_value("2025-04-01")


def test_the_admin_sees_a_providers_statements(page: Page, app_server, shared_db):
    _email, provider, _lead_id, _deposit = _provider_with_history()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_admin(page, app_server)
    page.goto(f"{app_server}/admin/providers/{provider.id}")
    expect(page.locator(".statement-row")).to_have_count(6, timeout=WAIT)
    page.locator("#statements-all").click()
    expect(page.locator("#statement-2025-03")).to_contain_text(fmt.money("26.00"), timeout=WAIT)
    with page.expect_download() as download:
        page.locator("#statement-pdf-2025-04").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    _shots(page, "admin-provider-statements")
    # Another provider cannot open them.
    other = unique_email("stmt-other")
    accounts.create_provider_account(name="Other", email=other, password=PASSWORD, actor=admin())
    page.context.clear_cookies()
    sign_in(page, app_server, other, lands_on=r"/provider")
    response = page.request.get(f"{app_server}/api/v1/admin/providers/{provider.id}/statements/2025-04.pdf")
    assert response.status == 403
