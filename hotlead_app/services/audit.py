"""The audit log: one immutable row per state change, in the changing transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import SQLModel, col, select

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.models import ActorRole, AuditLog


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A row's full state as JSON (the before/after of an audit row)."""
    if row is None:
        return None
    return row.model_dump(mode="json")


def record(
    uow: UnitOfWork,
    *,
    actor: Actor,
    entity_type: str,
    entity_id: uuid.UUID,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    memo: str | None = None,
) -> None:
    uow.session.add(
        AuditLog(
            actor_id=actor.id,
            actor_role=ActorRole(actor.role),
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            before_state=before,
            after_state=after,
            admin_only_memo=memo,
        )
    )


def list_for(
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    limit: int = 50,
    before_seq: int | None = None,
) -> list[AuditLog]:
    """Newest first.  Contains ``admin_only_memo``: for admin views only."""
    with unit_of_work() as uow:
        query = select(AuditLog).order_by(col(AuditLog.seq).desc()).limit(limit)
        if entity_type:
            query = query.where(AuditLog.entity_type == entity_type)
        if entity_id:
            query = query.where(AuditLog.entity_id == entity_id)
        if before_seq is not None:
            query = query.where(col(AuditLog.seq) < before_seq)
        return list(uow.session.exec(query).all())
