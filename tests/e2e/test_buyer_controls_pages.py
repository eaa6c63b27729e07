"""Buyer controls in the pages, in Chromium against the prod-mode app (issue 14):
a provider sets its spend cap and time zone, then subscribes with a ZIP radius, a
schedule and a day cap (bad ones answered next to the field, nothing saved); an
admin's approved leads fill the cap bar and the lead it missed is explained as the
day cap; a possible duplicate is badged in the approval queue and the lead detail.

With ``HOTLEAD_SHOTS=<dir>`` the subscription editor and the overview are saved
there at 1366 and 375 px."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import Lead, LeadStatus, ProviderSubscription, ServiceProvider
from hotlead_app.services import accounts, catalog, distribution, intake, leads, ledger
from tests.conftest import wait_for
from tests.e2e.conftest import PASSWORD, sign_in_admin, sign_in_provider
from tests.factories import ROOFING_FIELDS, confirmation_token, unique_email

WAIT = 30_000
SHOTS = os.environ.get("HOTLEAD_SHOTS", "")


def _shoot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _lead(slug: str, email: str, zip_code: str = "10001", *, approve: bool = True) -> uuid.UUID:
    lead = intake.submit_lead(
        niche_slug=slug, email=email, payload={"zip": zip_code, "roof_type": "metal", "area_sqft": "900"}
    )
    leads.confirm_lead(token=confirmation_token(lead.id))
    if approve:
        leads.approve_lead(lead_id=lead.id, actor=admin())
        distribution.distribute_lead(lead_id=lead.id)
        wait_for(lambda: _status(lead.id) == LeadStatus.DISTRIBUTED, timeout=60, message="the distribution")
    return lead.id


def _status(lead_id: uuid.UUID) -> LeadStatus:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        assert lead is not None
        return lead.status


def _subscriptions(provider_id: uuid.UUID) -> list[dict]:
    with unit_of_work() as uow:
        subs = uow.session.exec(select(ProviderSubscription).where(ProviderSubscription.provider_id == provider_id))
        return [
            {"id": s.id, "caps": s.caps, "schedule": s.schedule, "filters": s.filters, "leads_from": s.leads_from}
            for s in subs
        ]


def _settings(provider_id: uuid.UUID) -> tuple[str, dict]:
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        assert provider is not None
        return provider.time_zone, dict(provider.spend_caps)


def test_a_provider_sets_radius_schedule_and_day_cap_and_sees_the_cap_fill(page: Page, app_server, shared_db):
    email = unique_email("controls")
    provider = accounts.create_provider_account(name="Capped Roofing", email=email, password=PASSWORD, actor=admin())
    other = accounts.create_provider_account(
        name="Other Roofing", email=unique_email("other"), password=PASSWORD, actor=admin()
    )
    niche = catalog.create_niche(
        slug=f"ctl-{uuid.uuid4().hex[:8]}", name=f"Roofs {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Pair", price_per_lead="10.00", max_providers=2, priority_order=1, actor=admin()
    )
    for p in (provider, other):
        ledger.post(provider_id=p.id, type="deposit", amount="100.00", key=f"e2e:{p.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=other.id)

    sign_in_provider(page, app_server, email, lands_on=r"/provider$")

    # Settings: a bad spend cap is answered next to its input and saves nothing.
    expect(page.locator("#provider-settings")).to_be_visible(timeout=WAIT)
    page.locator("#spend-cap-day").fill("12.345")
    page.locator("#save-settings").click()
    expect(page.locator("#spend-cap-field-day .field-error")).to_contain_text("two decimals", timeout=WAIT)
    assert _settings(provider.id)[1] == {}
    page.locator("#spend-cap-day").fill("500.00")
    page.locator("#time-zone").select_option("America/Chicago")
    page.locator("#save-settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible(timeout=WAIT)
    assert _settings(provider.id) == ("America/Chicago", {"day": "500.00"})

    # A new subscription with a radius, a schedule and a day cap.
    page.goto(f"{app_server}/provider/subscriptions")
    page.locator("#new-subscription").click()
    page.locator("#niche-select").select_option(str(niche.id))
    page.locator(f"[id='level-{level.id}'] .choose-level").click()
    expect(page.locator("#waiting-leads")).to_contain_text("0 approved leads are waiting", timeout=WAIT)
    zip_row = page.locator("#filter-zip")
    zip_row.locator("input.near-zip, .near-zip input").fill("10001")
    expect(zip_row.locator(".near-place")).to_have_text("New York, NY", timeout=WAIT)
    zip_row.locator("input.near-miles, .near-miles input").fill("900")
    expect(zip_row.locator(".near-error")).to_contain_text("at most 500", timeout=WAIT)
    page.locator("#subscribe-button").click()
    expect(zip_row.locator(".near-error")).to_contain_text("at most 500", timeout=WAIT)
    assert _subscriptions(provider.id) == []
    zip_row.locator("input.near-miles, .near-miles input").fill("25")
    expect(page.locator("#match-count")).to_be_visible(timeout=WAIT)
    expect(zip_row.locator(".near-error")).to_have_count(0)

    # A schedule window that ends before it starts: said next to its day, nothing saved.
    page.locator("#preset-weekdays-8-6").click()
    monday = page.locator("#day-mon")
    expect(monday.locator("input.window-start, .window-start input")).to_have_value("08:00", timeout=WAIT)
    monday.locator("input.window-start, .window-start input").fill("18:00")
    monday.locator("input.window-end, .window-end input").fill("08:00")
    page.wait_for_timeout(500)  # the inputs' debounce
    page.locator("#cap-day").fill("1")
    page.locator("#subscribe-button").click()
    expect(monday.locator(".field-error")).to_contain_text("starts before it ends", timeout=WAIT)
    assert _subscriptions(provider.id) == []

    # Open all week, all day (so the test does not depend on the hour it runs).
    for day in ("sat", "sun"):
        page.locator(f"#day-{day} .add-window").click()
    grid = page.locator("#schedule-grid")
    expect(grid.locator("input.window-start, .window-start input")).to_have_count(7, timeout=WAIT)
    for i in range(7):
        grid.locator("input.window-start, .window-start input").nth(i).fill("00:00")
        grid.locator("input.window-end, .window-end input").nth(i).fill("24:00")
    page.wait_for_timeout(500)
    # The live count says what the schedule and the day cap leave of the filter's matches.
    # It sits with the schedule and caps (under the caps), not in the filters' count box.
    controls_count = page.locator("#controls-editor #match-controls")
    expect(controls_count).to_contain_text("after schedule and caps", timeout=WAIT)
    expect(page.locator("#match-preview #match-controls")).to_have_count(0)
    count_box, cap_box = controls_count.bounding_box(), page.locator("#cap-day").bounding_box()
    assert count_box is not None and cap_box is not None and count_box["y"] > cap_box["y"]
    _shoot(page, "subscription-editor")
    page.locator("#subscribe-button").click()
    expect(page.get_by_text("future leads only")).to_be_visible(timeout=WAIT)
    (sub,) = _subscriptions(provider.id)
    assert sub["caps"] == {"day": 1}
    assert sub["schedule"] == {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert sub["filters"] == {"zip": {"near": {"zip": "10001", "miles": 25}}}
    assert sub["leads_from"] is not None

    # An admin approves two leads in the radius: the first fills the day cap.
    buyer = unique_email("buyer")
    first = _lead(niche.slug, buyer)
    second = _lead(niche.slug, unique_email("buyer2"))
    page.goto(f"{app_server}/provider")
    bar = page.locator(f".cap-bar[data-sub='{sub['id']}'][data-period='day']")
    expect(bar.locator(".cap-text")).to_have_text("1 of 1 today", timeout=WAIT)
    _shoot(page, "provider-overview-caps")

    page.goto(f"{app_server}/provider/missed")
    missed = page.locator(f"[id='missed-{second}']")
    expect(missed.locator(".missed-reason")).to_contain_text("lead cap for the day", timeout=WAIT)
    expect(page.locator(f"[id='missed-{first}']")).to_have_count(0)

    # The same consumer again: the admin sees a possible duplicate linking to the first lead.
    again = _lead(niche.slug, buyer, approve=False)
    sign_in_admin(page, app_server)
    page.goto(f"{app_server}/admin/queue")
    badge = page.locator(f"[id='lead-{again}'] .duplicate-of")
    expect(badge).to_contain_text("Possible duplicate of lead", timeout=WAIT)
    expect(badge).to_have_attribute("href", f"/admin/leads/{first}")
    page.goto(f"{app_server}/admin/leads/{again}")
    expect(page.locator(".duplicate-of")).to_have_attribute("href", f"/admin/leads/{first}", timeout=WAIT)

    # The admin's explanation of the missed lead reads as words, not the reason's key.
    page.goto(f"{app_server}/admin/leads/{second}")
    expect(page.locator("#explanation-table")).to_contain_text("lead cap for today was reached", timeout=WAIT)
