"""The audit log and the global ledger in Chromium: an event's changes as labelled
before → after lines (money as money), the entity type as a select of labels, an
expanded event that does not stay expanded in its place after filtering; the ledger's
links to the lead or the deposit, its date filter (errors next to the field) and its
CSV export of the filtered rows.  Screenshots of both pages at 1366 and 375 px go
to ``$HOTLEAD_SHOTS`` when set."""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.domain.actors import admin
from hotlead_app.services import catalog, distribution, ledger
from tests.e2e.conftest import WAIT, sign_in_admin
from tests.factories import ROOFING_FIELDS, approved_lead, assignments_of, make_provider, subscribe


def shots(page: Page, name: str) -> None:
    """The page at 1366 and at 375 px (into $HOTLEAD_SHOTS); at 375 nothing but the
    tables' own boxes may scroll sideways."""
    folder = os.environ.get("HOTLEAD_SHOTS")
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_the_audit_log_shows_changes_before_and_after_and_forgets_expansion_on_filter(
    page: Page, app_server, shared_db
):
    niche = catalog.create_niche(
        slug=f"aud-{uuid.uuid4().hex[:8]}", name=f"Audit {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="12.50", max_providers=1, priority_order=1, actor=admin()
    )
    catalog.update_level(level_id=level.id, actor=admin(), values={"price_per_lead": "15.00", "name": "Premium"})

    sign_in_admin(page, app_server, prefix="audit-admin")
    page.goto(f"{app_server}/admin/audit?entity_type=competition_level&entity_id={level.id}")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT)  # updated, then created
    expect(page.locator("#audit-entity_type")).to_have_value("competition_level")
    expect(page.locator("#audit-entity_type option:checked")).to_have_text("Competition level")
    expect(rows.first).to_contain_text("Competition level")
    expect(page.locator(".audit-changes")).to_have_count(0)
    toggle = rows.first.locator(".audit-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true", timeout=WAIT)
    changes = rows.first.locator(".audit-change")
    expect(changes.filter(has_text="Price per lead")).to_have_text(
        f"Price per lead: {fmt.money(Decimal('12.50'))} → {fmt.money(Decimal('15.00'))}"
    )
    expect(changes.filter(has_text="Name:")).to_have_text("Name: Solo → Premium")
    assert "{" not in (rows.first.locator(".audit-changes").text_content() or "")  # no raw JSON
    shots(page, "admin-audit")

    # Another filter: the event now in the first row is another one, and it is not expanded.
    page.locator("#audit-entity_type").select_option("niche")
    page.locator("#audit-entity_id").fill(str(niche.id))
    page.locator("#audit-filter").click()
    expect(page).to_have_url(re.compile(r"/admin/audit"))
    expect(rows.first).to_contain_text("Niche", timeout=WAIT)
    expect(rows).to_have_count(1)
    expect(page.locator(".audit-changes")).to_have_count(0)
    expect(rows.first.locator(".audit-toggle")).to_have_attribute("aria-expanded", "false")
    # A new row lists what it was created with.
    rows.first.locator(".audit-toggle").click()
    expect(rows.first.locator(".audit-change").filter(has_text="Slug:")).to_have_text(f"Slug: — → {niche.slug}")


def test_the_ledger_links_filters_by_day_and_exports_the_filtered_rows(page: Page, app_server, shared_db):
    niche = catalog.create_niche(
        slug=f"led-{uuid.uuid4().hex[:8]}", name=f"Ledger {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="9.00", max_providers=1, priority_order=1, actor=admin()
    )
    provider = make_provider()
    deposit_id = uuid.uuid4()
    ledger.post(
        provider_id=provider.id,
        type="deposit",
        amount="60.00",
        key=f"e2e-ledger:{deposit_id}",
        related_type="deposit",
        related_id=deposit_id,
    )
    subscribe(provider.id, level.id)
    lead_id = approved_lead(niche.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    assert len(assignments_of(lead_id)) == 1
    today = datetime.now(UTC).date()

    sign_in_admin(page, app_server, prefix="ledger-admin")
    page.goto(f"{app_server}/admin/ledger?provider={provider.id}")
    rows = page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT)
    expect(rows.nth(0)).to_contain_text("Charge for a lead")
    expect(rows.nth(0).locator(".ledger-amount")).to_have_text("-" + fmt.money(Decimal("9.00")))
    expect(rows.nth(0).locator(".ledger-related")).to_have_text(f"Lead {str(lead_id)[:8]}")
    expect(rows.nth(1).locator(".ledger-related")).to_have_text(f"Deposit {str(deposit_id)[:8]}")
    expect(rows.nth(1).locator(".ledger-related")).to_have_attribute(
        "href", re.compile(rf"/admin/audit\?entity_type=deposit&entity_id={deposit_id}")
    )
    shots(page, "admin-ledger")

    # Dates: "to" before "from" is told next to "to"; nothing is listed, nothing to export.
    page.locator("#ledger-from").fill(today.isoformat())
    page.locator("#ledger-to").fill((today - timedelta(days=1)).isoformat())
    page.locator("#ledger-filter").click()
    error = page.locator("#ledger-to").locator("xpath=ancestor::div[.//*[contains(@class,'field-error')]][1]")
    expect(error.locator(".field-error")).to_have_text("on or after the first day", timeout=WAIT)
    expect(page.locator("#export-ledger")).to_have_count(0)
    # Yesterday only: nothing.
    page.locator("#ledger-from").fill((today - timedelta(days=1)).isoformat())
    page.locator("#ledger-filter").click()
    expect(page.locator("#ledger-empty")).to_be_visible(timeout=WAIT)
    # Today, charges only: the lead's charge; the CSV holds exactly that row.
    page.locator("#ledger-from").fill(today.isoformat())
    page.locator("#ledger-to").fill(today.isoformat())
    page.locator("#ledger-type").select_option("charge")
    page.locator("#ledger-filter").click()
    expect(rows).to_have_count(1, timeout=WAIT)
    with page.expect_download() as download:
        page.locator("#export-ledger").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["Type"], r["Amount (USD)"], r["Balance after (USD)"], r["Lead id"]) for r in exported] == [
        ("charge", "-9.00", "51.00", str(lead_id))
    ]
    assert exported[0]["Provider id"] == str(provider.id)

    # The lead link opens the admin's lead detail.
    rows.first.locator(".ledger-related").click()
    expect(page).to_have_url(re.compile(rf"/admin/leads/{lead_id}"), timeout=WAIT)
