"""Live checks against Stripe test mode and the PayPal sandbox.

They run only when the developer's keys are set (read before the test set-up points
the platform at the local stand-in; see ``PAYMENT_LIVE_KEYS`` in tests/conftest.py):

- Stripe: ``STRIPE_API_KEY`` must be a test-mode key (``sk_test_…``);
- PayPal: ``PAYPAL_CLIENT_ID`` and ``PAYPAL_CLIENT_SECRET`` of a sandbox app.

They create a real Checkout Session / order (never paid: nothing is charged) and read
it back through the same gateway code the platform uses."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import stripe

from hotlead_app.services.payments import paypal_gateway, stripe_gateway
from tests.conftest import PAYMENT_LIVE_KEYS

STRIPE_KEY = PAYMENT_LIVE_KEYS["STRIPE_API_KEY"]
PAYPAL_ID, PAYPAL_SECRET = PAYMENT_LIVE_KEYS["PAYPAL_CLIENT_ID"], PAYMENT_LIVE_KEYS["PAYPAL_CLIENT_SECRET"]

live_stripe = pytest.mark.skipif(
    not STRIPE_KEY.startswith("sk_test_"),
    reason="Stripe live test: set STRIPE_API_KEY to a test-mode key (sk_test_…) to run it",
)
live_paypal = pytest.mark.skipif(
    not (PAYPAL_ID and PAYPAL_SECRET),
    reason="PayPal live test: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET of a sandbox app to run it",
)


@live_stripe
def test_stripe_test_mode_creates_and_reads_back_a_checkout_session():
    stripe_gateway.use_client(stripe.StripeClient(STRIPE_KEY))
    try:
        deposit_id = uuid.uuid4()
        made = stripe_gateway.create_checkout(
            deposit_id=deposit_id,
            provider_id=uuid.uuid4(),
            amount=Decimal("12.34"),
            currency="USD",
            success_url="https://example.com/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="https://example.com/no",
        )
        again = stripe_gateway.create_checkout(
            deposit_id=deposit_id,
            provider_id=uuid.uuid4(),
            amount=Decimal("12.34"),
            currency="USD",
            success_url="https://example.com/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="https://example.com/no",
        )
        assert again.session_id == made.session_id  # the idempotency key
        session = stripe_gateway.retrieve_session(made.session_id)
        assert session["client_reference_id"] == str(deposit_id)
        assert session["amount_total"] == 1234 and session["payment_status"] == "unpaid"
        assert made.url.startswith("https://checkout.stripe.com/")
    finally:
        stripe_gateway.use_client(None)


@live_paypal
def test_paypal_sandbox_creates_an_order_awaiting_approval(monkeypatch):
    from hotlead_app.settings import get_settings

    monkeypatch.setenv("PAYPAL_CLIENT_ID", PAYPAL_ID)
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", PAYPAL_SECRET)
    monkeypatch.setenv("PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com")
    get_settings.cache_clear()
    paypal_gateway.use_session(None)
    try:
        deposit_id = uuid.uuid4()
        order = paypal_gateway.create_order(
            deposit_id=deposit_id,
            amount=Decimal("12.34"),
            currency="USD",
            return_url="https://example.com/ok",
            cancel_url="https://example.com/no",
        )
        assert "paypal.com" in order.approve_url
        read = paypal_gateway.get_order(order.order_id)
        assert read["purchase_units"][0]["custom_id"] == str(deposit_id)
        assert read["status"] in ("CREATED", "PAYER_ACTION_REQUIRED")
    finally:
        get_settings.cache_clear()
