"""An admin signs in and approves a confirmed lead from the queue, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import Lead, LeadStatus, UserRole
from hotlead_app.services import accounts, intake, leads
from tests.factories import confirmation_token, unique_email

PASSWORD = "correct horse battery"


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=30_000)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_admin_signs_in_and_approves_a_confirmed_lead(page: Page, app_server, shared_db):
    email = unique_email("queue-admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    person = unique_email("queued")
    lead = intake.submit_lead(niche_slug="roofing", email=person, payload={"zip": "30301", "roof_type": "tile"})
    leads.confirm_lead(token=confirmation_token(lead.id))

    _sign_in(page, app_server, email)
    expect(page).to_have_url(re.compile(r"/admin/queue"), timeout=30_000)
    row = page.locator(f"[id='lead-{lead.id}']")
    expect(row).to_contain_text(person, timeout=30_000)
    row.get_by_role("button", name="Approve").click()
    expect(row).to_have_count(0, timeout=30_000)
    with unit_of_work() as uow:
        assert uow.session.get(Lead, lead.id).status in (LeadStatus.APPROVED, LeadStatus.DISTRIBUTED)


def test_wrong_password_is_told_and_a_provider_is_sent_away_from_the_queue(page: Page, app_server, shared_db):
    email = unique_email("queue-provider")
    accounts.create_provider_account(name="Queue Roofing", email=email, password=PASSWORD, actor=admin())
    page.goto(f"{app_server}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=30_000)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("Wrong email or password", timeout=30_000)

    _sign_in(page, app_server, email)
    page.wait_for_timeout(1000)
    page.goto(f"{app_server}/admin/queue")
    expect(page).to_have_url(re.compile(r"/signin"), timeout=30_000)


def test_the_queue_needs_a_signed_in_admin(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/admin/queue")
    expect(page).to_have_url(re.compile(r"/signin"), timeout=30_000)
    expect(page.locator("#signin-email")).to_be_visible()
