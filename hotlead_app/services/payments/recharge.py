"""Saved card and auto-recharge (DOMAIN.md "Auto-recharge and statements").

- Saved card: ``start_card_setup`` creates the provider's Stripe customer once
  (idempotency key ``customer:<provider id>``, stored in ``billing_profiles``) and a
  Checkout Session in setup mode; the verified webhook (``checkout.session.completed``
  in setup mode, or ``setup_intent.succeeded``) stores the card through
  :func:`save_card` (brand, last 4, expiry read back from Stripe).  ``remove_card``
  forgets it (auto-recharge off) and then detaches it at Stripe, outside any
  transaction.
- Auto-recharge: the engine starts a recharge in the transaction that lowered the
  balance (``engine/start_recharge.sql``: a pending deposit, a ``recharges`` row, a
  ``payments.recharge`` outbox job).  :func:`charge` (that job) creates the
  off-session PaymentIntent with no transaction open (idempotency key
  ``recharge:<provider id>:<seq>``, so a retried job charges once), then applies what
  Stripe answered.  The deposit is credited only from a PaymentIntent read from Stripe
  (:func:`apply_payment_intent`: the webhook ``payment_intent.succeeded``, the
  PaymentIntent retrieved after the charge, or reconciliation), always through
  ``deposits.complete`` with the ledger key ``stripe:payment_intent:<id>``: exactly
  once, and the balance rules (resume, reactivate) run as for any deposit.
- A declined charge or one that needs the cardholder turns auto-recharge off, emails
  the provider a link to pay on-session ("Add funds") and alerts admins.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from hotlead_app import jobs, routes
from hotlead_app.db import UnitOfWork, referenced, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotlead_app.infra import metrics
from hotlead_app.models import BillingProfile, Recharge, ServiceProvider
from hotlead_app.models._types import utcnow
from hotlead_app.models.recharge import RECHARGE_IN_FLIGHT
from hotlead_app.services import audit, outbox
from hotlead_app.services.payments import deposits, stripe_gateway
from hotlead_app.services.payments.errors import ProcessorUnavailable
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

CARD_RETURN_PATH = routes.PROVIDER_FUNDS


class CardRequired(Conflict):
    code = "card_required"
    default_message = "Save a card first: auto-recharge charges the saved card."


@dataclass(frozen=True)
class CardRead:
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class AutoRechargeRead:
    enabled: bool
    threshold: Decimal | None
    amount: Decimal | None
    currency: str
    card: CardRead | None
    max_recharges_per_day: int
    off_reason: str | None
    in_flight: bool


@dataclass(frozen=True)
class RechargeRead:
    id: uuid.UUID
    seq: int
    amount: Decimal
    status: str
    failure_code: str | None
    created_at: datetime
    completed_at: datetime | None


def _provider_id(actor: Actor) -> uuid.UUID:
    if actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only providers have a saved card and auto-recharge.")
    return actor.provider_id


def _card(profile: BillingProfile | None) -> CardRead | None:
    if profile is None or not profile.card_payment_method_id:
        return None
    return CardRead(
        profile.card_brand or "card", profile.card_last4 or "????", profile.card_exp_month, profile.card_exp_year
    )


def _read(uow: UnitOfWork, provider_id: uuid.UUID) -> AutoRechargeRead:
    profile = uow.session.get(BillingProfile, provider_id)
    in_flight = (
        uow.session.exec(
            select(Recharge.id).where(Recharge.provider_id == provider_id, col(Recharge.status).in_(RECHARGE_IN_FLIGHT))
        ).first()
        is not None
    )
    return AutoRechargeRead(
        enabled=bool(profile and profile.recharge_enabled),
        threshold=profile.recharge_threshold if profile else None,
        amount=profile.recharge_amount if profile else None,
        currency=(profile.recharge_currency if profile else get_settings().deposit_currency).upper(),
        card=_card(profile),
        max_recharges_per_day=get_settings().max_recharges_per_day,
        off_reason=profile.recharge_off_reason if profile else None,
        in_flight=in_flight,
    )


def get(*, actor: Actor) -> AutoRechargeRead:
    provider_id = _provider_id(actor)
    with unit_of_work() as uow:
        return _read(uow, provider_id)


def list_recharges(*, actor: Actor, limit: int = 10) -> list[RechargeRead]:
    provider_id = _provider_id(actor)
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(Recharge)
            .where(Recharge.provider_id == provider_id)
            .order_by(col(Recharge.created_at).desc(), col(Recharge.seq).desc())
            .limit(limit)
        ).all()
        return [
            RechargeRead(r.id, r.seq, r.amount, r.status, r.failure_code, r.created_at, r.completed_at) for r in rows
        ]


def check_settings(
    *, enabled: object, threshold: object, amount: object
) -> tuple[bool, Decimal | None, Decimal | None]:
    """``(enabled, threshold, amount)``, or ``InvalidInput`` naming each bad field.
    Threshold and amount are required to turn it on; the amount is within the deposit
    limits, the threshold ≥ 0."""
    errors: dict[str, str] = {}
    if not isinstance(enabled, bool):
        errors["enabled"] = "must be true or false"
    limit: Decimal | None = None
    value: Decimal | None = None
    if threshold is None or threshold == "":
        if enabled is True:
            errors["threshold"] = "is required to turn auto-recharge on"
    else:
        try:
            limit = money.to_money(threshold, field="threshold")
            if limit < 0:
                errors["threshold"] = "must be 0 or more"
        except InvalidInput as exc:
            errors["threshold"] = exc.details.get("threshold", "must be a number like 50.00")
    if amount is None or amount == "":
        if enabled is True:
            errors["amount"] = "is required to turn auto-recharge on"
    else:
        try:
            value = money.to_amount(amount, field="amount")
            low, high = deposits.limits()
            if value < low or value > high:
                errors["amount"] = f"must be between {money.format_money(low)} and {money.format_money(high)}"
        except InvalidInput as exc:
            errors["amount"] = exc.details.get("amount", "must be a number like 100.00")
    if errors:
        raise InvalidInput(
            "These auto-recharge settings cannot be saved: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
            details=errors,
        )
    return bool(enabled), limit, value


def update(*, actor: Actor, enabled: object, threshold: object, amount: object) -> AutoRechargeRead:
    """Turn auto-recharge on or off, with its threshold and amount (400 naming the
    field; 409 ``card_required`` to turn it on without a saved card)."""
    provider_id = _provider_id(actor)
    on, limit, value = check_settings(enabled=enabled, threshold=threshold, amount=amount)
    with unit_of_work() as uow:
        referenced(uow.session, ServiceProvider, provider_id)
        profile = _lock_profile(uow, provider_id)
        if on and (profile is None or not profile.card_payment_method_id):
            raise CardRequired(details={"enabled": "save a card first"})
        if profile is None:
            profile = BillingProfile(provider_id=provider_id, recharge_currency=get_settings().deposit_currency.upper())
        before = audit.snapshot(profile)
        profile.recharge_enabled = on
        if limit is not None:
            profile.recharge_threshold = limit
        if value is not None:
            profile.recharge_amount = value
        if on:
            profile.recharge_off_reason = None
        _store(uow, profile, before=before, actor=actor, action="auto_recharge_updated")
        return _read(uow, provider_id)


def _store(
    uow: UnitOfWork,
    profile: BillingProfile,
    *,
    before: dict[str, Any] | None,
    actor: Actor,
    action: str,
    memo: str | None = None,
) -> None:
    """Write a changed billing profile and its audit record (card and settings only)."""
    profile.updated_at = utcnow()
    uow.session.add(profile)
    uow.session.flush()
    audit.record(
        uow,
        actor=actor,
        entity_type="provider",
        entity_id=profile.provider_id,
        action=action,
        before=_settings_snapshot(before),
        after=_settings_snapshot(audit.snapshot(profile)),
        memo=memo,
    )


def _settings_snapshot(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {k: v for k, v in snapshot.items() if k.startswith("recharge_") or k in ("card_brand", "card_last4")}


def _lock_profile(uow: UnitOfWork, provider_id: uuid.UUID) -> BillingProfile | None:
    profile = uow.session.exec(
        select(BillingProfile).where(BillingProfile.provider_id == provider_id).with_for_update()
    ).first()
    if profile is not None:
        uow.session.refresh(profile)
    return profile


# --------------------------------------------------------------------------- saved card


def _customer(provider_id: uuid.UUID) -> str:
    """The provider's Stripe customer id, created at Stripe the first time (no
    transaction is open during the call; the idempotency key makes a race harmless)."""
    with unit_of_work() as uow:
        profile = uow.session.get(BillingProfile, provider_id)
        provider = referenced(uow.session, ServiceProvider, provider_id)
        if profile is not None and profile.stripe_customer_id:
            return profile.stripe_customer_id
        email, name = provider.email, provider.name
    customer_id = stripe_gateway.create_customer(provider_id=provider_id, email=email, name=name)
    with unit_of_work() as uow:
        uow.session.execute(
            text(
                "INSERT INTO billing_profiles (provider_id, stripe_customer_id, recharge_enabled, recharge_currency, "
                "created_at, updated_at) VALUES (:p, :c, false, :cur, now(), now()) "
                "ON CONFLICT (provider_id) DO UPDATE SET stripe_customer_id = "
                "coalesce(billing_profiles.stripe_customer_id, EXCLUDED.stripe_customer_id), updated_at = now()"
            ),
            {"p": provider_id, "c": customer_id, "cur": get_settings().deposit_currency.upper()},
        )
        stored = uow.session.execute(
            text("SELECT stripe_customer_id FROM billing_profiles WHERE provider_id = :p"), {"p": provider_id}
        ).scalar_one()
    return str(stored)


def start_card_setup(*, actor: Actor) -> str:
    """The Stripe page (Checkout, setup mode) where the provider saves a card."""
    provider_id = _provider_id(actor)
    if not stripe_gateway.is_configured():
        raise ProcessorUnavailable("Card payments (Stripe) are not configured on this platform.")
    customer_id = _customer(provider_id)
    base = get_settings().public_url.rstrip("/") + CARD_RETURN_PATH
    checkout = stripe_gateway.create_setup_checkout(
        provider_id=provider_id,
        customer_id=customer_id,
        currency=get_settings().deposit_currency,
        success_url=base + "?card=saved",
        cancel_url=base + "?card=cancelled",
    )
    return checkout.url


def fetch_setup(setup_intent_id: str) -> dict[str, Any]:
    """Before the webhook's transaction: the SetupIntent and its PaymentMethod as
    Stripe has them now."""
    intent = stripe_gateway.retrieve_setup_intent(setup_intent_id)
    method_id = intent.get("payment_method")
    if isinstance(method_id, dict):
        method_id = method_id.get("id")
    method = stripe_gateway.retrieve_payment_method(str(method_id)) if method_id else None
    return {"setup_intent": intent, "payment_method": method}


def save_card(uow: UnitOfWork, *, setup_intent: dict[str, Any], payment_method: dict[str, Any] | None) -> str:
    """A succeeded SetupIntent: its card becomes the provider's saved card (found by
    the Stripe customer we created for it, never by the event's word alone); a card
    it replaces is detached at Stripe after the commit."""
    if setup_intent.get("status") != "succeeded" or not payment_method:
        return f"setup_{setup_intent.get('status')}"
    customer = setup_intent.get("customer") or payment_method.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    profile = uow.session.exec(
        select(BillingProfile).where(BillingProfile.stripe_customer_id == str(customer)).with_for_update()
    ).first()
    if profile is None:
        return "no_customer"
    uow.session.refresh(profile)
    if profile.card_payment_method_id == payment_method.get("id"):
        return "already_saved"
    card = payment_method.get("card") or {}
    before = audit.snapshot(profile)
    replaced, owner = profile.card_payment_method_id, profile.provider_id
    if replaced:  # the card saved before is detached once this one is stored
        uow.after_commit(lambda: _detach_quietly(replaced, owner))
    profile.card_payment_method_id = str(payment_method["id"])
    profile.card_brand = str(card.get("brand") or "card")[:32]
    profile.card_last4 = str(card.get("last4") or "")[:4] or None
    profile.card_exp_month = card.get("exp_month")
    profile.card_exp_year = card.get("exp_year")
    profile.card_saved_at = utcnow()
    _store(uow, profile, before=before, actor=SYSTEM, action="card_saved")
    return "card_saved"


def remove_card(*, actor: Actor) -> AutoRechargeRead:
    """Forget the saved card (auto-recharge goes off with it), then detach it at
    Stripe with no transaction open.  A detach that fails is logged: the platform no
    longer charges the card either way."""
    provider_id = _provider_id(actor)
    with unit_of_work() as uow:
        profile = _lock_profile(uow, provider_id)
        if profile is None or not profile.card_payment_method_id:
            raise NotFound("No card is saved.", details={"card": "none saved"})
        before = audit.snapshot(profile)
        method_id = profile.card_payment_method_id
        profile.card_payment_method_id = profile.card_brand = profile.card_last4 = None
        profile.card_exp_month = profile.card_exp_year = profile.card_saved_at = None
        profile.recharge_enabled = False
        _store(uow, profile, before=before, actor=actor, action="card_removed")
    _detach_quietly(method_id, provider_id)
    return get(actor=actor)


def _detach_quietly(method_id: str, provider_id: uuid.UUID) -> None:
    """Detach a card we no longer use, with no transaction open; a failure is logged
    (the platform never charges a forgotten card either way)."""
    try:
        stripe_gateway.detach_payment_method(method_id)
    except ProcessorUnavailable:
        log.warning("card %s of provider %s forgotten but not detached at Stripe", method_id, provider_id)


# --------------------------------------------------------------------------- the recharge itself


def intent_key(provider_id: uuid.UUID, seq: int) -> str:
    """The PaymentIntent's idempotency key: the provider and the recharge's number."""
    return f"recharge:{provider_id}:{seq}"


def ledger_key(payment_intent_id: str) -> str:
    return f"stripe:payment_intent:{payment_intent_id}"


def charge(*, recharge_id: uuid.UUID) -> str:
    """The ``payments.recharge`` job: charge the saved card off-session for a pending
    recharge (safe to run twice: the idempotency key gives back the same
    PaymentIntent), then apply the PaymentIntent as Stripe has it."""
    with unit_of_work() as uow:  # a plain read: nothing locked during the call below
        recharge = uow.session.get(Recharge, recharge_id)
        if recharge is None:
            return "no_recharge"
        if recharge.status not in RECHARGE_IN_FLIGHT:
            return f"already_{recharge.status}"
        profile = uow.session.get(BillingProfile, recharge.provider_id)
        provider_id, seq, amount, currency = recharge.provider_id, recharge.seq, recharge.amount, recharge.currency
        deposit_id, known_intent = recharge.deposit_id, recharge.payment_intent_id
        customer = profile.stripe_customer_id if profile else None
        method = profile.card_payment_method_id if profile else None
    if known_intent:
        return refresh(payment_intent_id=known_intent, source="recharge_job")
    if not customer or not method:
        with unit_of_work() as uow:
            return fail(uow, recharge_id=recharge_id, code="no_saved_card", message="no card is saved")
    answer = stripe_gateway.charge_off_session(
        idempotency_key=intent_key(provider_id, seq),
        customer_id=customer,
        payment_method_id=method,
        amount=amount,
        currency=currency,
        metadata={
            "recharge_id": str(recharge_id),
            "deposit_id": str(deposit_id),
            "provider_id": str(provider_id),
            "recharge_seq": str(seq),
        },
        description=f"Find Me A Hot Lead auto-recharge #{seq}",
    )
    intent = answer.payment_intent
    if answer.error_code is not None:
        with unit_of_work() as uow:
            if intent and intent.get("id"):
                _remember_intent(uow, recharge_id, str(intent["id"]))
            return fail(uow, recharge_id=recharge_id, code=answer.error_code, message=answer.message)
    if not intent or not intent.get("id"):
        raise ProcessorUnavailable("Stripe did not return a PaymentIntent.", details={"processor": "stripe"})
    with unit_of_work() as uow:
        _remember_intent(uow, recharge_id, str(intent["id"]))
    # Credited only from the PaymentIntent read back from Stripe (or its webhook).
    return refresh(payment_intent_id=str(intent["id"]), source="recharge_job")


def refresh(*, payment_intent_id: str, source: str) -> str:
    """Read the PaymentIntent from Stripe (no transaction open), then apply it."""
    intent = stripe_gateway.retrieve_payment_intent(payment_intent_id)
    with unit_of_work() as uow:
        return apply_payment_intent(uow, intent, source=source)


def _remember_intent(uow: UnitOfWork, recharge_id: uuid.UUID, payment_intent_id: str) -> None:
    recharge = _lock(uow, recharge_id)
    if recharge is None or recharge.payment_intent_id:
        return
    recharge.payment_intent_id = payment_intent_id
    if recharge.status == "pending":
        recharge.status = "processing"
    recharge.updated_at = utcnow()
    uow.session.add(recharge)
    if recharge.deposit_id is not None:
        deposits.note_payment_id(uow, deposit_id=recharge.deposit_id, payment_id=payment_intent_id)


def _lock(uow: UnitOfWork, recharge_id: uuid.UUID) -> Recharge | None:
    recharge = uow.session.exec(select(Recharge).where(Recharge.id == recharge_id).with_for_update()).first()
    if recharge is not None:
        uow.session.refresh(recharge)
    return recharge


def _find(uow: UnitOfWork, intent: dict[str, Any]) -> Recharge | None:
    ref = (intent.get("metadata") or {}).get("recharge_id")
    if ref:
        try:
            found = _lock(uow, uuid.UUID(str(ref)))
        except ValueError:
            found = None
        if found is not None and found.payment_intent_id in (None, intent.get("id")):
            return found
    if intent.get("id"):
        row = uow.session.exec(select(Recharge.id).where(Recharge.payment_intent_id == str(intent["id"]))).first()
        if row is not None:
            return _lock(uow, row)
    return None


def apply_payment_intent(uow: UnitOfWork, intent: dict[str, Any], *, source: str) -> str:
    """A recharge's PaymentIntent as read from Stripe: ``succeeded`` completes its
    deposit (ledger key ``stripe:payment_intent:<id>``, exactly once); a failed one
    (``requires_payment_method`` with a payment error, or ``canceled``) fails the
    recharge; anything else (``processing``…) waits.  ``no_recharge`` for a
    PaymentIntent that is not a recharge of ours (a Checkout deposit's, say)."""
    recharge = _find(uow, intent)
    if recharge is None:
        return "no_recharge"
    status = intent.get("status")
    if status == "succeeded":
        if recharge.status == "succeeded":
            return "already_completed"
        if recharge.payment_intent_id is None:
            _remember_intent(uow, recharge.id, str(intent["id"]))
        received = intent.get("amount_received") or intent.get("amount")
        amount = stripe_gateway.from_cents(received) if isinstance(received, int) and received > 0 else None
        if amount is None or recharge.deposit_id is None:
            raise InvalidInput("The PaymentIntent has no amount received.", details={"amount_received": "missing"})
        result = deposits.complete(
            uow,
            deposit_id=recharge.deposit_id,
            amount=amount,
            currency=intent.get("currency"),
            key=ledger_key(str(intent["id"])),
            reference=f"auto-recharge #{recharge.seq} {intent['id']}",
            payment_id=str(intent["id"]),
            source=source,
        )
        if result in ("completed", "already_completed"):
            recharge.status, recharge.completed_at, recharge.updated_at = "succeeded", utcnow(), utcnow()
            uow.session.add(recharge)
            outcome = "succeeded"
            uow.after_commit(lambda: metrics.RECHARGES.labels(outcome).inc())
        return result
    error = intent.get("last_payment_error") or {}
    if status == "canceled" or (status == "requires_payment_method" and error):
        return fail(
            uow,
            recharge_id=recharge.id,
            code=str(error.get("code") or status),
            message=error.get("message"),
        )
    return f"waiting:{status}"


def fail(uow: UnitOfWork, *, recharge_id: uuid.UUID, code: str, message: str | None) -> str:
    """The charge was refused (declined, authentication required, no card): the
    recharge and its deposit fail, auto-recharge goes off, the provider is emailed a
    link to pay on-session and admins are alerted — once per recharge."""
    recharge = _lock(uow, recharge_id)
    if recharge is None:
        return "no_recharge"
    if recharge.status not in RECHARGE_IN_FLIGHT:
        return f"already_{recharge.status}"
    recharge.status, recharge.failure_code, recharge.updated_at = "failed", code[:64], utcnow()
    uow.session.add(recharge)
    if recharge.deposit_id is not None:
        deposits.fail_pending(uow, deposit_id=recharge.deposit_id, reason=f"recharge:{code}")
    profile = _lock_profile(uow, recharge.provider_id)
    if profile is not None and profile.recharge_enabled:
        before = audit.snapshot(profile)
        profile.recharge_enabled, profile.recharge_off_reason = False, code[:64]
        _store(uow, profile, before=before, actor=SYSTEM, action="auto_recharge_turned_off", memo=message)
    outbox.add(uow, jobs.EMAIL_RECHARGE_FAILED, recharge_id=str(recharge.id))
    outbox.add(
        uow,
        jobs.EMAIL_ADMIN_ALERT,
        subject="Auto-recharge failed",
        provider_id=str(recharge.provider_id),
        recharge_id=str(recharge.id),
        reason=code,
        amount=money.format_money(recharge.amount),
    )

    def count() -> None:
        metrics.RECHARGES.labels("failed").inc()
        metrics.ADMIN_ALERTS.labels("recharge_failed").inc()

    uow.after_commit(count)
    log.warning("auto-recharge %s of provider %s failed: %s", recharge.id, recharge.provider_id, code)
    return f"failed:{code}"


# --------------------------------------------------------------------------- reconciliation


def open_intents(*, older_than: timedelta) -> list[tuple[uuid.UUID, str | None]]:
    """Recharges still in flight ``older_than`` after they started: (id, PaymentIntent id)."""
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(Recharge.id, Recharge.payment_intent_id)
            .where(col(Recharge.status).in_(RECHARGE_IN_FLIGHT), Recharge.created_at <= utcnow() - older_than)
            .order_by(col(Recharge.created_at))
        ).all()
    return [(r[0], r[1]) for r in rows]
