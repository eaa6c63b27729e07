"""Return requests (DOMAIN.md "Returns"): a provider asks, an admin approves or denies.

One use case, one transaction.  A request locks its assignment, then its provider
(the order a refund takes), so two requests of one provider are counted one after
the other against its return rate, and a request never races a refund of the same
assignment.  A refused request writes nothing (409 with the rule's code).

Approving refunds through ``refunds.refund_in`` — exactly an admin refund, in the
same transaction — which marks the request approved.  The assignment row, then the
request row, are locked (the order every refund takes), so two admins approving at
the same moment refund once and the second is told it was already decided, and an
approval racing an admin refund or a Global Bad Lead neither deadlocks nor refunds
twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, referenced, unit_of_work
from hotlead_app.domain import returns as rules
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import AlreadyRefunded, Forbidden, InvalidInput, NotFound
from hotlead_app.models import Lead, LeadAssignment, Niche, ReturnRequest
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, ledger, outbox, refunds
from hotlead_app.services.checks import require_admin


@dataclass(frozen=True)
class ReturnRead:
    id: uuid.UUID
    assignment_id: uuid.UUID
    provider_id: uuid.UUID
    niche_id: uuid.UUID
    status: str
    reason: str
    note: str | None
    created_at: datetime
    decided_at: datetime | None
    deny_reason: str | None


def _read(r: ReturnRequest) -> ReturnRead:
    return ReturnRead(
        r.id,
        r.assignment_id,
        r.provider_id,
        r.niche_id,
        r.status,
        r.reason,
        r.note,
        r.created_at,
        r.decided_at,
        r.deny_reason,
    )


def _counts(uow: UnitOfWork, provider_id: uuid.UUID, now: datetime) -> tuple[int, int, int]:
    """(assignments, requests pending or approved, requests approved) of the last 30 days."""
    since = now - rules.RATE_PERIOD
    assignments = uow.session.exec(
        select(func.count())
        .select_from(LeadAssignment)
        .where(LeadAssignment.provider_id == provider_id, col(LeadAssignment.assigned_at) >= since)
    ).one()
    live = uow.session.exec(
        select(func.count())
        .select_from(ReturnRequest)
        .where(
            ReturnRequest.provider_id == provider_id,
            col(ReturnRequest.created_at) >= since,
            col(ReturnRequest.status).in_(("pending", "approved")),
        )
    ).one()
    approved = uow.session.exec(
        select(func.count())
        .select_from(ReturnRequest)
        .where(
            ReturnRequest.provider_id == provider_id,
            col(ReturnRequest.created_at) >= since,
            ReturnRequest.status == "approved",
        )
    ).one()
    return int(assignments), int(live), int(approved)


def request_return(*, assignment_id: uuid.UUID, actor: Actor, reason: object, note: object = None) -> ReturnRead:
    """A provider asks to return one of its assignments; approved at once when its
    approved returns of the last 30 days are below the niche's auto-approval rate."""
    if actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only the provider that received a lead may return it.")
    errors: dict[str, str] = {}
    if not isinstance(reason, str) or not reason:
        errors["reason"] = "required: one of the niche's reason codes"
    if note is not None and (not isinstance(note, str) or len(note) > rules.NOTE_MAX):
        errors["note"] = f"text, at most {rules.NOTE_MAX} characters"
    if errors:
        raise InvalidInput("The return request is not valid.", details=errors)
    assert isinstance(reason, str)
    clean_note = note.strip() or None if isinstance(note, str) else None
    with unit_of_work() as uow:
        assignment = uow.session.exec(
            select(LeadAssignment).where(LeadAssignment.id == assignment_id).with_for_update()
        ).first()
        if assignment is None or assignment.provider_id != actor.provider_id:
            raise NotFound("No such assignment.", details={"assignment_id": str(assignment_id)})
        uow.session.refresh(assignment)
        lead = referenced(uow.session, Lead, assignment.lead_id)
        niche = referenced(uow.session, Niche, lead.niche_id)
        codes = [r["code"] for r in niche.return_reasons]
        if reason not in codes:
            raise InvalidInput("Choose one of the niche's reasons.", details={"reason": "one of " + ", ".join(codes)})
        ledger.lock_provider(uow, assignment.provider_id)
        now = utcnow()
        details = {"assignment_id": str(assignment_id)}
        if assignment.is_refunded:
            raise AlreadyRefunded(details=details)
        if uow.session.exec(select(ReturnRequest.id).where(ReturnRequest.assignment_id == assignment_id)).first():
            raise rules.ReturnAlreadyRequested(details=details)
        if not rules.window_open(assignment.assigned_at, niche.return_window_hours, now):
            closed = rules.window_closes_at(assignment.assigned_at, niche.return_window_hours)
            raise rules.ReturnWindowClosed(details={**details, "closed_at": closed.isoformat()})
        assignments_30d, live_30d, approved_30d = _counts(uow, assignment.provider_id, now)
        if not rules.rate_allows(
            requests_30d_including_this=live_30d + 1,
            assignments_30d=assignments_30d,
            max_rate_percent=niche.max_return_rate_percent,
        ):
            raise rules.ReturnRateExceeded(
                details={
                    **details,
                    "allowed": rules.return_allowance(assignments_30d, niche.max_return_rate_percent),
                    "requests_30d": live_30d,
                    "assignments_30d": assignments_30d,
                }
            )
        request = ReturnRequest(
            assignment_id=assignment_id,
            provider_id=assignment.provider_id,
            niche_id=niche.id,
            reason=reason,
            note=clean_note,
        )
        uow.session.add(request)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="return_request",
            entity_id=request.id,
            action="return_requested",
            before=None,
            after=audit.snapshot(request),
        )
        outbox.add(uow, jobs.EMAIL_RETURN_REQUEST, request_id=str(request.id), event="requested")
        if rules.auto_approves(
            approved_30d=approved_30d,
            assignments_30d=assignments_30d,
            below_percent=niche.auto_approve_returns_below_percent,
        ):
            refunds.refund_in(
                uow,
                assignment_id=assignment_id,
                actor=SYSTEM,
                reason=f"Return auto-approved: {reason}",
                memo="auto-approved: return rate below the niche's threshold",
            )
        uow.session.refresh(request)
        return _read(request)


