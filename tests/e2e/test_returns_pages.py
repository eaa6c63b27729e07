"""Returns and outcomes in Chromium against the prod-mode app: the provider returns a
lead from its detail page and records an outcome, the admin approves the return from
the returns queue, and the provider's returns list and ledger show the refund."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts, catalog, distribution, ledger
from tests.e2e.conftest import PASSWORD, WAIT, sign_in, sign_in_admin
from tests.factories import ROOFING_FIELDS, approved_lead, assignments_of, unique_email


def test_a_provider_returns_a_lead_and_an_admin_approves_it_from_the_queue(
    page: Page, browser: Browser, app_server, shared_db
):
    email = unique_email("returns")
    provider = accounts.create_provider_account(name="Return Roofing", email=email, password=PASSWORD, actor=admin())
    niche = catalog.create_niche(
        slug=f"ret-{uuid.uuid4().hex[:8]}", name=f"Roofs {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="12.50", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"e2e:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    lead_id = approved_lead(niche.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    (assignment,) = assignments_of(lead_id)

    sign_in(page, app_server, email, lands_on=r"/provider")
    page.goto(f"{app_server}/provider/leads/{lead_id}")
    expect(page.locator("#return-time-left")).to_contain_text("left", timeout=WAIT)
    page.locator("#outcome-won-value").fill("900")
    page.locator("#outcome-won").click()
    expect(page.locator("#lead-outcome")).to_have_text("Won (900.00)", timeout=WAIT)
    page.locator("#return-submit").click()
    expect(page.locator("#return-error")).to_have_text("Choose a reason.", timeout=WAIT)
    page.locator("#return-reason").click()
    page.get_by_role("option", name="Wrong contact details").click()
    page.locator("#return-note").fill("the number is disconnected")
    page.locator("#return-submit").click()
    expect(page.locator("#lead-return-status")).to_contain_text("waiting for an admin", timeout=WAIT)
    expect(page.locator("#return-card")).to_have_count(0)

    admin_page = browser.new_context().new_page()
    sign_in_admin(admin_page, app_server, prefix="returns-admin")
    admin_page.goto(f"{app_server}/admin/returns")
    row = admin_page.locator(".return-row", has_text="Return Roofing")
    expect(row).to_contain_text("Wrong contact details", timeout=WAIT)
    expect(row).to_contain_text("the number is disconnected")
    row.locator(".return-approve").click()
    expect(admin_page.locator("#returns-message")).to_contain_text("Approved", timeout=WAIT)
    expect(admin_page.locator(".return-row", has_text="Return Roofing")).to_have_count(0)

    page.goto(f"{app_server}/provider/returns")
    expect(page.locator(".return-row").first).to_contain_text("Approved: refunded", timeout=WAIT)
    page.goto(f"{app_server}/provider/ledger")
    expect(page.locator("#ledger-balance")).to_have_text("50.00", timeout=WAIT)
    expect(page.locator(".ledger-row").nth(0)).to_contain_text("Refund")
    expect(page.locator(".ledger-row").nth(0)).to_contain_text("+12.50")
    assert assignment.charged_amount == 12.5
