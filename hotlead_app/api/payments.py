"""Payments endpoints: provider deposits, processor webhooks, admin reconciliation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hotlead_app.api.client import client_info
from hotlead_app.api.deps import require_admin, require_provider
from hotlead_app.api.errors import error_response
from hotlead_app.api.pagination import PageParams, page
from hotlead_app.domain import money
from hotlead_app.services import auth, ratelimit
from hotlead_app.services.payments import deposits, issues, recharge, webhooks
from hotlead_app.services.payments.errors import InvalidSignature, ProcessorUnavailable

provider_router = APIRouter(prefix="/provider", tags=["provider"])
webhook_router = APIRouter(prefix="/webhooks", tags=["webhooks"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

# Processor events (a Checkout Session, a charge with its refunds, a dispute) can be
# larger than any request a person sends, and a refused event would be retried and lost.
MAX_WEBHOOK_BYTES = 256 * 1024


def _unavailable(exc: ProcessorUnavailable) -> JSONResponse:
    return error_response(503, exc.code, exc.message, exc.details, headers={"Retry-After": "30"})


def _deposit(d: deposits.DepositRead) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "method": d.method,
        "amount": money.format_money(d.amount),
        "currency": d.currency,
        "status": d.status,
        "redirect_url": d.redirect_url if d.status == "pending" else None,
        "failure_reason": d.failure_reason,
        "created_at": d.created_at.isoformat(),
        "completed_at": d.completed_at.isoformat() if d.completed_at else None,
        "balance": money.format_money(d.balance),
    }


class DepositIn(BaseModel):
    method: Any = None
    amount: Any = None


@provider_router.post("/deposits", status_code=201)
async def create_deposit(body: DepositIn, principal: auth.Principal = Depends(require_provider)):
    try:
        created = await run_in_threadpool(
            lambda: deposits.create(actor=principal.actor, method=body.method, amount=body.amount)
        )
    except ProcessorUnavailable as exc:
        return _unavailable(exc)
    return {**_deposit(created), "redirect_url": created.redirect_url}


@provider_router.get("/deposits/{deposit_id}")
async def get_deposit(deposit_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)):
    return _deposit(await run_in_threadpool(lambda: deposits.get(actor=principal.actor, deposit_id=deposit_id)))


@provider_router.post("/deposits/{deposit_id}/capture")
async def capture_deposit(deposit_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)):
    """Back from PayPal having approved: capture the order (idempotent)."""
    try:
        return _deposit(
            await run_in_threadpool(lambda: deposits.capture_paypal(actor=principal.actor, deposit_id=deposit_id))
        )
    except ProcessorUnavailable as exc:
        return _unavailable(exc)


@provider_router.post("/deposits/{deposit_id}/cancel")
async def cancel_deposit(deposit_id: uuid.UUID, principal: auth.Principal = Depends(require_provider)):
    """Back from the processor having cancelled: a pending deposit is marked failed."""
    return _deposit(await run_in_threadpool(lambda: deposits.cancel(actor=principal.actor, deposit_id=deposit_id)))


# --------------------------------------------------------------------------- saved card, auto-recharge


def _auto_recharge(r: recharge.AutoRechargeRead) -> dict[str, Any]:
    return {
        "enabled": r.enabled,
        "threshold": money.format_money(r.threshold) if r.threshold is not None else None,
        "amount": money.format_money(r.amount) if r.amount is not None else None,
        "currency": r.currency,
        "card": None
        if r.card is None
        else {"brand": r.card.brand, "last4": r.card.last4, "exp_month": r.card.exp_month, "exp_year": r.card.exp_year},
        "brand": r.card.brand if r.card else None,
        "last4": r.card.last4 if r.card else None,
        "max_recharges_per_day": r.max_recharges_per_day,
        "turned_off_because": r.off_reason,
        "recharge_in_flight": r.in_flight,
    }


@provider_router.post("/payment-methods/setup")
async def setup_payment_method(principal: auth.Principal = Depends(require_provider)):
    """Stripe Checkout in setup mode: the provider saves a card; nothing is charged."""
    try:
        url = await run_in_threadpool(lambda: recharge.start_card_setup(actor=principal.actor))
    except ProcessorUnavailable as exc:
        return _unavailable(exc)
    return {"redirect_url": url}


@provider_router.get("/payment-methods")
async def get_payment_method(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """The saved card (brand, last 4, expiry) or ``null``."""
    found = await run_in_threadpool(lambda: recharge.get(actor=principal.actor))
    return {"card": _auto_recharge(found)["card"]}


@provider_router.delete("/payment-methods")
async def remove_payment_method(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """Forget the saved card (auto-recharge goes off) and detach it at Stripe."""
    return _auto_recharge(await run_in_threadpool(lambda: recharge.remove_card(actor=principal.actor)))


class AutoRechargeIn(BaseModel):
    enabled: Any = None
    threshold: Any = None
    amount: Any = None


@provider_router.get("/auto-recharge")
async def get_auto_recharge(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    return _auto_recharge(await run_in_threadpool(lambda: recharge.get(actor=principal.actor)))


@provider_router.put("/auto-recharge")
async def put_auto_recharge(
    body: AutoRechargeIn, principal: auth.Principal = Depends(require_provider)
) -> dict[str, Any]:
    """``{enabled, threshold, amount}``: 400 naming the field, 409 ``card_required``."""
    return _auto_recharge(
        await run_in_threadpool(
            lambda: recharge.update(
                actor=principal.actor, enabled=body.enabled, threshold=body.threshold, amount=body.amount
            )
        )
    )


async def _raw(request: Request) -> bytes | JSONResponse:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return error_response(413, "payload_too_large", "The webhook body is too large.")
    return body


def _received(receipt: webhooks.Receipt) -> dict[str, Any]:
    return {"received": True, "event_id": receipt.event_id, "outcome": receipt.outcome}


async def _limit(request: Request, processor: str) -> None:
    """HOTLEAD_RATE_LIMIT_WEBHOOK per processor and client address (429 past it),
    before the body is read or the signature checked."""
    ip = client_info(request).ip
    await run_in_threadpool(lambda: ratelimit.hit("webhook", f"{processor}:{ip}"))


@webhook_router.post("/stripe")
async def stripe_webhook(request: Request):
    """Verified with ``Stripe-Signature`` (STRIPE_WEBHOOK_SECRET, 300 s tolerance); no session."""
    await _limit(request, "stripe")
    body = await _raw(request)
    if isinstance(body, JSONResponse):
        return body
    signature = request.headers.get("stripe-signature")
    try:
        receipt = await run_in_threadpool(lambda: webhooks.receive_stripe(payload=body, signature=signature))
    except InvalidSignature as exc:
        return error_response(400, exc.code, exc.message)
    except ProcessorUnavailable as exc:
        return _unavailable(exc)
    return _received(receipt)


@webhook_router.post("/paypal")
async def paypal_webhook(request: Request):
    """Verified through PayPal's verify-webhook-signature (PAYPAL_WEBHOOK_ID); no session."""
    await _limit(request, "paypal")
    body = await _raw(request)
    if isinstance(body, JSONResponse):
        return body
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        receipt = await run_in_threadpool(lambda: webhooks.receive_paypal(payload=body, headers=headers))
    except InvalidSignature as exc:
        return error_response(400, exc.code, exc.message)
    except ProcessorUnavailable as exc:
        return _unavailable(exc)
    return _received(receipt)


