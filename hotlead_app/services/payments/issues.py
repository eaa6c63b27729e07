"""Reconciliation issues: what the processors and the ledger disagree on, for an admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotlead_app.models import ReconciliationIssue
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit
from hotlead_app.services.checks import time_cursor

KIND_LABELS = {
    "amount_mismatch": "Amount differs",
    "missing_processor_record": "Completed deposit without a processor payment",
    "missing_deposit": "Processor payment without a deposit",
}


@dataclass(frozen=True)
class IssueRead:
    id: uuid.UUID
    kind: str
    processor: str
    deposit_id: uuid.UUID | None
    processor_reference: str
    expected_amount: Decimal | None
    actual_amount: Decimal | None
    details: str | None
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None


def _read(row: ReconciliationIssue) -> IssueRead:
    return IssueRead(
        row.id,
        row.kind,
        row.processor,
        row.deposit_id,
        row.processor_reference,
        row.expected_amount,
        row.actual_amount,
        row.details,
        row.status,
        row.created_at,
        row.resolved_at,
        row.resolution_note,
    )


def record_issue(
    uow: UnitOfWork,
    *,
    kind: str,
    processor: str,
    reference: str,
    deposit_id: uuid.UUID | None = None,
    expected: Decimal | None = None,
    actual: Decimal | None = None,
    details: str | None = None,
) -> bool:
    """Record a finding; an open issue for the same fact is not repeated.  True if new."""
    result = uow.session.execute(
        insert(ReconciliationIssue)
        .values(
            id=uuid.uuid4(),
            kind=kind,
            processor=processor,
            processor_reference=reference[:255],
            deposit_id=deposit_id,
            expected_amount=expected,
            actual_amount=actual,
            details=details,
            status="open",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(
            index_elements=["kind", "processor", "processor_reference"], index_where=text("status = 'open'")
        )
    )
    return bool(getattr(result, "rowcount", 0))  # a DML result: rows inserted


def list_issues(*, actor: Actor, status: str = "open", limit: int = 50, cursor: object = None) -> list[IssueRead]:
    """Newest first, keyset-paginated on (created_at, id)."""
    if not actor.is_admin:
        raise Forbidden("Only admins may see reconciliation issues.")
    if status not in ("open", "resolved", "all"):
        raise InvalidInput("Unknown status.", details={"status": "open, resolved or all"})
    with unit_of_work() as uow:
        query = (
            select(ReconciliationIssue)
            .order_by(col(ReconciliationIssue.created_at).desc(), col(ReconciliationIssue.id).desc())
            .limit(limit)
        )
        if status != "all":
            query = query.where(ReconciliationIssue.status == status)
        key = time_cursor(cursor)
        if key:
            query = query.where(func.row(ReconciliationIssue.created_at, ReconciliationIssue.id) < func.row(*key))
        return [_read(r) for r in uow.session.exec(query)]


def count_open() -> int:
    with unit_of_work() as uow:
        return int(
            uow.session.execute(text("SELECT count(*) FROM reconciliation_issues WHERE status = 'open'")).scalar_one()
        )


def resolve_issue(*, actor: Actor, issue_id: uuid.UUID, note: str | None = None) -> IssueRead:
    if not actor.is_admin:
        raise Forbidden("Only admins may resolve reconciliation issues.")
    note = (note or "").strip() or None
    if note is not None and len(note) > 2000:
        raise InvalidInput("The note is too long.", details={"note": "at most 2000 characters"})
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(ReconciliationIssue).where(ReconciliationIssue.id == issue_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound("No such reconciliation issue.", details={"issue_id": str(issue_id)})
        if row.status == "resolved":
            raise Conflict("This issue is already resolved.", details={"status": row.status})
        before = audit.snapshot(row)
        row.status, row.resolved_at, row.resolved_by, row.resolution_note = "resolved", utcnow(), actor.id, note
        uow.session.add(row)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="reconciliation_issue",
            entity_id=row.id,
            action="resolved",
            before=before,
            after=audit.snapshot(row),
            memo=note,
        )
        return _read(row)
