"""Processor webhooks: verify, store, process — each event applied exactly once.

1. Verify: Stripe's signature over the raw body with ``STRIPE_WEBHOOK_SECRET`` and a
   300 s tolerance; PayPal's transmission headers through the verifier (PayPal's
   verify-webhook-signature API).  A bad signature writes nothing.
2. Store: one ``webhook_events`` row per (processor, event id); another delivery
   only counts itself.
3. Fetch: the object is re-read from the processor (events come late, twice or out
   of order) — and an approved PayPal order captured — *before* any transaction is
   open: no processor call ever runs while a row is locked (a slow processor would
   hold the lock, and every delivery queued behind it, for its whole timeout).
4. Process: the row is locked, so concurrent deliveries wait and then see it done;
   the handler applies what was fetched and only moves deposits forward.
   Completion, the ledger entry and ``processed_at`` commit together.  A processor
   outage leaves the event unprocessed (the delivery gets 503 and the processor
   retries it).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from hotlead_app.db import UnitOfWork, referenced, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.infra import metrics
from hotlead_app.models import WebhookEvent
from hotlead_app.models._types import utcnow
from hotlead_app.services.payments import deposits, paypal_gateway, recharge, stripe_gateway
from hotlead_app.services.payments.errors import InvalidSignature, ProcessorUnavailable

log = logging.getLogger(__name__)

STRIPE_TYPES = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
    # Saved card and auto-recharge (services/payments/recharge.py).
    "setup_intent.succeeded",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)
PAYPAL_TYPES = (
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.REFUNDED",
    "CUSTOMER.DISPUTE.CREATED",
    "CUSTOMER.DISPUTE.RESOLVED",
)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    outcome: str  # processed | ignored | duplicate
    detail: str | None = None


Fetched = dict[str, Any]  # what the processor said, read before the transaction
Handler = Callable[[UnitOfWork, dict[str, Any], Fetched], tuple[str, str | None]]


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The webhook body is not JSON.", details={"body": "not JSON"}) from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event.get("id"):
        raise InvalidInput("The webhook event has no id.", details={"id": "missing"})
    return event


def _store(processor: str, event_id: str, event_type: str, payload: bytes) -> uuid.UUID:
    with unit_of_work() as uow:
        return uow.session.execute(
            text(
                "INSERT INTO webhook_events (id, processor, event_id, event_type, raw_body, deliveries, received_at) "
                "VALUES (:id, :processor, :event_id, :event_type, :raw, 1, now()) "
                "ON CONFLICT (processor, event_id) DO UPDATE SET deliveries = webhook_events.deliveries + 1 "
                "RETURNING id"
            ),
            {
                "id": uuid.uuid4(),
                "processor": processor,
                "event_id": event_id[:255],
                "event_type": event_type[:128],
                "raw": payload.decode("utf-8"),
            },
        ).scalar_one()


def process(row_id: uuid.UUID) -> Receipt:
    """Process one stored event, unless it was already (the row lock makes two
    concurrent calls take turns)."""
    with unit_of_work() as uow:  # a plain read: no lock, nothing written
        row = uow.session.get(WebhookEvent, row_id)
        assert row is not None, f"webhook event {row_id} was stored"
        processor, event_id, body = row.processor, row.event_id, row.raw_body
        done, done_outcome = row.processed_at is not None, row.outcome
    if done:
        metrics.WEBHOOK_EVENTS.labels(processor, "duplicate").inc()
        return Receipt(event_id, "duplicate", done_outcome)
    event = json.loads(body)
    try:
        fetched = _fetch_stripe(event) if processor == "stripe" else _fetch_paypal(event)
        with unit_of_work() as uow:
            row = uow.session.exec(select(WebhookEvent).where(WebhookEvent.id == row_id).with_for_update()).one()
            uow.session.refresh(row)
            if row.processed_at is not None:
                metrics.WEBHOOK_EVENTS.labels(processor, "duplicate").inc()
                return Receipt(event_id, "duplicate", row.outcome)
            handler = _handle_stripe if processor == "stripe" else _handle_paypal
            outcome, note = handler(uow, event, fetched)
            row.processed_at, row.outcome, row.error = utcnow(), outcome, note
            uow.session.add(row)
    except ProcessorUnavailable as exc:
        _mark_error(row_id, f"processor unavailable: {exc.message} {exc.details}")
        raise
    except DomainError as exc:  # the event's own data cannot be applied: keep it, say why
        _mark_error(row_id, f"{exc.code}: {exc.message} {exc.details}", processed=True)
        return Receipt(event_id, "error", exc.message)
    metrics.WEBHOOK_EVENTS.labels(processor, outcome).inc()
    return Receipt(event_id, outcome, note)


def _mark_error(row_id: uuid.UUID, message: str, *, processed: bool = False) -> None:
    log.warning("webhook event %s: %s", row_id, message)
    with unit_of_work() as uow:
        row = referenced(uow.session, WebhookEvent, row_id)
        row.outcome, row.error = "error", message[:2000]
        if processed:
            row.processed_at = utcnow()
        uow.session.add(row)
        processor = row.processor
    metrics.WEBHOOK_EVENTS.labels(processor, "error").inc()


def retry_unprocessed(*, limit: int = 100) -> int:
    """Process again events stored but never processed (a crash, a processor outage)."""
    with unit_of_work() as uow:
        ids = list(
            uow.session.exec(
                select(WebhookEvent.id)
                .where(col(WebhookEvent.processed_at).is_(None))
                .order_by(col(WebhookEvent.received_at))
                .limit(limit)
            )
        )
    done = 0
    for row_id in ids:
        try:
            process(row_id)
            done += 1
        except Exception:
            log.exception("webhook event %s still cannot be processed", row_id)
    return done


# --------------------------------------------------------------------------- Stripe


def receive_stripe(*, payload: bytes, signature: str | None) -> Receipt:
    try:
        stripe_gateway.verify_and_parse(payload, signature)
    except InvalidSignature:
        metrics.WEBHOOK_EVENTS.labels("stripe", "invalid_signature").inc()
        raise
    event = _parse(payload)
    return process(_store("stripe", event["id"], str(event.get("type") or ""), payload))


def _object(event: dict[str, Any]) -> dict[str, Any]:
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict) or not obj.get("id"):
        raise InvalidInput("The event carries no object.", details={"data.object": "missing"})
    return obj


def _fetch_stripe(event: dict[str, Any]) -> Fetched:
    """The event's object as Stripe has it now (the event may be stale or out of
    order), read before the transaction opens; the event's own copy when Stripe is
    not configured.  Raises ProcessorUnavailable."""
    kind = event.get("type")
    if kind not in STRIPE_TYPES:
        return {}
    obj = _object(event)
    live = stripe_gateway.is_configured()
    if kind.startswith("checkout.session."):
        session = stripe_gateway.retrieve_session(obj["id"]) if live else obj
        if session.get("mode") == "setup" and kind == "checkout.session.completed":
            setup_intent = session.get("setup_intent")
            if isinstance(setup_intent, dict):
                setup_intent = setup_intent.get("id")
            return {"session": session, **(recharge.fetch_setup(str(setup_intent)) if live and setup_intent else {})}
        return {"session": session}
    if kind == "setup_intent.succeeded":
        return recharge.fetch_setup(obj["id"]) if live else {}
    if kind.startswith("payment_intent."):
        return {"payment_intent": stripe_gateway.retrieve_payment_intent(obj["id"]) if live else obj}
    if kind == "charge.refunded":
        return {
            "refunds": stripe_gateway.list_refunds(charge_id=obj["id"])
            if live
            else ((obj.get("refunds") or {}).get("data") or [])
        }
    return {"dispute": stripe_gateway.retrieve_dispute(obj["id"]) if live else obj}


def _cents(value: Any, field: str) -> Decimal:
    amount = stripe_gateway.from_cents(value) if isinstance(value, int) and value > 0 else None
    if amount is None:
        raise InvalidInput("The event has no positive amount.", details={field: "missing"})
    return amount


def _handle_stripe(uow: UnitOfWork, event: dict[str, Any], fetched: Fetched) -> tuple[str, str | None]:
    kind = event.get("type")
    if kind not in STRIPE_TYPES:
        return "ignored", f"event type {kind} is not used"
    obj = _object(event)
    if kind == "checkout.session.completed" and fetched["session"].get("mode") == "setup":
        if "setup_intent" not in fetched:
            return "ignored", "a setup session is applied only as read from Stripe"
        result = recharge.save_card(uow, setup_intent=fetched["setup_intent"], payment_method=fetched["payment_method"])
    elif kind == "setup_intent.succeeded":
        if "setup_intent" not in fetched:
            return "ignored", "a SetupIntent is applied only as read from Stripe"
        result = recharge.save_card(uow, setup_intent=fetched["setup_intent"], payment_method=fetched["payment_method"])
    elif kind.startswith("payment_intent."):
        result = recharge.apply_payment_intent(uow, fetched["payment_intent"], source=f"stripe:{kind}")
        if result == "no_recharge":
            return "ignored", "not a recharge of ours (a Checkout deposit's PaymentIntent is applied from its session)"
    elif kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        result = deposits.apply_stripe_session(uow, fetched["session"], source=f"stripe:{kind}")
    elif kind == "checkout.session.async_payment_failed":
        result = deposits.close_stripe_session(uow, fetched["session"], status="failed")
    elif kind == "checkout.session.expired":
        result = deposits.close_stripe_session(uow, fetched["session"], status="expired")
    elif kind == "charge.refunded":
        refunds = fetched["refunds"]
        results = [
            deposits.reverse(
                method="stripe",
                kind="refund",
                key=f"stripe:refund:{r['id']}",
                amount=_cents(r.get("amount"), "refund.amount"),
                deposit_ref=(obj.get("metadata") or {}).get("deposit_id"),
                payment_id=obj.get("payment_intent"),
                reference=r["id"],
            )
            for r in refunds
            if r.get("status") == "succeeded"
        ]
        result = ",".join(results) or "no_succeeded_refund"
    else:  # charge.dispute.*
        result = _stripe_dispute(uow, kind, fetched["dispute"])
    if result in ("no_deposit", "no_customer"):
        return "ignored", "no deposit or customer of ours matches this event"
    return "processed", result


def stripe_dispute_key(kind: str, dispute_id: str) -> str:
    """The ledger key of what a dispute event moves: one per event kind."""
    return f"stripe:dispute.{kind}:{dispute_id}"


def _stripe_dispute(uow: UnitOfWork, kind: str, dispute: dict[str, Any]) -> str:
    """Money moves when Stripe moves it, not when a dispute opens or closes.

    ``funds_withdrawn`` debits the disputed amount (an inquiry, or a dispute Stripe
    has not yet charged back, withdraws nothing and posts nothing); ``funds_reinstated``
    credits back only what that debit took, nothing when no debit was posted (as for
    PayPal).  ``created`` and ``closed`` only say so.  A withdrawal seen after its
    reinstatement (a retried delivery) posts nothing: the money came back already.
    Debits posted by earlier releases on ``charge.dispute.created`` (key
    ``stripe:dispute:<id>``) and credits on ``closed`` (``stripe:dispute:<id>:won``)
    count as this dispute's."""
    dispute_id = str(dispute["id"])
    legacy_debit, legacy_credit = f"stripe:dispute:{dispute_id}", f"stripe:dispute:{dispute_id}:won"
    event = kind.rsplit(".", 1)[-1]
    if event == "funds_withdrawn":
        return deposits.reverse(
            method="stripe",
            kind="dispute",
            key=stripe_dispute_key(event, dispute_id),
            amount=_cents(dispute.get("amount"), "dispute.amount"),
            deposit_ref=(dispute.get("metadata") or {}).get("deposit_id"),
            payment_id=dispute.get("payment_intent"),
            reference=dispute_id,
            unless=lambda work: _stripe_dispute_settled(work, dispute_id, legacy_debit),
        )
    if event == "funds_reinstated":
        if _ledger_key_exists(uow, legacy_credit):
            return "already_restored"
        return deposits.restore_after_dispute(
            method="stripe",
            key=stripe_dispute_key(event, dispute_id),
            amount=_cents(dispute.get("amount"), "dispute.amount"),
            payment_id=dispute.get("payment_intent"),
            reference=dispute_id,
            reversal_key=(stripe_dispute_key("funds_withdrawn", dispute_id), legacy_debit),
            uow=uow,
        )
    return f"dispute_{event}:{dispute.get('status')}"


