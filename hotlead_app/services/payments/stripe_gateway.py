"""Stripe through ``stripe.StripeClient`` (16.x) and its ``v1`` services.

Every call to Stripe goes through this module.  The client is built from settings
(``STRIPE_API_KEY``, ``STRIPE_API_BASE``); ``use_client`` replaces it (tests hand in a
``StripeClient`` whose ``http_client`` records requests and serves canned responses).
Amounts cross this boundary as ``Decimal``; Stripe's integer cents stay in here.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import stripe

from hotlead_app.domain.money import CENT
from hotlead_app.services.payments.errors import ProcessorUnavailable
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_override: stripe.StripeClient | None = None
_cached: tuple[tuple[str, str, float], stripe.StripeClient] | None = None


def use_client(client: stripe.StripeClient | None) -> None:
    """Replace the client built from settings (``None``: back to settings)."""
    global _override
    _override = client


def is_configured() -> bool:
    return _override is not None or bool(get_settings().stripe_api_key)


def client() -> stripe.StripeClient:
    global _cached
    if _override is not None:
        return _override
    settings = get_settings()
    if not settings.stripe_api_key:
        raise ProcessorUnavailable("Card payments (Stripe) are not configured on this platform.")
    key = (settings.stripe_api_key, settings.stripe_api_base, settings.payment_http_timeout_seconds)
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (
                key,
                stripe.StripeClient(
                    settings.stripe_api_key,
                    base_addresses={"api": settings.stripe_api_base},
                    max_network_retries=1,
                    http_client=stripe.RequestsClient(timeout=settings.payment_http_timeout_seconds),
                ),
            )
        return _cached[1]


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int | None) -> Decimal | None:
    if cents is None:
        return None
    return (Decimal(int(cents)) * CENT).quantize(CENT)


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return obj.to_dict()


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        log.warning("Stripe %s failed: %s", what, exc)
        raise ProcessorUnavailable(details={"processor": "stripe", "call": what}) from exc


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str


def create_checkout(
    *,
    deposit_id: uuid.UUID,
    provider_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    success_url: str,
    cancel_url: str,
    customer_email: str | None = None,
) -> Checkout:
    """A Checkout Session in payment mode for this deposit.  The idempotency key is
    derived from the deposit id: asking twice returns the same session."""
    metadata = {"deposit_id": str(deposit_id), "provider_id": str(provider_id)}
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": str(deposit_id),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_cents(amount),
                    "product_data": {"name": "Find Me A Hot Lead balance top-up"},
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    session = _call(
        "checkout.sessions.create",
        client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": f"deposit-{deposit_id}-checkout"},
    )
    data = _plain(session)
    if not data.get("id") or not data.get("url"):
        raise ProcessorUnavailable("Stripe did not return a checkout page.", details={"processor": "stripe"})
    return Checkout(session_id=data["id"], url=data["url"])


def retrieve_session(session_id: str) -> dict[str, Any]:
    return _plain(_call("checkout.sessions.retrieve", client().v1.checkout.sessions.retrieve, session_id))


def list_refunds(*, charge_id: str | None = None, payment_intent: str | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 100}
    if charge_id:
        params["charge"] = charge_id
    elif payment_intent:
        params["payment_intent"] = payment_intent
    page = _call("refunds.list", client().v1.refunds.list, params=params)
    return [_plain(r) for r in page.auto_paging_iter()]


def retrieve_dispute(dispute_id: str) -> dict[str, Any]:
    return _plain(_call("disputes.retrieve", client().v1.disputes.retrieve, dispute_id))


def list_completed_sessions(*, since: datetime) -> Iterator[dict[str, Any]]:
    """Checkout Sessions created since ``since`` whose status is ``complete``."""
    page = _call(
        "checkout.sessions.list",
        client().v1.checkout.sessions.list,
        params={"status": "complete", "created": {"gte": int(since.timestamp())}, "limit": 100},
    )
    try:
        for session in page.auto_paging_iter():
            yield _plain(session)
    except stripe.StripeError as exc:
        raise ProcessorUnavailable(details={"processor": "stripe", "call": "checkout.sessions.list"}) from exc


def verify_and_parse(payload: bytes, signature: str | None) -> None:
    """Raise ``InvalidSignature`` unless the raw body is signed with the configured
    secret within the last 300 seconds (never 0: 0 would switch the time check off)."""
    from hotlead_app.services.payments.errors import InvalidSignature

    secret = get_settings().stripe_webhook_secret
    if not secret:
        raise InvalidSignature("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret, tolerance=WEBHOOK_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignature(details={"signature": str(exc)[:200]}) from None


WEBHOOK_TOLERANCE = 300


# --------------------------------------------------------------------------- saved card, off-session


def create_customer(*, provider_id: uuid.UUID, email: str, name: str) -> str:
    """The provider's Stripe customer: created once (the idempotency key names the
    provider, so two racing requests get the same customer back)."""
    customer = _call(
        "customers.create",
        client().v1.customers.create,
        params={"email": email, "name": name, "metadata": {"provider_id": str(provider_id)}},
        options={"idempotency_key": f"customer:{provider_id}"},
    )
    data = _plain(customer)
    if not data.get("id"):
        raise ProcessorUnavailable("Stripe did not return a customer.", details={"processor": "stripe"})
    return str(data["id"])


def create_setup_checkout(
    *, provider_id: uuid.UUID, customer_id: str, currency: str, success_url: str, cancel_url: str
) -> Checkout:
    """A Checkout Session in setup mode: the provider saves a card for later
    off-session charges; nothing is charged now."""
    metadata = {"provider_id": str(provider_id), "purpose": "saved_card"}
    session = _call(
        "checkout.sessions.create",
        client().v1.checkout.sessions.create,
        params={
            "mode": "setup",
            "customer": customer_id,
            "currency": currency.lower(),
            "payment_method_types": ["card"],
            "client_reference_id": str(provider_id),
            "metadata": metadata,
            "setup_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
        options={"idempotency_key": f"card-setup:{provider_id}:{uuid.uuid4()}"},
    )
    data = _plain(session)
    if not data.get("id") or not data.get("url"):
        raise ProcessorUnavailable("Stripe did not return a checkout page.", details={"processor": "stripe"})
    return Checkout(session_id=data["id"], url=data["url"])


def retrieve_setup_intent(setup_intent_id: str) -> dict[str, Any]:
    return _plain(_call("setup_intents.retrieve", client().v1.setup_intents.retrieve, setup_intent_id))


def retrieve_payment_method(payment_method_id: str) -> dict[str, Any]:
    return _plain(_call("payment_methods.retrieve", client().v1.payment_methods.retrieve, payment_method_id))


def detach_payment_method(payment_method_id: str) -> dict[str, Any]:
    return _plain(_call("payment_methods.detach", client().v1.payment_methods.detach, payment_method_id))


def retrieve_payment_intent(payment_intent_id: str) -> dict[str, Any]:
    return _plain(_call("payment_intents.retrieve", client().v1.payment_intents.retrieve, payment_intent_id))


@dataclass(frozen=True)
class OffSession:
    """What Stripe answered to an off-session charge: the PaymentIntent (when Stripe
    made one), or the card error's code (``card_declined``, ``authentication_required``…)."""

    payment_intent: dict[str, Any] | None
    error_code: str | None = None
    decline_code: str | None = None
    message: str | None = None