def _issue(i: issues.IssueRead) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "kind": i.kind,
        "processor": i.processor,
        "deposit_id": str(i.deposit_id) if i.deposit_id else None,
        "processor_reference": i.processor_reference,
        "expected_amount": money.format_money(i.expected_amount) if i.expected_amount is not None else None,
        "actual_amount": money.format_money(i.actual_amount) if i.actual_amount is not None else None,
        "details": i.details,
        "status": i.status,
        "created_at": i.created_at.isoformat(),
        "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
        "resolution_note": i.resolution_note,
    }


@admin_router.get("/reconciliation-issues")
async def list_reconciliation_issues(
    status: str = Query("open", max_length=16),
    params: PageParams = Depends(),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    cursor = params.cursor  # checked by issues.list_issues (time_cursor)
    rows = await run_in_threadpool(
        lambda: issues.list_issues(actor=principal.actor, status=status, limit=params.limit + 1, cursor=cursor)
    )
    return page([_issue(i) for i in rows], params.limit, lambda r: [r["created_at"], r["id"]])


class ResolveIn(BaseModel):
    note: str | None = None


@admin_router.post("/reconciliation-issues/{issue_id}/resolve")
async def resolve_reconciliation_issue(
    issue_id: uuid.UUID, body: ResolveIn, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    return _issue(
        await run_in_threadpool(lambda: issues.resolve_issue(actor=principal.actor, issue_id=issue_id, note=body.note))
    )
