"""The provider dashboard in Chromium against the prod-mode app, with a real Celery
worker distributing what the admin approves."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import Lead, LeadStatus
from hotlead_app.services import accounts, catalog, intake, leads, ledger
from hotlead_app.services.csv_export import money_column
from tests.conftest import wait_for
from tests.e2e.conftest import PASSWORD, api_login, new_admin, sign_in, sign_in_provider
from tests.factories import ROOFING_FIELDS, approved_lead, assignments_of, confirmation_token, unique_email


def _market(price: str = "12.50", balance: str = "50.00", subscribe: bool = True):
    """A provider with a login and a balance, subscribed (no filters) to a new niche's only level."""
    email = unique_email("dash")
    provider = accounts.create_provider_account(name="Dash Roofing", email=email, password=PASSWORD, actor=admin())
    niche = catalog.create_niche(
        slug=f"dash-{uuid.uuid4().hex[:8]}", name=f"Roofs {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead=price, max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount=balance, key=f"e2e:{provider.id}")
    if subscribe:
        catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    return email, provider, niche, level


def _admin(base: str) -> dict[str, str]:
    return api_login(base, new_admin("dash-admin"))


def _status(lead_id: uuid.UUID) -> LeadStatus:
    with unit_of_work() as uow:
        return uow.session.get(Lead, lead_id).status


def test_approved_lead_reaches_the_provider_and_its_refund_shows_in_the_ledger(
    page: Page, app_server, shared_db, celery_worker
):
    email, _provider, niche, _level = _market()
    buyer = unique_email("buyer")
    lead = intake.submit_lead(
        niche_slug=niche.slug,
        email=buyer,
        phone="+1 404 555 0199",
        payload={"zip": "30301", "roof_type": "metal", "area_sqft": "1800"},
    )
    leads.confirm_lead(token=confirmation_token(lead.id))
    admin_headers = _admin(app_server)

    approved = httpx.post(f"{app_server}/api/v1/admin/leads/{lead.id}/approve", json={}, headers=admin_headers)
    assert approved.status_code == 200, approved.text
    wait_for(lambda: _status(lead.id) == LeadStatus.DISTRIBUTED, timeout=60, message="the worker's distribution")

    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    expect(page.locator("#provider-balance")).to_have_text(fmt.money("37.50"), timeout=30_000)
    expect(page.locator("#leads-week")).to_have_text("1")
    expect(page.locator("#leads-month")).to_have_text("1")
    expect(page.locator("#spend-total")).to_contain_text(fmt.money("12.50"))
    expect(page.locator("#spend-chart .recharts-bar-rectangle").first).to_be_attached(timeout=30_000)

    page.goto(f"{app_server}/provider/leads")
    row = page.locator(f"[id='lead-{lead.id}']")
    expect(row).to_contain_text(buyer, timeout=30_000)
    expect(row).to_contain_text("(404) 555-0199")
    expect(row).to_contain_text("12.50")
    expect(row).to_contain_text("Solo")
    expect(row).to_contain_text("Roof type: metal")  # labels, in the form's order

    with page.expect_download() as download:
        page.locator("#export-leads").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["lead_id"], r["email"], r[money_column("price")], r["providers_on_lead"]) for r in rows] == [
        (str(lead.id), buyer, "12.50", "1")
    ]

    page.goto(f"{app_server}/provider/leads/{lead.id}")
    expect(page.locator("#lead-email")).to_contain_text(buyer, timeout=30_000)
    expect(page.locator("#lead-shared")).to_have_text("1")
    expect(page.locator("#lead-fields")).to_contain_text("1800")

    (assignment,) = assignments_of(lead.id)
    refund = httpx.post(
        f"{app_server}/api/v1/admin/assignments/{assignment.id}/refund",
        json={"reason": "wrong phone number"},
        headers=admin_headers,
    )
    assert refund.status_code in (200, 201), refund.text

    page.goto(f"{app_server}/provider/ledger")
    expect(page.locator("#ledger-balance")).to_have_text(fmt.money("50.00"), timeout=30_000)
    rows = page.locator(".ledger-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Refund")
    expect(rows.nth(0)).to_contain_text(fmt.signed_money("+12.50"))
    expect(rows.nth(0)).to_contain_text(fmt.money("50.00"))
    expect(rows.nth(1)).to_contain_text(fmt.signed_money("-12.50"))
    expect(rows.nth(1)).to_contain_text(fmt.money("37.50"))
    with page.expect_download() as download:
        page.locator("#export-ledger").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [(r["type"], r[money_column("amount")], r[money_column("balance_after")]) for r in exported] == [
        ("refund", "+12.50", "50.00"),
        ("charge", "-12.50", "37.50"),
        ("deposit", "+50.00", "50.00"),
    ]
    page.goto(f"{app_server}/provider")
    expect(page.locator("#provider-balance")).to_have_text(fmt.money("50.00"), timeout=30_000)


