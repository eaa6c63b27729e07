"""Outcomes (DOMAIN.md "Outcomes"): a provider records what became of one of its
assignments.  The history is append-only (the database refuses UPDATE, DELETE and
TRUNCATE on ``lead_outcomes``); the latest row counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import returns as rules
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Forbidden, NotFound
from hotlead_app.models import LeadAssignment, LeadOutcome


@dataclass(frozen=True)
class OutcomeRead:
    id: uuid.UUID
    seq: int
    assignment_id: uuid.UUID
    outcome: str
    value: Decimal | None
    reason: str | None
    created_at: datetime


def record_outcome(
    *, assignment_id: uuid.UUID, actor: Actor, outcome: object, value: object = None, reason: object = None
) -> OutcomeRead:
    """Append one outcome to the assignment's history (``contacted``, ``appointment``,
    ``won`` with an optional value, ``lost`` with an optional reason)."""
    if actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only the provider that received a lead records its outcome.")
    kind, amount, why = rules.clean_outcome(outcome, value, reason)
    with unit_of_work() as uow:
        assignment = uow.session.exec(select(LeadAssignment).where(LeadAssignment.id == assignment_id)).first()
        if assignment is None or assignment.provider_id != actor.provider_id:
            raise NotFound("No such assignment.", details={"assignment_id": str(assignment_id)})
        row = LeadOutcome(
            assignment_id=assignment_id,
            provider_id=assignment.provider_id,
            outcome=kind,
            value=amount,
            reason=why,
            recorded_by=actor.id,
        )
        uow.session.add(row)
        uow.session.flush()
        uow.session.refresh(row)
        assert row.seq is not None  # an identity column
        return OutcomeRead(row.id, row.seq, row.assignment_id, row.outcome, row.value, row.reason, row.created_at)
