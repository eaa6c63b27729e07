"""A provider adds funds in Chromium: "Add funds" → the processor's page (a local
stand-in for Stripe Checkout, started by the test) → back to the return page, which
shows the deposit pending, then completed with the new balance once the signed
webhook is delivered."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts
from tests.conftest import STRIPE_TEST_SECRET
from tests.e2e.conftest import PASSWORD, sign_in_provider
from tests.factories import unique_email
from tests.integration.payments_helpers import ledger_of
from tests.payments_fakes import signed, stripe_event


def _no_page_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_provider_adds_funds_through_checkout_and_sees_the_new_balance(
    page: Page, app_server, shared_db, stripe_standin
):
    email = unique_email("funds")
    provider = accounts.create_provider_account(name="Funds Roofing", email=email, password=PASSWORD, actor=admin())
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_provider(page, app_server, email)
    page.goto(f"{app_server}/provider/funds")
    expect(page).to_have_title(re.compile("Add funds"))
    expect(page.locator("#funds-balance")).to_have_text(fmt.money("0.00"), timeout=30_000)
    expect(page.locator("#deposits-empty")).to_be_visible()
    _no_page_scroll(page)

    # A bad amount is told next to the field, and the input is kept.
    page.locator("#deposit-amount").fill("5")
    page.locator("#deposit-submit").click()
    expect(page.locator(".field-error")).to_contain_text(
        f"between {fmt.money(10)} and {fmt.money(10000)}", timeout=30_000
    )
    expect(page.locator("#deposit-amount")).to_have_value("5")

    page.locator("#preset-100").click()
    expect(page.locator("#deposit-amount")).to_have_value("100.00")
    page.locator("#deposit-submit").click()

    # The processor's page (the stand-in), then back to the platform.
    expect(page).to_have_url(re.compile(re.escape(stripe_standin.page_base) + r"/pay/cs_"), timeout=30_000)
    session_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name="Test checkout")).to_be_visible()
    page.get_by_role("button", name="Pay 100.00").click()
    expect(page).to_have_url(re.compile(r"/provider/funds/return/?\?deposit=.*result=success"), timeout=30_000)
    expect(page.locator("#deposit-status")).to_have_text("pending", timeout=30_000)
    expect(page.locator("#return-balance")).to_have_text(fmt.money("0.00"))
    _no_page_scroll(page)

    # Stripe tells the platform, signed; the page updates by itself.
    payload = stripe_event("checkout.session.completed", stripe_standin.sessions[session_id])
    resp = httpx.post(
        f"{app_server}/api/v1/webhooks/stripe", content=payload, headers=signed(payload, STRIPE_TEST_SECRET), timeout=30
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "processed", resp.text
    expect(page.locator("#deposit-status")).to_have_text("completed", timeout=30_000)
    expect(page.locator("#return-balance")).to_have_text(fmt.money("100.00"))
    assert [(e.type, str(e.amount)) for e in ledger_of(provider.id)] == [("deposit", "100.00")]


def test_cancelling_at_the_processor_says_nothing_was_charged(page: Page, app_server, shared_db, stripe_standin):
    email = unique_email("funds-cancel")
    accounts.create_provider_account(name="Cancel Roofing", email=email, password=PASSWORD, actor=admin())
    sign_in_provider(page, app_server, email)
    page.goto(f"{app_server}/provider/funds")
    expect(page.locator("#funds-balance")).to_have_text(fmt.money("0.00"), timeout=30_000)
    page.locator("#preset-25").click()
    page.locator("#deposit-submit").click()
    expect(page).to_have_url(re.compile(r"/pay/cs_"), timeout=30_000)
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#deposit-cancelled")).to_be_visible(timeout=30_000)
    expect(page.locator("#deposit-status")).to_have_text("failed")