def test_subscribe_with_the_filter_builder_whose_live_count_narrows(page: Page, app_server, shared_db):
    email, provider, niche, level = _market(price="9.00", subscribe=False)
    for roof, area in (("metal", "1000"), ("metal", "3000"), ("tile", "1500"), ("flat", "800")):
        approved_lead(niche.slug, {"zip": "30301", "roof_type": roof, "area_sqft": area})

    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/subscriptions")
    expect(page.locator("#subs-empty")).to_be_visible(timeout=30_000)
    page.locator("#new-subscription").click()
    page.locator("#niche-select").select_option(str(niche.id))
    card = page.locator(f"[id='level-{level.id}']")
    expect(card).to_contain_text("9.00 per lead")
    expect(card).to_contain_text("at most 1 providers")
    count = page.locator("#match-count")
    expect(count).to_have_text("4", timeout=30_000)

    page.locator("#filter-roof_type").get_by_text("metal", exact=True).click()
    expect(count).to_have_text("2", timeout=15_000)
    page.locator("#filter-area_sqft").get_by_placeholder("min").fill("2000")
    expect(count).to_have_text("1", timeout=15_000)
    page.locator("#filter-area_sqft").get_by_placeholder("max").fill("10")
    expect(page.locator("#filter-area_sqft .field-error")).to_contain_text(
        "min must not be greater than max", timeout=15_000
    )
    expect(page.locator("#match-count-none")).to_be_visible()
    page.locator("#filter-area_sqft").get_by_placeholder("max").fill("")
    expect(count).to_have_text("1", timeout=15_000)

    card.get_by_role("button", name="Choose").click()
    page.locator("#subscribe-button").click()
    row = page.locator(".subscription-row")
    expect(row).to_have_count(1, timeout=30_000)
    expect(row).to_contain_text("roof_type in metal")
    expect(row).to_contain_text("area_sqft ≥ 2000")
    expect(row).to_contain_text("9.00")
    (sub,) = catalog.list_subscriptions(admin(), provider_id=provider.id)
    assert sub.filters == {"roof_type": ["metal"], "area_sqft": {"min": "2000"}} and sub.active

    row.get_by_role("button", name="Pause").click()
    expect(row).to_contain_text("paused by you", timeout=30_000)
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("active", timeout=30_000)

    row.get_by_role("button", name="Edit filters").click()
    expect(page.locator("#future-only-note")).to_contain_text("future leads only", timeout=30_000)
    expect(count).to_have_text("1", timeout=15_000)
    page.locator("#filter-roof_type").get_by_text("tile", exact=True).click()
    expect(count).to_have_text("1", timeout=15_000)  # the tile lead is 1500 sq ft, under the minimum
    page.locator("#filter-area_sqft").get_by_placeholder("min").fill("1000")
    expect(count).to_have_text("3", timeout=15_000)
    page.locator("#save-filters").click()
    expect(row).to_contain_text("roof_type in metal, tile", timeout=30_000)
    expect(row).to_contain_text("area_sqft ≥ 1000")
    (sub,) = catalog.list_subscriptions(admin(), provider_id=provider.id)
    assert sub.filters == {"roof_type": ["metal", "tile"], "area_sqft": {"min": "1000"}}


