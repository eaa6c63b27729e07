"""An admin signs in and approves a confirmed lead from the queue, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import Lead, LeadStatus
from hotlead_app.services import accounts, intake, leads
from tests.e2e.conftest import PASSWORD, new_admin, sign_in
from tests.factories import confirmation_token, unique_email


def test_admin_signs_in_and_approves_a_confirmed_lead(page: Page, app_server, shared_db):
    email = new_admin("queue-admin")
    person = unique_email("queued")
    lead = intake.submit_lead(niche_slug="roofing", email=person, payload={"zip": "30301", "roof_type": "tile"})
    leads.confirm_lead(token=confirmation_token(lead.id))

    sign_in(page, app_server, email, lands_on=r"/admin/queue")
    row = page.locator(f"[id='lead-{lead.id}']")
    expect(row).to_contain_text(person, timeout=30_000)
    row.get_by_role("button", name="Approve").click()
    expect(row).to_have_count(0, timeout=30_000)
    with unit_of_work() as uow:
        assert uow.session.get(Lead, lead.id).status in (LeadStatus.APPROVED, LeadStatus.DISTRIBUTED)


def test_wrong_password_is_told_and_a_provider_is_sent_away_from_the_queue(page: Page, app_server, shared_db):
    email = unique_email("queue-provider")
    accounts.create_provider_account(name="Queue Roofing", email=email, password=PASSWORD, actor=admin())
    sign_in(page, app_server, email, password="not the password")
    expect(page.locator("#signin-error")).to_contain_text("Wrong email or password", timeout=30_000)

    # (After a wrong password the throttle may make this attempt wait: wait for the landing.)
    sign_in(page, app_server, email, lands_on=r"/provider/?$")
    page.goto(f"{app_server}/admin/queue")
    expect(page).to_have_url(re.compile(r"/wrong-account\?next=/admin/queue"), timeout=30_000)


def test_the_queue_needs_a_signed_in_admin(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/admin/queue")
    expect(page).to_have_url(re.compile(r"/signin"), timeout=30_000)
    expect(page.locator("#signin-email")).to_be_visible()


def test_a_provider_signs_in_and_sees_its_lead_and_lowered_balance(page: Page, app_server, shared_db):
    from hotlead_app.services import catalog, distribution, ledger
    from tests.factories import approved_lead

    email = unique_email("dash")
    provider = accounts.create_provider_account(name="Dash Roofing", email=email, password=PASSWORD, actor=admin())
    slug = f"dash-{provider.id.hex[:8]}"
    niche = catalog.create_niche(
        slug=slug, name="Dash", fields=[{"name": "zip", "type": "zip", "required": True}], actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="12.50", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"dash:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    lead_id = approved_lead(slug, {"zip": "30301"})
    distribution.distribute_lead(lead_id=lead_id)  # the worker may not run in this test: do it here
    with unit_of_work() as uow:
        buyer = uow.session.get(Lead, lead_id).email

    sign_in(page, app_server, email, lands_on=r"/provider")
    expect(page.locator("#provider-balance")).to_have_text(fmt.money("37.50"), timeout=30_000)
    expect(page.locator("#provider-status")).to_contain_text("Active")
    expect(page.get_by_text(buyer)).to_be_visible()
