"""Deposits: from the provider's request to one ``deposit`` ledger entry.

A deposit is written ``pending``, then the provider is sent to the processor.  It is
completed only from a verified payment (webhook, PayPal capture, or reconciliation
reading the processor's API; an approved PayPal order is captured by
:func:`capture_paypal_order` on the provider's return, on ``CHECKOUT.ORDER.APPROVED``
or by reconciliation, whichever comes first), always through :func:`complete`: one
transaction that locks the deposit, posts the ledger entry (key
``stripe:checkout:<session id>`` / ``paypal:capture:<capture id>``) through
``services.ledger`` — which runs the balance rules (resume auto-paused subscriptions,
``auto_deactivated`` → ``active``), queues the receipt email and re-triggers the
distribution of waiting leads — and audits it.  Deposits only move forward (the
database refuses a completed deposit going back).

Reversals (refunds, disputes) go through ``ledger.reverse_deposit``: the debit is
posted even below zero, the provider set ``inactive`` (``payment_reversed``), admins
alerted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import col, select

from hotlead_app.db import UnitOfWork, referenced, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.infra import metrics
from hotlead_app.models import Deposit, LedgerEntry, ServiceProvider
from hotlead_app.models._types import utcnow
from hotlead_app.models.payment import DEPOSIT_METHODS
from hotlead_app.services import audit, ledger
from hotlead_app.services.payments import issues, paypal_gateway, stripe_gateway
from hotlead_app.services.payments.errors import ProcessorUnavailable
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

RETURN_PATH = "/provider/funds/return"


@dataclass(frozen=True)
class DepositRead:
    id: uuid.UUID
    provider_id: uuid.UUID
    method: str
    amount: Decimal
    currency: str
    status: str
    redirect_url: str | None
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    balance: Decimal  # the provider's balance when this was read


def _read(deposit: Deposit, balance: Decimal) -> DepositRead:
    return DepositRead(
        deposit.id,
        deposit.provider_id,
        deposit.method,
        deposit.amount,
        deposit.currency,
        deposit.status,
        deposit.redirect_url,
        deposit.failure_reason,
        deposit.created_at,
        deposit.completed_at,
        balance,
    )


def limits() -> tuple[Decimal, Decimal]:
    settings = get_settings()
    return money.to_amount(settings.deposit_min_amount), money.to_amount(settings.deposit_max_amount)


def check_request(*, method: object, amount: object) -> tuple[str, Decimal]:
    """The method and the amount, or ``InvalidInput`` naming each bad field."""
    errors: dict[str, str] = {}
    value: Decimal | None = None
    if method not in DEPOSIT_METHODS:
        errors["method"] = "choose stripe or paypal"
    try:
        value = money.to_amount(amount)
    except InvalidInput as exc:
        errors["amount"] = exc.details.get("amount", "must be a number like 25.00")
    if value is not None:
        low, high = limits()
        if value < low or value > high:
            currency = get_settings().currency
            errors["amount"] = (
                f"must be between {money.show_money(low, currency)} and {money.show_money(high, currency)}"
            )
    if errors:
        raise InvalidInput(
            "This deposit cannot be made: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".", details=errors
        )
    return str(method), value  # type: ignore[return-value]


def _return_url(deposit_id: uuid.UUID, result: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}{RETURN_PATH}?" + urlencode(
        {"deposit": str(deposit_id), "result": result}
    )


def create(*, actor: Actor, method: object, amount: object) -> DepositRead:
    """A pending deposit and the processor page to pay it on (``redirect_url``)."""
    if actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only providers add funds.")
    method, value = check_request(method=method, amount=amount)
    currency = get_settings().deposit_currency.upper()
    if method == "stripe" and not stripe_gateway.is_configured():
        raise ProcessorUnavailable(
            "Card payments (Stripe) are not configured on this platform.", details={"method": "not available"}
        )
    if method == "paypal" and not paypal_gateway.is_configured():
        raise ProcessorUnavailable("PayPal is not configured on this platform.", details={"method": "not available"})
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, actor.provider_id)
        if provider is None:
            raise NotFound("No such provider.")
        deposit = Deposit(provider_id=provider.id, method=method, amount=value, currency=currency)
        uow.session.add(deposit)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="deposit",
            entity_id=deposit.id,
            action="deposit_created",
            before=None,
            after=audit.snapshot(deposit),
        )
        deposit_id, provider_email = deposit.id, provider.email
    try:
        if method == "stripe":
            checkout = stripe_gateway.create_checkout(
                deposit_id=deposit_id,
                provider_id=actor.provider_id,
                amount=value,
                currency=currency,
                success_url=_return_url(deposit_id, "success") + "&session_id={CHECKOUT_SESSION_ID}",
                cancel_url=_return_url(deposit_id, "cancel"),
                customer_email=provider_email,
            )
            checkout_id, url = checkout.session_id, checkout.url
        else:
            order = paypal_gateway.create_order(
                deposit_id=deposit_id,
                amount=value,
                currency=currency,
                return_url=_return_url(deposit_id, "success"),
                cancel_url=_return_url(deposit_id, "cancel"),
            )
            checkout_id, url = order.order_id, order.approve_url
    except ProcessorUnavailable as exc:
        _set_status(deposit_id, "failed", reason="processor_unavailable", only_from=("pending",))
        raise exc
    with unit_of_work() as uow:
        deposit = _lock(uow, deposit_id)
        deposit.checkout_id, deposit.redirect_url, deposit.updated_at = checkout_id, url, utcnow()
        uow.session.add(deposit)
        balance = referenced(uow.session, ServiceProvider, deposit.provider_id).balance
        return _read(deposit, balance)


def _lock(uow: UnitOfWork, deposit_id: uuid.UUID) -> Deposit:
    deposit = uow.session.exec(select(Deposit).where(Deposit.id == deposit_id).with_for_update()).first()
    if deposit is None:
        raise NotFound("No such deposit.", details={"deposit_id": str(deposit_id)})
    uow.session.refresh(deposit)
    return deposit


def _visible(actor: Actor, deposit: Deposit | None, deposit_id: uuid.UUID) -> Deposit:
    if deposit is None or (not actor.is_admin and deposit.provider_id != actor.provider_id):
        raise NotFound("No such deposit.", details={"deposit_id": str(deposit_id)})
    return deposit


def get(*, actor: Actor, deposit_id: uuid.UUID) -> DepositRead:
    """A provider sees its own deposits only (another's is 404); admins see all."""
    with unit_of_work() as uow:
        deposit = _visible(actor, uow.session.get(Deposit, deposit_id), deposit_id)
        return _read(deposit, referenced(uow.session, ServiceProvider, deposit.provider_id).balance)


def list_for_provider(*, actor: Actor, limit: int = 20) -> list[DepositRead]:
    if actor.provider_id is None:
        raise Forbidden("Only providers have deposits.")
    with unit_of_work() as uow:
        balance = referenced(uow.session, ServiceProvider, actor.provider_id).balance
        rows = uow.session.exec(
            select(Deposit)
            .where(Deposit.provider_id == actor.provider_id)
            .order_by(col(Deposit.created_at).desc(), col(Deposit.id).desc())
            .limit(limit)
        ).all()
        return [_read(d, balance) for d in rows]


def _set_status(
    deposit_id: uuid.UUID, status: str, *, reason: str | None, only_from: tuple[str, ...], uow: UnitOfWork | None = None
) -> bool:
    def apply(work: UnitOfWork) -> bool:
        deposit = _lock(work, deposit_id)
        if deposit.status not in only_from:
            return False
        before = audit.snapshot(deposit)
        deposit.status, deposit.failure_reason, deposit.updated_at = status, reason, utcnow()
        work.session.add(deposit)
        work.session.flush()
        audit.record(
            work,
            actor=SYSTEM,
            entity_type="deposit",
            entity_id=deposit.id,
            action=f"deposit_{status}",
            before=before,
            after=audit.snapshot(deposit),
            memo=reason,
        )
        return True

    if uow is not None:
        return apply(uow)
    with unit_of_work() as own:
        return apply(own)


def cancel(*, actor: Actor, deposit_id: uuid.UUID) -> DepositRead:
    """The provider came back from the processor with "cancel": a pending deposit is
    marked failed (a payment that still arrives later completes it anyway)."""
    get(actor=actor, deposit_id=deposit_id)
    _set_status(deposit_id, "failed", reason="cancelled_by_provider", only_from=("pending",))
    return get(actor=actor, deposit_id=deposit_id)


def fail_pending(uow: UnitOfWork, *, deposit_id: uuid.UUID, reason: str) -> bool:
    """A pending deposit whose payment was refused (an auto-recharge's declined
    charge) is marked failed, audited, in the caller's transaction."""
    return _set_status(deposit_id, "failed", reason=reason[:255], only_from=("pending",), uow=uow)


def note_payment_id(uow: UnitOfWork, *, deposit_id: uuid.UUID, payment_id: str) -> None:
    """Remember the processor's payment (a PaymentIntent) of a deposit not yet paid:
    refunds and disputes of that payment find the deposit by it."""
    deposit = _lock(uow, deposit_id)
    if deposit.payment_id is None:
        deposit.payment_id, deposit.updated_at = payment_id, utcnow()
        uow.session.add(deposit)


def find(
    uow: UnitOfWork,
    *,
    method: str,
    deposit_ref: object = None,
    checkout_id: str | None = None,
    payment_id: str | None = None,
) -> Deposit | None:
    """The deposit a processor object names: by our id (client_reference_id /
    custom_id), else by the processor's checkout or payment id."""
    if deposit_ref:
        try:
            found = uow.session.get(Deposit, uuid.UUID(str(deposit_ref)))
        except ValueError:
            found = None
        if found is not None and found.method == method:
            return found
    for column, value in ((Deposit.checkout_id, checkout_id), (Deposit.payment_id, payment_id)):
        if value:
            found = uow.session.exec(select(Deposit).where(Deposit.method == method, column == value)).first()
            if found is not None:
                return found
    return None


def complete(
    uow: UnitOfWork,
    *,
    deposit_id: uuid.UUID,
    amount: Decimal,
    currency: str | None,
    key: str,
    reference: str,
    payment_id: str | None,
    source: str,
    checkout_id: str | None = None,
) -> str:
    """Complete a deposit from a verified payment, in the caller's transaction.

    ``completed`` (posted now), ``already_completed``, or ``amount_mismatch`` (the
    payment differs from the deposit: nothing posted, an issue recorded)."""
    deposit = _lock(uow, deposit_id)
    if deposit.status == "completed":
        return "already_completed"
    if deposit.checkout_id is None and checkout_id:
        deposit.checkout_id = checkout_id
    if amount != deposit.amount or (currency and currency.upper() != deposit.currency.upper()):
        issues.record_issue(
            uow,
            kind="amount_mismatch",
            processor=deposit.method,
            reference=reference,
            deposit_id=deposit.id,
            expected=deposit.amount,
            actual=amount,
            details=f"paid {money.format_money(amount)} {currency or ''} for a deposit of "
            f"{money.format_money(deposit.amount)} {deposit.currency} (seen by {source})",
        )
        return "amount_mismatch"
    posted = ledger.post(
        provider_id=deposit.provider_id,
        type=LedgerEntryType.DEPOSIT,
        amount=amount,
        key=key,
        related_type="deposit",
        related_id=deposit.id,
        memo=f"{deposit.method} {reference}",
        uow=uow,
    )
    before = audit.snapshot(deposit)
    deposit.status, deposit.completed_at, deposit.updated_at = "completed", utcnow(), utcnow()
    deposit.ledger_entry_id, deposit.payment_id = posted.entry.id, payment_id or deposit.payment_id
    deposit.failure_reason = None
    uow.session.add(deposit)
    uow.session.flush()
    audit.record(
        uow,
        actor=SYSTEM,
        entity_type="deposit",
        entity_id=deposit.id,
        action="deposit_completed",
        before=before,
        after={
            **(audit.snapshot(deposit) or {}),
            "source": source,
            "balance_after": money.format_money(posted.entry.balance_after),
        },
    )
    method, value = deposit.method, amount
    uow.after_commit(lambda: metrics.DEPOSITS_AMOUNT.labels(method).inc(metrics.amount(value)))
    return "completed"


# --------------------------------------------------------------------------- Stripe


def apply_stripe_session(uow: UnitOfWork, session: dict, *, source: str) -> str:
    """A Checkout Session as Stripe reports it now: complete its deposit if paid."""
    deposit = find(
        uow,
        method="stripe",
        deposit_ref=session.get("client_reference_id") or (session.get("metadata") or {}).get("deposit_id"),
        checkout_id=session.get("id"),
    )
    if deposit is None:
        return "no_deposit"
    if session.get("payment_status") not in ("paid", "no_payment_required") or session.get("status") != "complete":
        return "not_paid"
    amount = stripe_gateway.from_cents(session.get("amount_total"))
    if amount is None:
        return "not_paid"
    return complete(
        uow,
        deposit_id=deposit.id,
        amount=amount,
        currency=session.get("currency"),
        key=f"stripe:checkout:{session['id']}",
        reference=session["id"],
        payment_id=session.get("payment_intent"),
        source=source,
        checkout_id=session["id"],
    )


def close_stripe_session(uow: UnitOfWork, session: dict, *, status: str) -> str:
    """``async_payment_failed`` / ``expired``: a pending deposit fails or expires;
    a deposit already completed is left alone (events only move deposits forward)."""
    deposit = find(uow, method="stripe", deposit_ref=session.get("client_reference_id"), checkout_id=session.get("id"))
    if deposit is None:
        return "no_deposit"
    if session.get("payment_status") == "paid":
        return apply_stripe_session(uow, session, source="stripe_reread")
    changed = _set_status(
        deposit.id,
        status,
        reason=f"stripe:{session.get('status')}",
        only_from=("pending", "failed") if status == "expired" else ("pending",),
        uow=uow,
    )
    return status if changed else "unchanged"


# --------------------------------------------------------------------------- PayPal


def apply_paypal_capture(uow: UnitOfWork, capture: paypal_gateway.Capture, *, source: str) -> str:
    deposit = find(
        uow, method="paypal", deposit_ref=capture.custom_id, checkout_id=capture.order_id, payment_id=capture.capture_id
    )
    if deposit is None:
        return "no_deposit"
    if capture.status != "COMPLETED" or capture.amount is None:
        return "not_paid"
    return complete(
        uow,
        deposit_id=deposit.id,
        amount=capture.amount,
        currency=capture.currency,
        key=f"paypal:capture:{capture.capture_id}",
        reference=capture.capture_id,
        payment_id=capture.capture_id,
        source=source,
        checkout_id=capture.order_id,
    )


def apply_completed_capture(
    uow: UnitOfWork, captures: list[paypal_gateway.Capture], *, source: str
) -> tuple[str, str | None]:
    """The first COMPLETED capture of an order applied (``apply_paypal_capture``);
    ``("not_paid", None)`` when the order holds none.  Returns (result, capture id)."""
    for capture in captures:
        if capture.status == "COMPLETED":
            return apply_paypal_capture(uow, capture, source=source), capture.capture_id
    return "not_paid", None


def capture_paypal_order(
    uow: UnitOfWork | None, *, deposit_id: uuid.UUID, order_id: str, source: str
) -> tuple[str, str | None]:
    """Capture an approved order and complete its deposit on a COMPLETED capture.

    The one path for the provider's return, ``CHECKOUT.ORDER.APPROVED`` and
    reconciliation: the capture is idempotent (``PayPal-Request-Id``
    ``deposit-<id>-capture``; an order captured already is read back) and so is the
    completion (ledger key ``paypal:capture:<capture id>``), so any number of them,
    in any order or at once, post one entry.  In ``uow`` when given (the webhook's),
    else in a transaction of its own.  ``ProcessorRefused`` (422: not approved,
    declined) is the caller's to translate."""
    captures = paypal_gateway.capture_order(order_id=order_id, deposit_id=deposit_id)
    if uow is not None:
        return apply_completed_capture(uow, captures, source=source)
    with unit_of_work() as own:
        return apply_completed_capture(own, captures, source=source)


def capture_paypal(*, actor: Actor, deposit_id: uuid.UUID) -> DepositRead:
    """The provider is back from PayPal having approved: capture the order (idempotent)
    and complete the deposit on a completed capture."""
    with unit_of_work() as uow:
        deposit = _visible(actor, uow.session.get(Deposit, deposit_id), deposit_id)
        method, status, order_id = deposit.method, deposit.status, deposit.checkout_id
    if method != "paypal":
        raise InvalidInput("Only a PayPal deposit is captured on return.", details={"deposit_id": "not PayPal"})
    if status != "completed" and order_id:
        try:
            capture_paypal_order(None, deposit_id=deposit_id, order_id=order_id, source="paypal_return")
        except paypal_gateway.ProcessorRefused as exc:
            if exc.status == 422:  # not approved (yet), or declined: nothing was paid
                raise Conflict(
                    "PayPal has not approved this payment; nothing was charged.",
                    details={"paypal": exc.details.get("issue")},
                ) from None
            raise
    return get(actor=actor, deposit_id=deposit_id)


# --------------------------------------------------------------------------- reversals


def reverse(
    *,
    method: str,
    kind: str,
    key: str,
    amount: Decimal,
    deposit_ref: object = None,
    checkout_id: str | None = None,
    payment_id: str | None = None,
    reference: str,
    unless: Callable[[UnitOfWork], str | None] | None = None,
) -> str:
    """A processor took money back (``kind``: refund or dispute): debit it, even below
    zero; the ledger sets the provider inactive (``payment_reversed``) and alerts admins
    when the balance goes negative.  ``unless`` is asked under the deposit's lock: a
    result from it is returned and nothing is posted (a dispute already won)."""
    # One transaction: the debit, the deposit's reversed total and the audit record
    # stand or fall together (a crash between them would leave a debit never audited).
    with unit_of_work() as uow:
        deposit = find(uow, method=method, deposit_ref=deposit_ref, checkout_id=checkout_id, payment_id=payment_id)
        if deposit is None:
            return "no_deposit"
        deposit = _lock(uow, deposit.id)
        if deposit.status != "completed":
            return "no_deposit"
        if unless is not None and (skip := unless(uow)):
            return skip
        deposit_id, provider_id = deposit.id, deposit.provider_id
        amount = min(amount, deposit.amount)
        posted = ledger.reverse_deposit(
            provider_id=provider_id,
            amount=amount,
            key=key,
            memo=f"{method} {kind} {reference}",
            related_type="deposit",
            related_id=deposit_id,
            uow=uow,
        )
        if posted.created:
            uow.session.flush()
            reversed_total = uow.session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.related_entity_type == "deposit",
                    LedgerEntry.related_entity_id == deposit_id,
                    LedgerEntry.type == LedgerEntryType.DEBIT,
                )
            ).scalar_one()
            reversed_total = min(Decimal(reversed_total), deposit.amount)
            if reversed_total > deposit.reversed_amount:
                deposit.reversed_amount, deposit.updated_at = reversed_total, utcnow()
                uow.session.add(deposit)
            audit.record(
                uow,
                actor=SYSTEM,
                entity_type="deposit",
                entity_id=deposit_id,
                action=f"deposit_{kind}",
                before=None,
                after={
                    "entry_id": str(posted.entry.id),
                    "amount": money.format_money(amount),
                    "reference": reference,
                    "balance_after": money.format_money(posted.entry.balance_after),
                },
            )
    if not posted.created:
        return "already_reversed"
    metrics.PAYMENT_REVERSALS.labels(method, kind).inc()
    if posted.entry.balance_after is not None and posted.entry.balance_after < 0:
        metrics.ADMIN_ALERTS.labels("payment_reversed").inc()
        log.warning("payment reversed on a spent balance: provider %s, %s %s", provider_id, method, reference)
    return "reversed"