def _lock_request(uow: UnitOfWork, request_id: uuid.UUID) -> ReturnRequest:
    request = uow.session.exec(select(ReturnRequest).where(ReturnRequest.id == request_id).with_for_update()).first()
    if request is None:
        raise NotFound("No such return request.", details={"return_id": str(request_id)})
    uow.session.refresh(request)
    if request.status != "pending":
        raise rules.ReturnAlreadyDecided(details={"return_id": str(request_id), "status": request.status})
    return request


def approve_return(*, request_id: uuid.UUID, actor: Actor, memo: str | None = None) -> ReturnRead:
    """Refund the assignment exactly as an admin refund, in this transaction; the
    refund marks the request approved."""
    require_admin(actor)
    with unit_of_work() as uow:
        # The assignment first, then the request: the order a refund takes (refund_in
        # locks the assignment, then settles its request), so the two never deadlock.
        found = uow.session.get(ReturnRequest, request_id)
        if found is not None:
            uow.session.execute(
                select(LeadAssignment.id).where(LeadAssignment.id == found.assignment_id).with_for_update()
            )
        request = _lock_request(uow, request_id)
        refunds.refund_in(
            uow,
            assignment_id=request.assignment_id,
            actor=actor,
            reason=f"Return approved: {request.reason}",
            memo=memo,
        )
        uow.session.refresh(request)
        return _read(request)


def deny_return(*, request_id: uuid.UUID, actor: Actor, reason: object, memo: str | None = None) -> ReturnRead:
    """Deny with a reason the provider reads; nothing is refunded."""
    require_admin(actor)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > rules.REASON_MAX:
        raise InvalidInput("Say why the return is denied.", details={"reason": "required"})
    with unit_of_work() as uow:
        request = _lock_request(uow, request_id)
        refunds.decide_return(uow, request, status="denied", actor=actor, memo=memo, deny_reason=reason.strip())
        return _read(request)