def test_a_filter_saved_before_the_field_rule_shows_why_and_saving_drops_it(page: Page, app_server, shared_db):
    """DOMAIN.md "Which fields a filter may name": an old subscription filtering on a
    text field (as migration 0014 found it, paused) is explained next to the field."""
    from sqlalchemy import text

    email = unique_email("dash")
    provider = accounts.create_provider_account(name="Old Filters", email=email, password=PASSWORD, actor=admin())
    fields = [*ROOFING_FIELDS, {"name": "details", "label": "Details", "type": "text", "required": False}]
    niche = catalog.create_niche(slug=f"dash-{uuid.uuid4().hex[:8]}", name="Old roofs", fields=fields, actor=admin())
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="5.00", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"e2e:{provider.id}")
    sub = catalog.create_subscription(
        competition_level_id=level.id, filters={"roof_type": ["metal"]}, actor=admin(), provider_id=provider.id
    )
    with unit_of_work() as uow:
        uow.session.execute(
            text(
                "UPDATE provider_subscriptions SET filters = CAST(:f AS jsonb), active = false, "
                "pause_reason = 'filter_not_allowed' WHERE id = :id"
            ),
            {"f": '{"roof_type": ["metal"], "details": ["x"]}', "id": sub.id},
        )

    sign_in(page, app_server, email)
    expect(page).to_have_url(re.compile(r"/provider$"), timeout=30_000)
    page.goto(f"{app_server}/provider/subscriptions")
    row = page.locator(".subscription-row")
    expect(row).to_contain_text("filters name a field filters may not use", timeout=30_000)
    row.get_by_role("button", name="Edit filters").click()
    expect(page.locator("#filter-details .field-error")).to_contain_text("may not name a text field", timeout=30_000)
    expect(page.locator("#filter-details .field-error")).to_contain_text("Saving drops this rule")
    page.locator("#save-filters").click()
    expect(row).to_contain_text("paused by you", timeout=30_000)
    (saved,) = catalog.list_subscriptions(admin(), provider_id=provider.id)
    assert saved.filters == {"roof_type": ["metal"]} and saved.pause_reason == "paused_by_provider"
    row.get_by_role("button", name="Resume").click()
    expect(row).to_contain_text("active", timeout=30_000)