def _ledger_key_exists(uow: UnitOfWork, key: str) -> bool:
    return (
        uow.session.execute(text("SELECT 1 FROM ledger_entries WHERE idempotency_key = :key"), {"key": key}).first()
        is not None
    )


def _stripe_dispute_settled(uow: UnitOfWork, dispute_id: str, legacy_debit: str) -> str | None:
    """Why a ``funds_withdrawn`` must post nothing: the dispute was debited by an
    earlier release, or its funds were reinstated already (processed before it)."""
    if _ledger_key_exists(uow, legacy_debit):
        return "already_reversed"
    bodies = uow.session.execute(
        text(
            "SELECT raw_body FROM webhook_events WHERE processor = 'stripe' "
            "AND event_type = 'charge.dispute.funds_reinstated' AND outcome = 'processed' "
            "AND processed_at IS NOT NULL AND strpos(raw_body, :dispute_id) > 0"
        ),
        {"dispute_id": dispute_id},
    ).scalars()
    for body in bodies:
        if str(((json.loads(body).get("data") or {}).get("object") or {}).get("id")) == dispute_id:
            return "already_reinstated"
    return None


# --------------------------------------------------------------------------- PayPal


def receive_paypal(*, payload: bytes, headers: Mapping[str, str]) -> Receipt:
    if not paypal_gateway.verify_webhook(headers, payload):
        metrics.WEBHOOK_EVENTS.labels("paypal", "invalid_signature").inc()
        raise InvalidSignature("The PayPal webhook could not be verified.")
    event = _parse(payload)
    return process(_store("paypal", event["id"], str(event.get("event_type") or ""), payload))


