"""The JSON-safe shape of one lead assignment, shared by the lead reads."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TypedDict

from sqlalchemy import select as select_columns
from sqlmodel import col

from hotlead_app.db import UnitOfWork
from hotlead_app.domain import money
from hotlead_app.models import LeadAssignment, LeadOutcome, ReturnRequest


class AssignmentRow(TypedDict):
    id: str
    provider_id: str
    subscription_id: str
    competition_level_id: str
    charged_amount: str
    is_refunded: bool
    refunded_at: str | None
    refund_reason: str | None
    assigned_at: str


def assignment_row(a: LeadAssignment) -> AssignmentRow:
    return {
        "id": str(a.id),
        "provider_id": str(a.provider_id),
        "subscription_id": str(a.subscription_id),
        "competition_level_id": str(a.competition_level_id),
        "charged_amount": money.format_money(a.charged_amount),
        "is_refunded": a.is_refunded,
        "refunded_at": a.refunded_at.isoformat() if a.refunded_at else None,
        "refund_reason": a.refund_reason,
        "assigned_at": a.assigned_at.isoformat(),
    }


# --------------------------------------------------------------------------- after the sale
# What the provider did with an assignment: its latest outcome and its return request.


class OutcomeView(TypedDict):
    outcome: str
    value: str | None
    reason: str | None
    recorded_at: str


class ReturnView(TypedDict):
    id: str
    status: str
    reason: str
    deny_reason: str | None


def latest_outcomes(uow: UnitOfWork, assignment_ids: list[uuid.UUID]) -> dict[uuid.UUID, OutcomeView]:
    """The latest outcome of each of these assignments that has one."""
    if not assignment_ids:
        return {}
    # A page's assignments and their (short) histories, oldest first: the last one wins.
    rows = uow.session.execute(
        select_columns(LeadOutcome)
        .where(col(LeadOutcome.assignment_id).in_(assignment_ids))
        .order_by(col(LeadOutcome.seq))
    ).scalars()
    return {
        o.assignment_id: {
            "outcome": o.outcome,
            "value": money.format_money(o.value) if o.value is not None else None,
            "reason": o.reason,
            "recorded_at": o.created_at.isoformat(),
        }
        for o in rows
    }


def return_requests_of(uow: UnitOfWork, assignment_ids: list[uuid.UUID]) -> dict[uuid.UUID, ReturnView]:
    """The return request of each of these assignments that has one."""
    if not assignment_ids:
        return {}
    rows = uow.session.execute(
        select_columns(ReturnRequest).where(col(ReturnRequest.assignment_id).in_(assignment_ids))
    ).scalars()
    return {
        r.assignment_id: {"id": str(r.id), "status": r.status, "reason": r.reason, "deny_reason": r.deny_reason}
        for r in rows
    }


def window_closes_at(a: LeadAssignment, window_hours: int) -> str:
    return (a.assigned_at + timedelta(hours=window_hours)).isoformat()
