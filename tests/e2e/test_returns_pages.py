"""Returns and outcomes in Chromium against the prod-mode app: the provider returns a
lead from its detail page and records an outcome, the admin approves the return from
the returns queue, and the provider's returns list and ledger show the refund."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect

from hotlead_app.components import format as fmt
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
    page.goto(f"{app_server}/provider/leads")
    expect(page.locator(f"[id='lead-{lead_id}'] .lead-return")).to_be_visible(timeout=WAIT)
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
    page.goto(f"{app_server}/provider/leads")
    row = page.locator(f"[id='lead-{lead_id}']")
    expect(row).to_contain_text("return pending", timeout=WAIT)
    expect(row.locator(".lead-outcome")).to_have_text("won")
    expect(row.locator(".lead-return")).to_have_count(0)
    page.goto(f"{app_server}/provider")
    expect(page.locator("#won-value")).to_have_text(fmt.money("900.00"), timeout=WAIT)
    expect(page.locator("#won-text")).to_contain_text("1 of 1 leads won")

    admin_page = browser.new_context().new_page()
    sign_in_admin(admin_page, app_server, prefix="returns-admin")
    admin_page.goto(f"{app_server}/admin/returns")
    admin_page.locator("#returns-provider").fill("nobody@example.com")
    admin_page.locator("#returns-filter").click()
    expect(admin_page.locator("#returns-provider-error")).to_be_visible(timeout=WAIT)
    admin_page.locator("#returns-provider").fill(email)
    admin_page.locator("#returns-filter").click()
    expect(admin_page.locator(".return-row")).to_have_count(1, timeout=WAIT)
    row = admin_page.locator(".return-row", has_text="Return Roofing")
    expect(row).to_contain_text("Wrong contact details", timeout=WAIT)
    expect(row).to_contain_text("the number is disconnected")
    row.locator(".return-approve").click()
    expect(admin_page.locator("#returns-message")).to_contain_text("Approved", timeout=WAIT)
    expect(admin_page.locator(".return-row", has_text="Return Roofing")).to_have_count(0)

    page.goto(f"{app_server}/provider/returns")
    expect(page.locator(".return-row").first).to_contain_text("Approved: refunded", timeout=WAIT)
    page.goto(f"{app_server}/provider/ledger")
    expect(page.locator("#ledger-balance")).to_have_text(fmt.money("50.00"), timeout=WAIT)
    expect(page.locator(".ledger-row").nth(0)).to_contain_text("Refund")
    expect(page.locator(".ledger-row").nth(0)).to_contain_text(fmt.signed_money("+12.50"))
    assert assignment.charged_amount == 12.5


def test_an_admin_sets_a_niches_return_settings_and_a_bad_value_is_told(page: Page, app_server, shared_db):
    from hotlead_app.db import unit_of_work
    from hotlead_app.models import Niche

    niche = catalog.create_niche(
        slug=f"rset-{uuid.uuid4().hex[:8]}",
        name=f"Gutters {uuid.uuid4().hex[:4]}",
        fields=ROOFING_FIELDS,
        actor=admin(),
    )
    sign_in_admin(page, app_server, prefix="rset-admin")
    page.goto(f"{app_server}/admin/niches")
    page.locator(f"[id='niche-{niche.slug}'] .niche-returns").click()
    expect(page.locator("#rs-window")).to_have_value("72", timeout=WAIT)
    expect(page.locator("#rs-reasons")).to_contain_text("wrong_contact: Wrong contact details")
    page.locator("#rs-window").fill("two days")
    page.locator("#rs-save").click()
    expect(page.locator("#return-settings")).to_contain_text("a whole number of hours", timeout=WAIT)
    page.locator("#rs-window").fill("48")
    page.locator("#rs-auto").fill("10")
    page.locator("#rs-reasons").fill("spam: Spam or a bot\nmoved: Moved away")
    page.locator("#rs-save").click()
    expect(page.locator("#return-settings")).to_have_count(0, timeout=WAIT)
    with unit_of_work() as uow:
        saved = uow.session.get(Niche, niche.id)
        assert saved is not None
        assert (saved.return_window_hours, saved.auto_approve_returns_below_percent) == (48, 10)
        assert saved.return_reasons == [
            {"code": "spam", "label": "Spam or a bot"},
            {"code": "moved", "label": "Moved away"},
        ]