def _paypal_amount(value: Any, field: str) -> Decimal:
    if not isinstance(value, dict) or value.get("value") is None:
        raise InvalidInput("The event has no amount.", details={field: "missing"})
    return money.to_amount(str(value["value"]), field=field)


def _up_capture(resource: dict[str, Any]) -> str | None:
    for link in resource.get("links") or []:
        if link.get("rel") == "up" and "/captures/" in (link.get("href") or ""):
            return link["href"].rstrip("/").rsplit("/", 1)[-1]
    return None


def _fetch_paypal(event: dict[str, Any]) -> Fetched:
    """Before the transaction: the capture as PayPal has it now, or, for an approved
    order whose deposit is still open, the capture itself (idempotent by its
    ``PayPal-Request-Id``; a 422 — not capturable — is kept as the outcome).  The
    deposit is looked up in a short read-only transaction; the handler locks and
    re-checks it.  Raises ProcessorUnavailable."""
    kind = event.get("event_type")
    resource = event.get("resource")
    if kind not in PAYPAL_TYPES or not isinstance(resource, dict):
        return {}
    if kind == "PAYMENT.CAPTURE.COMPLETED" and resource.get("id") and paypal_gateway.is_configured():
        return {"capture": paypal_gateway.get_capture(resource["id"])}
    if kind == "CHECKOUT.ORDER.APPROVED" and resource.get("id"):
        order_id = resource["id"]
        units = resource.get("purchase_units") or [{}]
        custom_id = units[0].get("custom_id") if isinstance(units[0], dict) else None
        with unit_of_work() as uow:
            deposit = deposits.find(uow, method="paypal", deposit_ref=custom_id, checkout_id=order_id)
            found = None if deposit is None else (deposit.id, deposit.checkout_id, deposit.status)
        if found is None or found[1] not in (None, order_id) or found[2] == "completed":
            return {}
        try:
            return {"captures": paypal_gateway.capture_order(order_id=order_id, deposit_id=found[0])}
        except paypal_gateway.ProcessorRefused as exc:
            if exc.status != 422:
                raise
            return {"not_captured": exc.details.get("issue")}
    return {}


