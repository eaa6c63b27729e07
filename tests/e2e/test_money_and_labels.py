"""Issue 16 items 4, 5 and 9 in Chromium: money as money, answers by label in the
form's order, statuses as words, the leads browser's filters in the URL, and the lead
detail's explanation (the chosen first by level; an approved lead nobody could buy
explained at its latest attempt).

With ``HOTLEAD_SHOTS=<dir>`` the pages are saved there at 1366 px and 375 px."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect
from sqlmodel import select

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import Lead
from hotlead_app.services import accounts, distribution, leads, ledger
from hotlead_app.services.reads import lead_detail
from tests.e2e.conftest import PASSWORD, WAIT, sign_in, sign_in_admin
from tests.factories import (
    ADMIN,
    approved_lead,
    confirmed_lead,
    make_market,
    make_provider,
    subscribe,
    unique_email,
)

SHOTS = os.environ.get("HOTLEAD_SHOTS", "")

# Not alphabetical: pages must follow the form, not sort the keys.
FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "bill", "label": "Monthly bill", "type": "number", "required": False},
    {"name": "roof_type", "label": "Roof type", "type": "select", "required": True, "options": ["metal", "tile"]},
]
PAYLOAD = {"roof_type": "metal", "zip": "30301", "bill": 120}


def _shots(page: Page, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _clear_queue() -> None:
    """Leads other tests left waiting would push ours off the queue's first page."""
    with unit_of_work() as uow:
        waiting = uow.session.exec(select(Lead.id).where(Lead.status == LeadStatus.PENDING_APPROVAL)).all()
    for lead_id in waiting:
        leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="cleared by a test")


def _before(text: str, *parts: str) -> bool:
    positions = [text.index(p) for p in parts]
    return positions == sorted(positions)


def test_queue_and_lead_detail_show_the_answers_by_label_in_the_forms_order(page: Page, app_server, shared_db):
    _clear_queue()
    market = make_market(levels=[("Shared", "10.00", 2)], providers=0, fields=FIELDS)
    lead_id = confirmed_lead(market.slug, PAYLOAD)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_admin(page, app_server, prefix="labels-admin", lands_on=r"/admin/queue")

    card = page.locator(f"[id='lead-{lead_id}']")
    expect(card).to_be_visible(timeout=WAIT)
    answers = card.locator(".payload")
    expect(answers).to_contain_text(fmt.answers_text(FIELDS, PAYLOAD))
    expect(answers).to_contain_text("ZIP code: 30301 · Monthly bill: 120 · Roof type: metal")
    expect(answers).not_to_contain_text("roof_type")
    expect(card).to_contain_text(market.niche.name)
    _shots(page, "money-admin-queue")

    page.goto(f"{app_server}/admin/leads/{lead_id}")
    shown = page.locator("#lead-answers")
    expect(shown).to_be_visible(timeout=WAIT)
    text = shown.inner_text()
    assert _before(text, "ZIP code", "30301", "Monthly bill", "120", "Roof type", "metal"), text
    assert "roof_type" not in text
    expect(page.locator("#lead-status")).to_have_text(fmt.status_word(fmt.LEAD_STATUS, "pending_approval"))
    leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="done with it")


def test_the_leads_browsers_filters_live_in_the_url(page: Page, app_server, shared_db):
    market = make_market(levels=[("Shared", "10.00", 2)], providers=0, fields=FIELDS)
    approved = approved_lead(market.slug, PAYLOAD)  # nobody subscribes: it stays approved
    waiting = confirmed_lead(market.slug, PAYLOAD)
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_admin(page, app_server, prefix="browser-admin", lands_on=r"/admin/queue")

    # Opening a filtered URL applies it.
    page.goto(f"{app_server}/admin/leads?status=approved&niche={market.slug}")
    table = page.locator("#leads-table")
    expect(table.locator(f"[id='row-{approved}']")).to_be_visible(timeout=WAIT)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#filter-status")).to_have_text(fmt.status_word(fmt.LEAD_STATUS, "approved"))
    row = table.locator(f"[id='row-{approved}']")
    expect(row).to_contain_text(fmt.status_word(fmt.LEAD_STATUS, "approved"))
    expect(row).to_contain_text(market.niche.name)
    _shots(page, "money-admin-leads")

    # Changing a filter changes the URL (shareable) and the rows.
    page.locator("#filter-status").click()
    page.get_by_role("option", name=fmt.status_word(fmt.LEAD_STATUS, "pending_approval")).click()
    page.locator("#filter-apply").click()
    expect(page).to_have_url(re.compile(r"status=pending_approval"), timeout=WAIT)
    assert parse_qs(urlparse(page.url).query) == {"status": ["pending_approval"], "niche": [market.slug]}
    expect(table.locator(f"[id='row-{waiting}']")).to_be_visible(timeout=WAIT)
    expect(table.locator("tbody tr")).to_have_count(1)

    # The back button restores the previous filters and their rows.
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=approved"), timeout=WAIT)
    expect(table.locator(f"[id='row-{approved}']")).to_be_visible(timeout=WAIT)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#filter-status")).to_have_text(fmt.status_word(fmt.LEAD_STATUS, "approved"))

    # A status the page does not know is told next to the field, not a crash.
    page.goto(f"{app_server}/admin/leads?status=archived")
    expect(page.locator(".field-error")).to_contain_text("Unknown status", timeout=WAIT)
    leads.reject_lead(lead_id=waiting, actor=ADMIN, reason="done with it")