def restore_after_dispute(
    *,
    method: str,
    key: str,
    amount: Decimal,
    payment_id: str | None,
    reference: str,
    reversal_key: str | tuple[str, ...] | None = None,
    uow: UnitOfWork | None = None,
) -> str:
    """A dispute was won: the money comes back as a credit (the provider's status is
    left to an admin when a reversal had made it inactive).

    With ``reversal_key`` (the key, or the keys, the dispute's debit may carry) the
    credit gives back only what that dispute's debit took: nothing when no such debit was posted (``not_reversed``: the provider
    never lost the money), at most the debit's amount otherwise.  The deposit row is
    locked first, as ``reverse`` does, so a debit being posted at the same moment is
    seen.  In ``uow`` when given (the webhook's: the event is marked processed in the
    same transaction, so a late ``reverse`` can see the dispute was won)."""
    if uow is not None:
        return _restore(
            uow,
            method=method,
            key=key,
            amount=amount,
            payment_id=payment_id,
            reference=reference,
            reversal_key=reversal_key,
        )
    with unit_of_work() as own:
        return _restore(
            own,
            method=method,
            key=key,
            amount=amount,
            payment_id=payment_id,
            reference=reference,
            reversal_key=reversal_key,
        )


def _restore(
    uow: UnitOfWork,
    *,
    method: str,
    key: str,
    amount: Decimal,
    payment_id: str | None,
    reference: str,
    reversal_key: str | tuple[str, ...] | None,
) -> str:
    deposit = find(uow, method=method, payment_id=payment_id)
    if deposit is None:
        return "no_deposit"
    deposit = _lock(uow, deposit.id)
    amount = min(amount, deposit.amount)
    if reversal_key is not None:
        keys = (reversal_key,) if isinstance(reversal_key, str) else reversal_key
        debit = uow.session.exec(
            select(LedgerEntry).where(
                col(LedgerEntry.idempotency_key).in_(keys),
                LedgerEntry.type == LedgerEntryType.DEBIT,
                LedgerEntry.related_entity_type == "deposit",
                LedgerEntry.related_entity_id == deposit.id,
            )
        ).first()
        if debit is None:
            return "not_reversed"
        amount = min(amount, debit.amount)
    posted = ledger.post(
        provider_id=deposit.provider_id,
        type=LedgerEntryType.CREDIT,
        amount=amount,
        key=key,
        related_type="deposit",
        related_id=deposit.id,
        memo=f"{method} dispute won {reference}",
        uow=uow,
    )
    if posted.created:
        audit.record(
            uow,
            actor=SYSTEM,
            entity_type="deposit",
            entity_id=deposit.id,
            action="deposit_dispute_won",
            before=None,
            after={"entry_id": str(posted.entry.id), "reference": reference},
        )
    return "restored" if posted.created else "already_restored"