def _handle_paypal(uow: UnitOfWork, event: dict[str, Any], fetched: Fetched) -> tuple[str, str | None]:
    kind = event.get("event_type")
    if kind not in PAYPAL_TYPES:
        return "ignored", f"event type {kind} is not used"
    resource = event.get("resource")
    if not isinstance(resource, dict):
        raise InvalidInput("The event carries no resource.", details={"resource": "missing"})
    if kind == "CHECKOUT.ORDER.APPROVED":
        result = _order_approved(uow, resource, fetched, source=f"paypal:{kind}")
    elif kind == "PAYMENT.CAPTURE.COMPLETED":
        if not resource.get("id"):
            raise InvalidInput("The capture has no id.", details={"resource.id": "missing"})
        related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
        if "capture" in fetched:
            capture = fetched["capture"]  # the capture as PayPal has it now
        else:
            capture = paypal_gateway.Capture(
                capture_id=resource["id"],
                status=resource.get("status", ""),
                amount=_paypal_amount(resource.get("amount"), "resource.amount"),
                currency=(resource.get("amount") or {}).get("currency_code"),
                custom_id=None,
                order_id=None,
            )
        capture = paypal_gateway.Capture(
            capture_id=capture.capture_id,
            status=capture.status,
            amount=capture.amount,
            currency=capture.currency,
            custom_id=capture.custom_id or resource.get("custom_id"),
            order_id=capture.order_id or related.get("order_id"),
        )
        result = deposits.apply_paypal_capture(uow, capture, source=f"paypal:{kind}")
    elif kind == "PAYMENT.CAPTURE.REFUNDED":
        if resource.get("status") not in (None, "COMPLETED"):
            return "processed", f"refund {resource.get('status')}"
        result = deposits.reverse(
            method="paypal",
            kind="refund",
            key=f"paypal:refund:{resource.get('id')}",
            amount=_paypal_amount(resource.get("amount"), "resource.amount"),
            deposit_ref=resource.get("custom_id"),
            payment_id=_up_capture(resource),
            reference=str(resource.get("id")),
        )
    elif kind == "CUSTOMER.DISPUTE.CREATED":
        dispute_id = resource.get("dispute_id") or resource.get("id")
        transactions = resource.get("disputed_transactions") or [{}]
        capture_id = transactions[0].get("seller_transaction_id")
        result = deposits.reverse(
            method="paypal",
            kind="dispute",
            key=f"paypal:dispute:{dispute_id}",
            amount=_paypal_amount(resource.get("dispute_amount"), "resource.dispute_amount"),
            deposit_ref=transactions[0].get("custom"),
            payment_id=capture_id,
            reference=str(dispute_id),
            unless=lambda work: _dispute_won_already(work, str(dispute_id)),
        )
    else:  # CUSTOMER.DISPUTE.RESOLVED
        result = _dispute_resolved(uow, resource)
    if result == "no_deposit":
        return "ignored", "no deposit of ours matches this event"
    return "processed", result