def charge_off_session(
    *,
    idempotency_key: str,
    customer_id: str,
    payment_method_id: str,
    amount: Decimal,
    currency: str,
    metadata: dict[str, str],
    description: str,
) -> OffSession:
    """Create and confirm a PaymentIntent without the cardholder (``off_session``).
    A card error (402) is an answer, not an outage: it comes back with Stripe's code and
    the PaymentIntent it carries.  Raises ProcessorUnavailable for anything else."""
    try:
        intent = client().v1.payment_intents.create(
            params={
                "amount": to_cents(amount),
                "currency": currency.lower(),
                "customer": customer_id,
                "payment_method": payment_method_id,
                "confirm": True,
                "off_session": True,
                "metadata": metadata,
                "description": description,
            },
            options={"idempotency_key": idempotency_key},
        )
    except stripe.CardError as exc:
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        error: dict[str, Any] = body.get("error") or {}
        log.info("Stripe off-session charge refused: %s (%s)", exc.code, error.get("decline_code"))
        intent_data = error.get("payment_intent")
        return OffSession(
            payment_intent=intent_data if isinstance(intent_data, dict) else None,
            error_code=str(exc.code or error.get("code") or "card_error"),
            decline_code=error.get("decline_code"),
            message=error.get("message"),
        )
    except stripe.StripeError as exc:
        log.warning("Stripe payment_intents.create failed: %s", exc)
        raise ProcessorUnavailable(details={"processor": "stripe", "call": "payment_intents.create"}) from exc
    return OffSession(payment_intent=_plain(intent))
