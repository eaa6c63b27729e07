"""Reconciliation: what the processors say was paid, against the deposits.

Run by Celery beat (every ``HOTLEAD_RECONCILIATION_INTERVAL_SECONDS``, an hour by
default) over the last ``HOTLEAD_RECONCILIATION_LOOKBACK_DAYS`` days:

- a completed payment at the processor whose deposit is not completed is applied,
  through the same code as the webhook (idempotent: the ledger key is the same);
- a payment whose amount differs from its deposit → ``amount_mismatch``;
- a processor payment naming no deposit of ours → ``missing_deposit``;
- a deposit completed here that the processor does not list → ``missing_processor_record``;
- a PayPal deposit still pending more than ``PAYPAL_APPROVAL_GRACE`` after it was made:
  its order is read; approved (the provider never came back) → captured and completed,
  captured already (we missed it) → its capture applied, anything else → left alone;
- an auto-recharge still in flight ``HOTLEAD_RECHARGE_RECONCILE_AFTER_MINUTES`` after it
  started: its PaymentIntent is read from Stripe and applied (succeeded → the deposit
  credited, once; failed → auto-recharge off); one whose job never reached Stripe
  is charged now (same idempotency key: never twice).

Each item is handled on its own: a failure is logged and counted, the run goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.models import Deposit
from hotlead_app.services.payments import deposits, issues, paypal_gateway, recharge, stripe_gateway
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "checked": self.checked,
            "applied": self.applied,
            "issues": self.issues,
            "failures": self.failures,
            "skipped": self.skipped,
        }


# The provider's own return (or CHECKOUT.ORDER.APPROVED) captures an order within
# seconds; reconciliation leaves it that long before capturing it itself.
PAYPAL_APPROVAL_GRACE = timedelta(minutes=10)


def run(*, lookback_days: int | None = None, now: datetime | None = None) -> Report:
    days = lookback_days or get_settings().reconciliation_lookback_days
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    report = Report()
    for processor, configured, step in (
        ("stripe", stripe_gateway.is_configured, _stripe),
        ("paypal", paypal_gateway.is_configured, lambda since, report: _paypal(since, report, now=now)),
    ):
        if not configured():
            report.skipped.append(processor)
            continue
        try:
            step(since, report)
        except Exception as exc:  # the listing itself failed: the other processor still runs
            log.exception("reconciliation: listing %s failed", processor)
            report.failures.append(f"{processor}: {exc}")
    log.info("reconciliation done: %s", report.as_dict())
    return report


def _tally(report: Report, processor: str, reference: str | None, result: str) -> None:
    """A completion's outcome in the report (``no_deposit`` is each caller's own)."""
    if result == "completed":
        report.applied.append(f"{processor}:{reference}")
    elif result == "amount_mismatch":
        report.issues.append(f"amount_mismatch:{reference}")


def _issue(report: Report, **kwargs) -> None:
    with unit_of_work() as uow:
        if issues.record_issue(uow, **kwargs):
            report.issues.append(f"{kwargs['kind']}:{kwargs['reference']}")


def _stripe(since: datetime, report: Report) -> None:
    seen: set[str] = set()
    count = 0
    for session in stripe_gateway.list_completed_sessions(since=since):
        count += 1
        try:
            seen.add(session["id"])
            if session.get("mode") == "setup":  # a card saved, nothing paid
                continue
            if session.get("payment_status") not in ("paid", "no_payment_required"):
                continue
            with unit_of_work() as uow:
                result = deposits.apply_stripe_session(uow, session, source="reconciliation")
            _tally(report, "stripe", session["id"], result)
            if result == "no_deposit":
                _issue(
                    report,
                    kind="missing_deposit",
                    processor="stripe",
                    reference=session["id"],
                    actual=stripe_gateway.from_cents(session.get("amount_total")),
                    details=f"paid Checkout Session {session['id']} names no deposit of ours "
                    f"(client_reference_id {session.get('client_reference_id')!r})",
                )
        except Exception as exc:
            log.exception("reconciliation: Stripe session %s failed", session.get("id"))
            report.failures.append(f"stripe:{session.get('id')}: {exc}")
    report.checked["stripe"] = count
    _recharges(report)
    _completed_without_record("stripe", since, seen, report)


def _recharges(report: Report) -> None:
    """Recharges in flight longer than the setting: their PaymentIntents read from
    Stripe and applied (the webhook may never have come)."""
    after = timedelta(minutes=get_settings().recharge_reconcile_after_minutes)
    open_ones = recharge.open_intents(older_than=after)
    for recharge_id, intent_id in open_ones:
        try:
            if intent_id:
                result = recharge.refresh(payment_intent_id=intent_id, source="reconciliation")
            else:
                result = recharge.charge(recharge_id=recharge_id)
            if result == "completed":
                report.applied.append(f"stripe:{intent_id or recharge_id}")
            elif result == "amount_mismatch":
                report.issues.append(f"amount_mismatch:{intent_id}")
        except Exception as exc:
            log.exception("reconciliation: recharge %s failed", recharge_id)
            report.failures.append(f"stripe:recharge:{recharge_id}: {exc}")
    report.checked["stripe_recharges"] = len(open_ones)


def _paypal(since: datetime, report: Report, *, now: datetime) -> None:
    seen: set[str] = set()
    count = 0
    for capture in paypal_gateway.list_completed_captures(since=since):
        count += 1
        try:
            seen.add(capture.capture_id)
            with unit_of_work() as uow:
                result = deposits.apply_paypal_capture(uow, capture, source="reconciliation")
            _tally(report, "paypal", capture.capture_id, result)
            if result == "no_deposit":
                _issue(
                    report,
                    kind="missing_deposit",
                    processor="paypal",
                    reference=capture.capture_id,
                    actual=capture.amount,
                    details=f"PayPal capture {capture.capture_id} names no deposit of ours "
                    f"(custom_id {capture.custom_id!r})",
                )
        except Exception as exc:
            log.exception("reconciliation: PayPal capture %s failed", capture.capture_id)
            report.failures.append(f"paypal:{capture.capture_id}: {exc}")
    report.checked["paypal"] = count
    _paypal_pending_orders(since, now - PAYPAL_APPROVAL_GRACE, seen, report)
    _completed_without_record("paypal", since, seen, report, reference_of=lambda d: d.payment_id)


def _paypal_pending_orders(since: datetime, before: datetime, seen: set[str], report: Report) -> None:
    """Pending PayPal deposits made between ``since`` and ``before``: their orders as
    PayPal has them now.  APPROVED → captured and completed; COMPLETED → its capture
    applied; anything else (not approved, voided, gone) → left alone."""
    with unit_of_work() as uow:
        pending = uow.session.exec(
            select(Deposit.id, Deposit.checkout_id)
            .where(
                Deposit.method == "paypal",
                Deposit.status == "pending",
                col(Deposit.checkout_id).is_not(None),
                Deposit.created_at >= since,
                Deposit.created_at < before,
            )
            .order_by(col(Deposit.created_at))
        ).all()
    for deposit_id, order_id in pending:
        assert order_id is not None  # selected above: checkout_id IS NOT NULL
        try:
            try:
                order = paypal_gateway.get_order(order_id)
            except paypal_gateway.ProcessorRefused as exc:
                if exc.status == 404:  # PayPal no longer has it: never captured, nothing was paid
                    continue
                raise
            status = order.get("status")
            if status == "APPROVED":
                result, capture_id = deposits.capture_paypal_order(
                    None, deposit_id=deposit_id, order_id=order_id, source="reconciliation"
                )
            elif status == "COMPLETED":
                with unit_of_work() as uow:
                    result, capture_id = deposits.apply_completed_capture(
                        uow, paypal_gateway.captures_of(order), source="reconciliation"
                    )
            else:
                continue
            if capture_id:
                seen.add(capture_id)  # Transaction Search may not list it yet
            _tally(report, "paypal", capture_id, result)
        except Exception as exc:
            log.exception("reconciliation: PayPal order %s of deposit %s failed", order_id, deposit_id)
            report.failures.append(f"paypal:order:{order_id}: {exc}")
    report.checked["paypal_pending_orders"] = len(pending)


def _completed_without_record(
    processor: str, since: datetime, seen: set[str], report: Report, reference_of=lambda d: d.checkout_id
) -> None:
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(Deposit).where(
                Deposit.method == processor, Deposit.status == "completed", Deposit.created_at >= since
            )
        ).all()
    for deposit in rows:
        reference = reference_of(deposit)
        if reference in seen:
            continue
        if processor == "stripe" and deposit.checkout_id is None and deposit.payment_id:
            continue  # an auto-recharge: settled from its PaymentIntent, no Checkout Session to list
        try:
            _issue(
                report,
                kind="missing_processor_record",
                processor=processor,
                reference=reference or f"deposit:{deposit.id}",
                deposit_id=deposit.id,
                expected=deposit.amount,
                details=f"deposit {deposit.id} is completed but {processor} does not list {reference}",
            )
        except Exception as exc:
            log.exception("reconciliation: recording deposit %s failed", deposit.id)
            report.failures.append(f"{processor}:deposit:{deposit.id}: {exc}")
