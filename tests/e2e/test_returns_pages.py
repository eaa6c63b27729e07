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
from tests.e2e.test_admin_audit_ledger import shots
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
    expect(row.locator(".lead-outcome")).to_have_text("Won")
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


def test_the_admin_works_the_returns_queue_with_the_keyboard_only(page: Page, app_server, shared_db):
    from hotlead_app.domain.actors import provider as provider_actor
    from hotlead_app.services import returns
    from hotlead_app.services.reads import return_requests

    email = unique_email("keys")
    provider = accounts.create_provider_account(name="Keyboard Roofing", email=email, password=PASSWORD, actor=admin())
    niche = catalog.create_niche(
        slug=f"keys-{uuid.uuid4().hex[:8]}", name=f"Keys {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    catalog.update_niche(niche_id=niche.id, actor=admin(), values={"max_return_rate_percent": 100})
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="9.00", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="100.00", key=f"e2e-keys:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    requests = []
    for _ in range(3):
        lead_id = approved_lead(niche.slug)
        assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
        (assignment,) = assignments_of(lead_id)
        requests.append(
            returns.request_return(
                assignment_id=assignment.id, actor=provider_actor(provider.id), reason="wrong_contact"
            ).id
        )
    newest_first = [str(r) for r in reversed(requests)]

    def row(i: int):
        return page.locator(f"[id='return-{newest_first[i]}']")

    sign_in_admin(page, app_server, prefix="keys-admin")
    page.goto(f"{app_server}/admin/returns")
    expect(page.locator("#returns-keys-help")).to_contain_text("a approve, d deny", timeout=WAIT)
    expect(page.locator("#returns-status")).to_have_text("Pending")  # the label, not the key
    page.locator("#returns-provider").focus()
    page.keyboard.type(email)
    page.keyboard.press("Enter")
    expect(page.locator(".return-row")).to_have_count(3, timeout=WAIT)
    expect(row(0).locator(".return-status")).to_contain_text("Pending")
    shots(page, "admin-returns")
    page.keyboard.press("Tab")  # out of the field, onto the Filter button: keys work again
    page.keyboard.press("j")
    expect(row(0)).to_be_focused()
    page.keyboard.press("j")
    expect(row(1)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(row(1)).to_be_focused()

    # a approves the focused request; the focus stays at its place, on the next request.
    page.keyboard.press("a")
    expect(page.locator("#returns-message")).to_contain_text("Approved", timeout=WAIT)
    expect(page.locator(".return-row")).to_have_count(2)
    expect(page.locator(f"[id='return-{newest_first[1]}']")).to_have_count(0)
    expect(page.locator(f"[id='return-{newest_first[2]}']")).to_be_focused()

    # d opens the deny dialog with the reason focused; without a reason nothing is denied.
    page.keyboard.press("d")
    expect(page.locator("#deny-reason")).to_be_focused(timeout=WAIT)
    for _ in range(3):  # reason -> memo -> Cancel -> Deny
        page.keyboard.press("Tab")
    expect(page.locator("#confirm-deny")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#deny-reason-error")).to_have_text("Say why the return is denied.", timeout=WAIT)
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
    expect(page.locator("#deny-reason")).to_be_focused()
    page.keyboard.type("the contact answered our call")
    for _ in range(3):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#returns-message")).to_contain_text("Denied", timeout=WAIT)
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.locator(".return-row")).to_have_count(1)

    decided = {
        r["id"]: (r["status"], r["deny_reason"])
        for r in return_requests.admin_returns(admin(), provider_id=provider.id, limit=10)
    }
    assert decided == {
        newest_first[0]: ("pending", None),
        newest_first[1]: ("approved", None),
        newest_first[2]: ("denied", "the contact answered our call"),
    }
    # Keys do nothing while typing in a field.
    page.locator("#returns-provider").focus()
    page.keyboard.press("a")
    expect(page.locator(".return-row")).to_have_count(1)
    assert (
        return_requests.admin_returns(admin(), provider_id=provider.id, status="pending", limit=10)[0]["id"]
        == (newest_first[0])
    )
