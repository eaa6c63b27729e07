"""Refunds are per assignment, once: a ``refund`` entry of the charged amount.

:func:`refund_in` is the one refund path (an admin refund, a Global Bad Lead, an
approved return request): whatever else must happen when an assignment is refunded
hooks in there, in the same transaction.  A pending return request of the assignment
is approved by it (DOMAIN.md "Returns": an admin refund or a Global Bad Lead settles
pending requests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import AlreadyRefunded, InvalidInput, NotFound
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.infra import metrics
from hotlead_app.models import LeadAssignment, ReturnRequest
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, ledger, outbox


@dataclass(frozen=True)
class Refunded:
    assignment_id: uuid.UUID
    provider_id: uuid.UUID
    amount: Decimal
    ledger_entry_id: uuid.UUID


def refund_key(assignment_id: uuid.UUID) -> str:
    return f"assignment:{assignment_id}:refund"


def refund_in(
    uow: UnitOfWork, *, assignment_id: uuid.UUID, actor: Actor, reason: str, memo: str | None = None
) -> Refunded:
    """Refund inside the caller's transaction (Global Bad Lead refunds several)."""
    assignment = uow.session.exec(
        select(LeadAssignment).where(LeadAssignment.id == assignment_id).with_for_update()
    ).first()
    if assignment is None:
        raise NotFound("No such assignment.", details={"assignment_id": str(assignment_id)})
    uow.session.refresh(assignment)
    if assignment.is_refunded:
        raise AlreadyRefunded(details={"assignment_id": str(assignment_id)})
    before = audit.snapshot(assignment)
    posted = ledger.post(
        provider_id=assignment.provider_id,
        type=LedgerEntryType.REFUND,
        amount=assignment.charged_amount,
        key=refund_key(assignment_id),
        related_type="lead_assignment",
        related_id=assignment_id,
        uow=uow,
    )
    assignment.is_refunded = True
    assignment.refunded_at = utcnow()
    assignment.refund_reason = reason
    uow.session.add(assignment)
    uow.session.flush()
    audit.record(
        uow,
        actor=actor,
        entity_type="lead_assignment",
        entity_id=assignment_id,
        action="refunded",
        before=before,
        after=audit.snapshot(assignment),
        memo=memo,
    )
    if posted.created:
        refunded = assignment.charged_amount
        uow.after_commit(lambda: metrics.REFUNDS_AMOUNT.inc(metrics.amount(refunded)))
    settle_pending_return(uow, assignment_id=assignment_id, actor=actor, memo=memo)
    return Refunded(assignment_id, assignment.provider_id, assignment.charged_amount, posted.entry.id)


def settle_pending_return(uow: UnitOfWork, *, assignment_id: uuid.UUID, actor: Actor, memo: str | None) -> None:
    """The assignment was refunded: its pending return request (if any) is approved,
    audited and its provider emailed, in the refund's transaction."""
    request = uow.session.exec(
        select(ReturnRequest)
        .where(ReturnRequest.assignment_id == assignment_id, ReturnRequest.status == "pending")
        .with_for_update()
    ).first()
    if request is None:
        return
    uow.session.refresh(request)
    if request.status != "pending":
        return
    decide_return(uow, request, status="approved", actor=actor, memo=memo)


def decide_return(
    uow: UnitOfWork,
    request: ReturnRequest,
    *,
    status: str,
    actor: Actor,
    memo: str | None,
    deny_reason: str | None = None,
) -> None:
    """Record an admin's (or a refund's) decision on a locked pending return request:
    its status and who decided, one audit row, and the provider's email."""
    before = audit.snapshot(request)
    request.status = status
    if deny_reason is not None:
        request.deny_reason = deny_reason
    request.decided_at = utcnow()
    request.decided_by = actor.id
    request.decided_by_role = actor.role
    uow.session.add(request)
    uow.session.flush()
    audit.record(
        uow,
        actor=actor,
        entity_type="return_request",
        entity_id=request.id,
        action=f"return_{status}",
        before=before,
        after=audit.snapshot(request),
        memo=memo,
    )
    outbox.add(uow, jobs.EMAIL_RETURN_REQUEST, request_id=str(request.id), event=status)


def refund_assignment(*, assignment_id: uuid.UUID, actor: Actor, reason: str, memo: str | None = None) -> Refunded:
    if not reason or not reason.strip():
        raise InvalidInput("Say why the assignment is refunded.", details={"reason": "required"})
    with unit_of_work() as uow:
        return refund_in(uow, assignment_id=assignment_id, actor=actor, reason=reason.strip(), memo=memo)
