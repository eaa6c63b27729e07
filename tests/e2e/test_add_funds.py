"""A provider adds funds in Chromium: "Add funds" → the processor's page (a local
stand-in for Stripe Checkout, started by the test) → back to the return page, which
shows the deposit pending, then completed with the new balance once the signed
webhook is delivered."""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal

import httpx
from playwright.sync_api import Page, expect

from hotlead_app.components import format as fmt
from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts, ledger
from tests.conftest import STRIPE_TEST_SECRET, wait_for
from tests.e2e.conftest import PASSWORD, sign_in_provider
from tests.factories import deposit, unique_email
from tests.integration.payments_helpers import ledger_of, provider_row, rows
from tests.payments_fakes import signed, stripe_event


def provider_balance(provider_id: uuid.UUID) -> Decimal:
    return provider_row(provider_id).balance


def ledger_rows(provider_id: uuid.UUID) -> list:
    return rows("SELECT id, idempotency_key FROM ledger_entries WHERE provider_id = :p ORDER BY seq", p=provider_id)


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
    expect(page.locator("#deposit-status")).to_have_text(fmt.status_word(fmt.DEPOSIT_STATUS, "pending"), timeout=30_000)
    expect(page.locator("#return-balance")).to_have_text(fmt.money("0.00"))
    _no_page_scroll(page)

    # Stripe tells the platform, signed; the page updates by itself.
    payload = stripe_event("checkout.session.completed", stripe_standin.sessions[session_id])
    resp = httpx.post(
        f"{app_server}/api/v1/webhooks/stripe", content=payload, headers=signed(payload, STRIPE_TEST_SECRET), timeout=30
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "processed", resp.text
    expect(page.locator("#deposit-status")).to_have_text(
        fmt.status_word(fmt.DEPOSIT_STATUS, "completed"), timeout=30_000
    )
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
    expect(page.locator("#deposit-status")).to_have_text(fmt.status_word(fmt.DEPOSIT_STATUS, "failed"))


def test_a_provider_saves_a_card_turns_on_auto_recharge_and_sees_the_recharge_in_the_ledger(
    page: Page, app_server, shared_db, stripe_standin, celery_worker
):
    """Save a card on the Stripe stand-in's setup page, turn auto-recharge on, spend
    below the threshold: the worker charges the card off-session and the verified
    PaymentIntent's deposit shows in the ledger."""
    email = unique_email("recharge")
    provider = accounts.create_provider_account(name="Recharge Roofing", email=email, password=PASSWORD, actor=admin())
    deposit(provider.id, "60.00")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in_provider(page, app_server, email)
    page.goto(f"{app_server}/provider/funds")
    expect(page.locator("#no-card")).to_be_visible(timeout=30_000)

    # Stripe's page (the stand-in, setup mode): choose a test card, save it, come back.
    page.locator("#add-card").click()
    expect(page).to_have_url(re.compile(re.escape(stripe_standin.page_base) + r"/pay/cs_"), timeout=30_000)
    session_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name="Save a card")).to_be_visible()
    page.get_by_label("visa ending 4242").check()
    page.get_by_role("button", name="Save card").click()
    expect(page).to_have_url(re.compile(r"/provider/funds/?\?card=saved"), timeout=30_000)
    payload = stripe_event("checkout.session.completed", stripe_standin.sessions[session_id])
    resp = httpx.post(
        f"{app_server}/api/v1/webhooks/stripe", content=payload, headers=signed(payload, STRIPE_TEST_SECRET), timeout=30
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "processed", resp.text
    expect(page.locator("#saved-card")).to_have_text("Visa •••• 4242, expires 12/2034", timeout=30_000)

    # Auto-recharge: a bad amount is told next to its field; then it is saved.
    page.locator("#recharge-enabled").click()
    page.locator("#recharge-threshold").fill("50.00")
    page.locator("#recharge-amount").fill("5")
    page.locator("#recharge-save").click()
    expect(page.locator("#amount-error")).to_contain_text("between", timeout=30_000)
    page.locator("#recharge-amount").fill("100.00")
    page.locator("#recharge-save").click()
    summary = f"Auto-recharge adds {fmt.money(Decimal('100.00'))} when your balance falls below {fmt.money(Decimal('50.00'))}."
    expect(page.locator("#recharge-summary")).to_have_text(summary, timeout=30_000)
    expect(page.locator("#recharge-day-limit")).to_contain_text("At most 3 recharges a day")
    shots = os.environ.get("HOTLEAD_SHOTS")
    if shots:
        page.screenshot(path=f"{shots}/funds-card-1366.png", full_page=True)
        page.set_viewport_size({"width": 375, "height": 800})
        page.screenshot(path=f"{shots}/funds-card-375.png", full_page=True)
        page.set_viewport_size({"width": 1366, "height": 900})
    page.set_viewport_size({"width": 375, "height": 800})
    _no_page_scroll(page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # Spending takes the balance below the threshold: the worker recharges it.
    ledger.adjust(provider_id=provider.id, type="debit", amount="20.00", actor=admin(), memo="spend")
    wait_for(lambda: provider_balance(provider.id) == Decimal("140.00"), timeout=60, message="the recharge")
    (entry_id,) = [e.id for e in ledger_rows(provider.id) if e.idempotency_key.startswith("stripe:payment_intent:pi_")]
    page.goto(f"{app_server}/provider/ledger")
    expect(page.locator(f"#entry-{entry_id}")).to_contain_text("Deposit", timeout=30_000)
    page.goto(f"{app_server}/provider")
    expect(page.locator("#auto-recharge-line")).to_have_text(summary, timeout=30_000)
    if shots:
        page.screenshot(path=f"{shots}/home-recharge-1366.png", full_page=True)

    # Removing the card asks first; then it is gone and auto-recharge is off.
    page.goto(f"{app_server}/provider/funds")
    page.locator("#remove-card").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Visa •••• 4242")
    page.locator("#confirm-remove-card").click()
    expect(page.locator("#no-card")).to_be_visible(timeout=30_000)
    expect(page.locator("#recharge-summary")).to_have_count(0)
    assert not rows("SELECT 1 FROM billing_profiles WHERE provider_id = :p AND recharge_enabled", p=provider.id)