def _order_approved(uow: UnitOfWork, resource: dict[str, Any], fetched: Fetched, *, source: str) -> str:
    """The buyer approved an order: it was captured before this transaction
    (``_fetch_paypal``), whether or not the provider comes back to our return page;
    here the deposit is locked and completed (the capture and the completion are
    idempotent, so the return, ``PAYMENT.CAPTURE.COMPLETED`` and reconciliation change
    nothing after it)."""
    order_id = resource.get("id")
    if not order_id:
        raise InvalidInput("The order has no id.", details={"resource.id": "missing"})
    units = resource.get("purchase_units") or [{}]
    custom_id = units[0].get("custom_id") if isinstance(units[0], dict) else None
    deposit = deposits.find(uow, method="paypal", deposit_ref=custom_id, checkout_id=order_id)
    if deposit is None or deposit.checkout_id not in (None, order_id):
        return "no_deposit"
    if "not_captured" in fetched:
        # Not capturable (declined, not approved after all): nothing was paid, and
        # retrying the event would not change that.
        return f"not_captured:{fetched['not_captured']}"
    if "captures" not in fetched:  # completed already when the event was fetched
        return "already_completed"
    result, _ = deposits.apply_completed_capture(uow, fetched["captures"], source=source)
    return result


def _dispute_won_already(uow: UnitOfWork, dispute_id: str) -> str | None:
    """``already_won`` when this dispute's resolution for us was processed before its
    ``CUSTOMER.DISPUTE.CREATED`` (a retried delivery): debiting now would take money
    for a dispute we won, and nothing would ever give it back."""
    bodies = uow.session.execute(
        text(
            "SELECT raw_body FROM webhook_events WHERE processor = 'paypal' "
            "AND event_type = 'CUSTOMER.DISPUTE.RESOLVED' AND outcome = 'processed' "
            "AND processed_at IS NOT NULL AND strpos(raw_body, :dispute_id) > 0"
        ),
        {"dispute_id": dispute_id},
    ).scalars()
    for body in bodies:
        resource = json.loads(body).get("resource") or {}
        if (
            str(resource.get("dispute_id") or resource.get("id")) == dispute_id
            and (resource.get("dispute_outcome") or {}).get("outcome_code") == "RESOLVED_SELLER_FAVOUR"
        ):
            return "already_won"
    return None


def _dispute_resolved(uow: UnitOfWork, resource: dict[str, Any]) -> str:
    """A dispute closed.  Decided for us: what its ``CUSTOMER.DISPUTE.CREATED`` debit
    took is credited back (key ``paypal:dispute_won:<dispute id>``), never more, and
    nothing when no debit was posted (the provider never lost that money).  Any other
    outcome: nothing to post (the debit, if any, stands).  Decided in the event's
    transaction with the deposit locked, so a ``CUSTOMER.DISPUTE.CREATED`` processed
    after it sees it (``_dispute_won_already``)."""
    dispute_id = resource.get("dispute_id") or resource.get("id")
    if not dispute_id:
        raise InvalidInput("The dispute has no id.", details={"resource.dispute_id": "missing"})
    outcome = (resource.get("dispute_outcome") or {}).get("outcome_code")
    if outcome != "RESOLVED_SELLER_FAVOUR":
        return f"dispute_{str(outcome).lower()}"
    transactions = resource.get("disputed_transactions") or [{}]
    return deposits.restore_after_dispute(
        method="paypal",
        key=f"paypal:dispute_won:{dispute_id}",
        amount=_paypal_amount(resource.get("dispute_amount"), "resource.dispute_amount"),
        payment_id=transactions[0].get("seller_transaction_id"),
        reference=str(dispute_id),
        reversal_key=f"paypal:dispute:{dispute_id}",
        uow=uow,
    )
