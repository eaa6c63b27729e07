from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, jsonb, pg_enum, uuid_pk


class ActorRole(str, enum.Enum):
    ADMIN = "admin"
    PROVIDER = "provider"
    BUYER = "buyer"
    SYSTEM = "system"


class AuditLog(SQLModel, table=True):
    """Immutable: the database refuses UPDATE, DELETE and TRUNCATE (migration 0002)."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_entity_seq", "entity_type", "entity_id", "seq"),
        # Migration 0011: the audit page filtered by entity type, or by who acted, newest first.
        Index("ix_audit_entity_type_seq", "entity_type", "seq"),
        Index("ix_audit_actor_seq", "actor_id", "seq", postgresql_where=text("actor_id IS NOT NULL")),
    )

    id: uuid.UUID = uuid_pk()
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True),
    )
    actor_id: uuid.UUID | None = Field(default=None)
    actor_role: ActorRole = pg_enum(ActorRole, "actor_role")
    entity_type: str = Field(max_length=64)
    entity_id: uuid.UUID
    action: str = Field(max_length=64)
    before_state: dict[str, Any] | None = jsonb(nullable=True)
    after_state: dict[str, Any] | None = jsonb(nullable=True)
    admin_only_memo: str | None = Field(default=None)
    # The writing transaction's id: explanations read history as of a snapshot.
    txid: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True, server_default=text("(pg_current_xact_id()::text)::bigint")),
    )
    created_at: datetime = created_at_column()