def test_an_api_key_works_as_a_bearer_token_until_revoked(page: Page, app_server, shared_db):
    email, provider, _niche, _level = _market()
    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/api-keys")
    expect(page.locator("#keys-empty")).to_be_visible(timeout=30_000)
    page.locator("#key-name").fill("CRM sync")
    page.locator("#create-key").click()
    expect(page.locator("#new-key")).to_have_text(re.compile(r".{20,}"), timeout=30_000)
    key = page.locator("#new-key").inner_text().strip()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server)
    page.locator("#copy-key").click()
    expect(page.get_by_text("Copied.")).to_be_visible(timeout=30_000)
    assert page.evaluate("navigator.clipboard.readText()") == key
    headers = {"Authorization": f"Bearer {key}"}
    me = httpx.get(f"{app_server}/api/v1/provider/me", headers=headers)
    assert me.status_code == 200 and me.json()["id"] == str(provider.id)

    row = page.locator(".key-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("CRM sync")
    expect(row).to_contain_text(key[:12])
    assert key not in row.inner_text()
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text("revoked", timeout=30_000)
    assert httpx.get(f"{app_server}/api/v1/provider/me", headers=headers).status_code == 401


def test_missed_leads_show_the_reason_without_contact_details(page: Page, app_server, shared_db):
    email, provider, niche, _level = _market()
    catalog.update_subscription(
        subscription_id=catalog.list_subscriptions(admin(), provider_id=provider.id)[0].id,
        actor=admin(),
        filters={"zip": ["10001"]},
    )
    from hotlead_app.services import distribution

    buyer = unique_email("missed-buyer")
    lead = intake.submit_lead(niche_slug=niche.slug, email=buyer, payload={"zip": "30301", "roof_type": "metal"})
    leads.confirm_lead(token=confirmation_token(lead.id))
    leads.approve_lead(lead_id=lead.id, actor=admin())
    distribution.distribute_lead(lead_id=lead.id)  # nobody matches: it stays approved, no record

    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/missed")
    card = page.locator(f"[id='missed-{lead.id}']")
    expect(card).to_be_visible(timeout=30_000)
    expect(card).to_contain_text("ZIP code: 30301")  # the niche field's label, not its key
    expect(card.locator(".missed-reason")).to_have_count(1, timeout=30_000)
    expect(card.locator(".missed-reason")).to_contain_text("Your filter: ZIP code is 10001; this lead: 30301.")
    expect(card).not_to_contain_text("metal")
    assert buyer not in page.content()


def test_a_provider_opening_an_admin_page_is_sent_away(page: Page, app_server, shared_db):
    email, _provider, _niche, _level = _market()
    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    for path in ("/admin/queue", "/admin"):
        page.goto(f"{app_server}{path}")
        # The page that says this account cannot open it (issue #16), not the admin page.
        expect(page).to_have_url(re.compile(r"/wrong-account\?next="), timeout=30_000)
        expect(page.locator("#wrong-account")).to_contain_text("an admin", timeout=30_000)


def test_provider_pages_fit_a_phone(page: Page, app_server, shared_db):
    email, _provider, _niche, _level = _market()
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    for path, ready in (
        ("/provider", "#provider-balance"),
        ("/provider/subscriptions", ".subscription-row"),
        ("/provider/leads", "#leads-empty"),
        ("/provider/missed", "#missed-empty"),
        ("/provider/ledger", ".ledger-row"),
        ("/provider/api-keys", "#keys-empty"),
    ):
        page.goto(f"{app_server}{path}")
        expect(page.locator(ready).first).to_be_visible(timeout=30_000)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    page.goto(f"{app_server}/provider/subscriptions")
    page.locator("#new-subscription").click()
    page.locator("#niche-select").select_option(str(_niche.id))
    expect(page.locator("#match-count")).to_be_visible(timeout=30_000)
    page.locator("#filter-area_sqft").get_by_placeholder("min").fill("100")
    expect(page.locator(f"[id='level-{_level.id}']")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, ("subscription form", width)


def test_leads_are_paged_newest_first(page: Page, app_server, shared_db):
    from hotlead_app.services import distribution

    email, _provider, niche, _level = _market(price="1.00", balance="100.00")
    made = []
    for i in range(26):
        lead_id = approved_lead(niche.slug, {"zip": f"{30300 + i}", "roof_type": "metal"})
        distribution.distribute_lead(lead_id=lead_id)
        made.append(lead_id)

    sign_in_provider(page, app_server, email, lands_on=r"/provider$")
    page.goto(f"{app_server}/provider/leads")
    rows = page.locator(".lead-row")
    expect(rows).to_have_count(25, timeout=30_000)
    expect(rows.first).to_have_id(f"lead-{made[-1]}")
    expect(page.locator(".page-prev")).to_be_disabled()
    page.locator(".page-next").click()
    expect(rows).to_have_count(1, timeout=30_000)
    expect(rows.first).to_have_id(f"lead-{made[0]}")
    expect(page.locator(".page-next")).to_be_disabled()
    page.locator(".page-prev").click()
    expect(rows).to_have_count(25, timeout=30_000)
    expect(rows.first).to_have_id(f"lead-{made[-1]}")