def test_lead_detail_lists_the_chosen_first_by_level_and_explains_the_latest_attempt(page: Page, app_server, shared_db):
    market = make_market(levels=[("Gold", "20.00", 1), ("Silver", "10.00", 2)], providers=4, balance="100.00")
    sold = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal"})
    assert distribution.distribute_lead(lead_id=sold).outcome == "distributed"

    lonely = make_market(levels=[("Shared", "10.00", 1)], providers=0)
    picky = make_provider(balance="50.00")
    subscribe(picky.id, lonely.levels[0].id, filters={"roof_type": ["tile"]})
    unsold = approved_lead(lonely.slug, {"zip": "30301", "roof_type": "metal"})
    assert distribution.distribute_lead(lead_id=unsold).outcome == "no_eligible"

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_admin(page, app_server, prefix="detail-admin", lands_on=r"/admin/queue")
    page.goto(f"{app_server}/admin/leads/{sold}")
    rows = page.locator("#explanation-table .explanation-row")
    expect(rows).to_have_count(len(market.subscriptions), timeout=WAIT)
    classes = [rows.nth(i).get_attribute("class") or "" for i in range(rows.count())]
    chosen = [("chosen" in c.split()) for c in classes]
    assert chosen == sorted(chosen, reverse=True) and sum(chosen) == 3, classes
    groups = page.locator("#explanation-table .explanation-group")
    expect(groups.first).to_have_text("Received it · Gold")
    expect(groups.nth(1)).to_have_text("Received it · Silver")
    expect(groups.nth(2)).to_contain_text("Did not receive it")
    expect(page.locator("#assignments-table")).to_contain_text(fmt.money("20.00"))
    _shots(page, "money-admin-lead")

    page.goto(f"{app_server}/admin/leads/{unsold}")
    expect(page.locator("#explanation-attempt")).to_contain_text("latest attempt", timeout=WAIT)
    only = page.locator("#explanation-table .explanation-row")
    expect(only).to_have_count(1, timeout=WAIT)
    expect(only).to_contain_text(lead_detail.reason_text("filter_mismatch:Roof type"))
    expect(only).to_contain_text(picky.name)
    _shots(page, "money-admin-lead-attempt")


def test_provider_overview_and_admin_ledger_show_money_with_the_currency(page: Page, app_server, shared_db):
    email = unique_email("money-provider")
    provider = accounts.create_provider_account(name="Money Roofing", email=email, password=PASSWORD, actor=admin())
    ledger.post(provider_id=provider.id, type="deposit", amount="1530.00", key=f"money:{provider.id}")

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, app_server, email, lands_on=r"/provider/?$")
    balance = page.locator("#provider-balance")
    expect(balance).to_have_text(fmt.money("1530.00"), timeout=WAIT)
    expect(balance).to_have_text(re.compile(r"^\$1,530\.00$"))
    _shots(page, "money-provider-overview")

    page.context.clear_cookies()
    sign_in_admin(page, app_server, prefix="money-admin", lands_on=r"/admin/queue")
    page.goto(f"{app_server}/admin/ledger?provider={email}")
    table = page.locator("#ledger-table")
    expect(table.locator("tbody tr")).to_have_count(1, timeout=WAIT)
    expect(table.locator("tbody tr").first).to_contain_text(fmt.signed_money("1530.00"))
    expect(table.locator("tbody tr").first).to_contain_text("+$1,530.00")
    _shots(page, "money-admin-ledger")
