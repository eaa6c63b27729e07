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
    assert lead.phone == "4045550100"


def test_invalid_email_shows_the_error_next_to_the_field_and_writes_nothing(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/n/roofing")
    expect(page.locator("#email")).to_be_visible(timeout=30_000)
    page.locator("#email").fill("not-an-email")
    page.locator("[id='payload.zip']").fill("30301")
    page.locator("[id='payload.roof_type']").select_option("tile")
    page.get_by_role("button", name="Request quotes").click()
    error = page.locator("#email ~ .field-error, #email + .field-error").or_(
        page.get_by_role("alert").filter(has_text="valid email"))
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
        job = uow.session.exec(
            select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead_id))).one()
    return tokens.make_token(lead_id, job.args["nonce"])


def test_the_link_in_the_email_confirms_the_lead(page: Page, app_server, shared_db):
    from hotlead_app.services import intake

    lead = intake.submit_lead(niche_slug="roofing", email=unique_email("click"),
                              payload={"zip": "30301", "roof_type": "flat"})
    page.goto(f"{app_server}/confirm?token={_token_for(lead.id)}")
    expect(page.locator("#confirm-outcome")).to_contain_text("confirmed", timeout=30_000)
    with unit_of_work() as uow:
        stored = uow.session.get(Lead, lead.id)
    assert stored.status == LeadStatus.PENDING_APPROVAL and stored.confirmed_at is not None
    page.goto(f"{app_server}/confirm?token=tampered.{_token_for(lead.id)}")
    expect(page.locator("#confirm-outcome")).to_contain_text("not valid", timeout=30_000)
