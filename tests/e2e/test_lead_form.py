"""A person fills the public form in a real Chromium against the running app."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.models import Lead, LeadStatus
from tests.factories import unique_email


def _leads_for(email: str) -> list[Lead]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(Lead).where(Lead.email == email)).all())


def test_person_submits_the_form_and_sees_the_confirmation(page: Page, app_server, shared_db):
    email = unique_email("browser")
    page.goto(f"{app_server}/n/roofing")
    expect(page.get_by_role("heading", name=re.compile("Roofing"))).to_be_visible(timeout=30_000)
    page.locator("#email").fill(email)
    page.locator("#phone").fill("404-555-0100")
    page.locator("[id='payload.zip']").fill("30301")
    page.locator("[id='payload.roof_type']").select_option("metal")
    page.get_by_role("button", name="Request quotes").click()
    expect(page.locator("#lead-submitted")).to_contain_text(email, timeout=30_000)
    (lead,) = _leads_for(email)
    assert lead.status == LeadStatus.PENDING_CONFIRMATION
    assert lead.payload == {"zip": "30301", "roof_type": "metal"}
    assert lead.phone == "+14045550100"


def test_invalid_email_shows_the_error_next_to_the_field_and_writes_nothing(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/n/roofing")
    expect(page.locator("#email")).to_be_visible(timeout=30_000)
    page.locator("#email").fill("not-an-email")
    page.locator("[id='payload.zip']").fill("30301")
    page.locator("[id='payload.roof_type']").select_option("tile")
    page.get_by_role("button", name="Request quotes").click()
    error = page.locator("#email ~ .field-error, #email + .field-error").or_(
        page.get_by_role("alert").filter(has_text="valid email")
    )
    expect(error.first).to_contain_text("valid email address", timeout=30_000)
    expect(page.locator("#lead-submitted")).to_have_count(0)
    assert _leads_for("not-an-email") == []


def test_unknown_niche_says_so(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/n/no-such-service")
    expect(page.get_by_text("We don't offer that service")).to_be_visible(timeout=30_000)


def _token_for(lead_id) -> str:
    from hotlead_app.models import OutboxMessage
    from hotlead_app.services import tokens

    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead_id))).one()
    return tokens.make_token(lead_id, job.args["nonce"])


def test_the_link_in_the_email_confirms_the_lead(page: Page, app_server, shared_db):
    from hotlead_app.services import intake

    lead = intake.submit_lead(
        niche_slug="roofing", email=unique_email("click"), payload={"zip": "30301", "roof_type": "flat"}
    )
    page.goto(f"{app_server}/confirm?token={_token_for(lead.id)}")
    expect(page.locator("#confirm-outcome")).to_contain_text("confirmed", timeout=30_000)
    with unit_of_work() as uow:
        stored = uow.session.get(Lead, lead.id)
    assert stored.status == LeadStatus.PENDING_APPROVAL and stored.confirmed_at is not None
    page.goto(f"{app_server}/confirm?token=tampered.{_token_for(lead.id)}")
    expect(page.locator("#confirm-outcome")).to_contain_text("not valid", timeout=30_000)


def test_submit_receive_the_email_and_open_its_link(page: Page, app_server, shared_db, celery_worker, smtp_sink):
    from urllib.parse import urlparse

    from tests.conftest import wait_for

    email = unique_email("inbox")
    page.goto(f"{app_server}/n/roofing?utm_source=newsletter&partner=nobody")
    expect(page.locator("#consent-text")).to_be_visible(timeout=30_000)
    page.locator("#email").fill(email)
    page.locator("[id='payload.zip']").fill("30301")
    page.locator("[id='payload.roof_type']").select_option("asphalt")
    page.get_by_role("button", name="Request quotes").click()
    expect(page.locator("#lead-submitted")).to_be_visible(timeout=30_000)
    expect(page.locator("#resend")).to_be_visible()

    (message,) = wait_for(lambda: smtp_sink.to(email), timeout=60, message="the confirmation email")
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = urlparse(re.search(r"https?://\S+/confirm\?token=[\w.\-]+", text).group(0))
    page.goto(f"{app_server}{link.path}?{link.query}")
    expect(page.locator("#confirm-outcome")).to_contain_text("confirmed", timeout=30_000)
    (lead,) = _leads_for(email)
    assert lead.status == LeadStatus.PENDING_APPROVAL and lead.confirmed_at is not None
    assert lead.utm_params == {"utm_source": "newsletter"} and lead.partner_id is None
    assert lead.consent_version and lead.consent_ip

    page.goto(f"{app_server}{link.path}?{link.query}")
    expect(page.locator("#confirm-outcome")).to_contain_text("already confirmed", timeout=30_000)


def test_an_expired_link_offers_a_new_one(page: Page, app_server, shared_db):
    from sqlalchemy import text

    from hotlead_app.services import intake

    email = unique_email("late")
    lead = intake.submit_lead(niche_slug="roofing", email=email, payload={"zip": "30301", "roof_type": "flat"})
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE leads SET confirmation_expires_at = now() - interval '1 hour' WHERE id = :id"), {"id": lead.id}
        )
    page.goto(f"{app_server}/confirm?token={_token_for(lead.id)}")
    expect(page.locator("#confirm-outcome")).to_contain_text("expired", timeout=30_000)
    page.locator("#resend-email").fill(email)
    page.locator("#resend").click()
    expect(page.locator("#resend-message")).to_contain_text("new link", timeout=30_000)


def test_the_form_fits_a_phone_screen(page: Page, app_server, shared_db):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{app_server}/n/roofing")
    expect(page.locator("#email")).to_be_visible(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_field_is_checked_as_the_person_leaves_it(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/n/roofing")
    expect(page.locator("[id='payload.zip']")).to_be_visible(timeout=30_000)
    page.locator("[id='payload.zip']").fill("12")
    page.locator("#email").focus()
    expect(page.get_by_role("alert").filter(has_text="5-digit ZIP")).to_be_visible(timeout=15_000)
    page.locator("[id='payload.zip']").fill("30301")
    page.locator("#email").focus()
    expect(page.get_by_role("alert").filter(has_text="5-digit ZIP")).to_have_count(0, timeout=15_000)
