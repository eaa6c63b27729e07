"""The provider's lead inbox in Chromium (issue 16, items 7 and 8): at 375 px the
leads are cards with tap-to-call and email links and the navigation is a menu the
keyboard opens and closes; at 1366 px a table; a private note survives a reload; the
notification settings are saved; a lead nobody bought says why, naming the field by
its label with both values and a link that opens that subscription's filters.

With ``HOTLEAD_SHOTS=<dir>`` every page is saved there at 1366 and 375 px."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts, catalog, distribution, intake, leads, ledger
from tests.e2e.conftest import PASSWORD, WAIT, sign_in_provider
from tests.factories import ROOFING_FIELDS, approved_lead, confirmation_token, unique_email

SHOTS = os.environ.get("HOTLEAD_SHOTS", "")
BILL_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "bill", "label": "Monthly bill", "type": "number", "required": True},
]
PHONE = "+14045550123"


@dataclass(frozen=True)
class Inbox:
    email: str
    lead_id: uuid.UUID
    missed_id: uuid.UUID
    picky_sub: uuid.UUID


@pytest.fixture(scope="module")
def inbox_world(app_server) -> Inbox:
    """A provider that received one roofing lead (with a phone) and missed a solar lead
    nobody bought (its filter wants a bill of at least 100; the lead's is 80)."""
    email = unique_email("inbox")
    provider = accounts.create_provider_account(name="Inbox Roofing", email=email, password=PASSWORD, actor=admin())
    ledger.post(provider_id=provider.id, type="deposit", amount="100.00", key=f"inbox:{provider.id}")
    roofs = catalog.create_niche(
        slug=f"inbox-{uuid.uuid4().hex[:8]}", name="Inbox roofs", fields=ROOFING_FIELDS, actor=admin()
    )
    solar = catalog.create_niche(
        slug=f"solar-{uuid.uuid4().hex[:8]}", name="Inbox solar", fields=BILL_FIELDS, actor=admin()
    )
    roof_level = catalog.create_level(
        niche_id=roofs.id, name="Solo", price_per_lead="12.50", max_providers=1, priority_order=1, actor=admin()
    )
    solar_level = catalog.create_level(
        niche_id=solar.id, name="Solar solo", price_per_lead="20.00", max_providers=1, priority_order=1, actor=admin()
    )
    catalog.create_subscription(competition_level_id=roof_level.id, filters={}, actor=admin(), provider_id=provider.id)
    picky = catalog.create_subscription(
        competition_level_id=solar_level.id, filters={"bill": {"min": 100}}, actor=admin(), provider_id=provider.id
    )
    submitted = intake.submit_lead(
        niche_slug=roofs.slug,
        email=unique_email("buyer"),
        phone=PHONE,
        payload={"zip": "30301", "roof_type": "metal", "area_sqft": "1800"},
    )
    leads.confirm_lead(token=confirmation_token(submitted.id))
    leads.approve_lead(lead_id=submitted.id, actor=admin())
    assert distribution.distribute_lead(lead_id=submitted.id).outcome == "distributed"
    missed = approved_lead(solar.slug, {"zip": "30301", "bill": "80"})
    assert distribution.distribute_lead(lead_id=missed).outcome != "distributed"
    return Inbox(email, submitted.id, missed, picky.id)


def _serious(page: Page, context: str) -> list[str]:
    """axe-core's serious or critical violations inside ``context`` (a CSS selector)."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, context=context).response["violations"]
    return [
        f"{v['id']}: {v['help']} ({[n.get('failureSummary') for n in v.get('nodes', [])]})"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def _shot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.wait_for_timeout(400)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def test_at_375_px_leads_are_cards_with_call_and_mail_links_and_the_menu_opens_by_keyboard(
    page: Page, app_server, shared_db, inbox_world
):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_provider(page, app_server, inbox_world.email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/leads")
    card = page.locator(f"[id='lead-card-{inbox_world.lead_id}']")
    expect(card).to_be_visible(timeout=WAIT)
    expect(page.locator(f"[id='lead-{inbox_world.lead_id}']")).to_be_hidden()  # the table row
    expect(card.locator("a[href^='tel:']")).to_have_attribute("href", f"tel:{PHONE}")
    expect(card.locator("a[href^='mailto:']")).to_be_visible()
    expect(card).to_contain_text("Roof type: metal")  # labels, in the form's order
    expect(card).to_contain_text(fmt.money("12.50"))
    expect(card).to_contain_text("Only you")
    assert _serious(page, "#lead-cards") == []
    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # The navigation is behind the menu button (a disclosure): Enter opens it, Space closes it.
    button = page.locator("#nav-menu-button")
    nav = page.locator("#backoffice-nav")
    expect(button).to_be_visible()
    expect(nav).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "backoffice-nav")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true", timeout=WAIT)
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Missed leads")).to_be_visible()
    assert _serious(page, "#backoffice-nav") == [] and _serious(page, "#nav-menu-button") == []
    _shot(page, "provider-leads-menu")
    page.keyboard.press(" ")
    expect(button).to_have_attribute("aria-expanded", "false", timeout=WAIT)
    expect(nav).to_be_hidden()
    # Choosing a section closes the menu on the next page.
    page.keyboard.press("Enter")
    nav.get_by_role("link", name="Missed leads").click()
    expect(page).to_have_url(re.compile(r"/provider/missed$"), timeout=WAIT)
    expect(button).to_have_attribute("aria-expanded", "false", timeout=WAIT)
    page.goto(f"{app_server}/provider/leads")
    expect(card).to_be_visible(timeout=WAIT)
    _shot(page, "provider-leads")

    # At 1366 px: the table, the links in it, and the navigation in the bar.
    page.set_viewport_size({"width": 1366, "height": 900})
    row = page.locator(f"[id='lead-{inbox_world.lead_id}']")
    expect(row).to_be_visible(timeout=WAIT)
    expect(row.locator("a[href^='tel:']")).to_be_visible()
    expect(row.locator("a[href^='mailto:']")).to_be_visible()
    expect(page.locator("#nav-menu-button")).to_be_hidden()
    expect(nav).to_be_visible()
    _shot(page, "provider-leads")


def test_a_private_note_is_saved_on_the_lead_page_and_shown_in_the_list(page: Page, app_server, shared_db, inbox_world):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_provider(page, app_server, inbox_world.email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/leads/{inbox_world.lead_id}")
    expect(page.locator("#lead-phone a")).to_have_attribute("href", f"tel:{PHONE}", timeout=WAIT)
    expect(page.locator("#lead-fields")).to_contain_text("Roof area")
    note = page.get_by_label("Note on this lead")
    note.fill("Called Tuesday, call back after 5 pm")
    page.locator("#lead-note-save").click()
    expect(page.locator("#lead-note-help")).to_contain_text("saved", timeout=WAIT)
    page.reload()
    expect(page.get_by_label("Note on this lead")).to_have_value("Called Tuesday, call back after 5 pm", timeout=WAIT)
    assert _serious(page, "#note-card") == []
    _shot(page, "provider-lead")
    page.set_viewport_size({"width": 1366, "height": 900})
    _shot(page, "provider-lead")
    # Too long: the error next to the field, nothing saved.
    page.get_by_label("Note on this lead").evaluate("el => el.removeAttribute('maxlength')")
    page.get_by_label("Note on this lead").fill("x" * 2001)
    page.locator("#lead-note-save").click()
    expect(page.locator("#lead-note-error")).to_contain_text("2000", timeout=WAIT)
    page.goto(f"{app_server}/provider/leads")
    expect(page.locator(f"[id='lead-{inbox_world.lead_id}'] .lead-note")).to_contain_text(
        "Called Tuesday", timeout=WAIT
    )


def test_a_missed_lead_says_why_with_the_label_both_values_and_a_link_to_the_filter(
    page: Page, app_server, shared_db, inbox_world
):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_provider(page, app_server, inbox_world.email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/missed")
    card = page.locator(f"[id='missed-{inbox_world.missed_id}']")
    expect(card).to_contain_text("Your filter: Monthly bill ≥ 100; this lead: 80.", timeout=WAIT)
    link = card.get_by_role("link", name="Edit this filter")
    expect(link).to_have_attribute("href", re.compile(rf"/provider/subscriptions\?edit={inbox_world.picky_sub}$"))
    assert _serious(page, f"[id='missed-{inbox_world.missed_id}']") == []
    _shot(page, "provider-missed")
    page.set_viewport_size({"width": 375, "height": 800})
    _shot(page, "provider-missed")
    link.click()
    expect(page).to_have_url(re.compile(r"/provider/subscriptions\?edit="), timeout=WAIT)
    expect(page.get_by_text("Inbox solar · Solar solo")).to_be_visible(timeout=WAIT)


def test_the_notification_settings_are_saved_and_a_bad_threshold_is_shown_next_to_the_field(
    page: Page, app_server, shared_db, inbox_world
):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_provider(page, app_server, inbox_world.email, lands_on=r"/provider$")
    section = page.locator("#provider-notifications")
    expect(section).to_be_visible(timeout=WAIT)
    page.get_by_label("Low-balance alert below").fill("ten dollars")
    page.locator("#save-notifications").click()
    expect(page.locator("#low-balance-error")).to_be_visible(timeout=WAIT)
    expect(page.get_by_label("Low-balance alert below")).to_have_attribute("aria-invalid", "true")
    section.get_by_text("One email an hour listing the new leads").click()
    page.get_by_label("Low-balance alert below").fill("$25")
    page.locator("#save-notifications").click()
    expect(page.locator("#low-balance-error")).to_have_count(0, timeout=WAIT)
    page.reload()
    expect(page.get_by_label("Low-balance alert below")).to_have_value("25.00", timeout=WAIT)
    expect(page.locator("#lead-emails-digest")).to_have_attribute("aria-checked", "true")
    assert _serious(page, "#provider-notifications") == []
    section.scroll_into_view_if_needed()
    _shot(page, "provider-settings")
    page.set_viewport_size({"width": 375, "height": 800})
    _shot(page, "provider-settings")


def test_the_admin_navigation_is_a_menu_at_375_px_too(page: Page, app_server, shared_db):
    from tests.e2e.conftest import sign_in_admin

    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_admin(page, app_server, prefix="inbox-admin")
    button = page.locator("#nav-menu-button")
    nav = page.locator("#backoffice-nav")
    expect(button).to_be_visible(timeout=WAIT)
    expect(nav).to_be_hidden()
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true", timeout=WAIT)
    expect(nav.get_by_role("link", name="Conversion")).to_be_visible()
    _shot(page, "admin-menu")
    nav.get_by_role("link", name="Leads", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/leads"), timeout=WAIT)
    expect(nav).to_be_hidden(timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
