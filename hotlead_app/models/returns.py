from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money, timestamp, uuid_pk


class ReturnRequest(SQLModel, table=True):
    """A provider asks to return one of its assignments (DOMAIN.md "Returns"): at most
    one request per assignment; ``pending`` then ``approved`` or ``denied``."""

    __tablename__ = "return_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'denied')", name="ck_return_requests_status"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="ck_return_requests_decided_when_not_pending"
        ),
        CheckConstraint(
            "status <> 'denied' OR length(btrim(coalesce(deny_reason, ''))) > 0",
            name="ck_return_requests_denied_has_reason",
        ),
        Index("ix_return_requests_provider_created", "provider_id", "created_at"),
        Index("ix_return_requests_status_created", "status", "created_at"),
        Index("ix_return_requests_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    id: uuid.UUID = uuid_pk()
    assignment_id: uuid.UUID = Field(foreign_key="lead_assignments.id", nullable=False, unique=True)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    niche_id: uuid.UUID = Field(foreign_key="niches.id", nullable=False)
    reason: str = Field(max_length=64)
    note: str | None = Field(default=None)
    status: str = Field(default="pending", max_length=16)
    decided_by: uuid.UUID | None = Field(default=None)
    decided_by_role: str | None = Field(default=None, max_length=16)
    decided_at: datetime | None = timestamp()
    deny_reason: str | None = Field(default=None)
    created_at: datetime = created_at_column()


class LeadOutcome(SQLModel, table=True):
    """What became of an assignment, as its provider recorded it: append-only (the
    database refuses UPDATE, DELETE and TRUNCATE); the latest row counts."""

    __tablename__ = "lead_outcomes"
    __table_args__ = (
        CheckConstraint("outcome IN ('contacted', 'appointment', 'won', 'lost')", name="ck_lead_outcomes_outcome"),
        CheckConstraint("value IS NULL OR (outcome = 'won' AND value > 0)", name="ck_lead_outcomes_value_won"),
        Index("ix_lead_outcomes_assignment_seq", "assignment_id", "seq"),
        Index("ix_lead_outcomes_provider_created", "provider_id", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    # The order rows were written in: the latest (highest) counts.
    seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True)
    )
    assignment_id: uuid.UUID = Field(foreign_key="lead_assignments.id", nullable=False)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    outcome: str = Field(max_length=16)
    value: Decimal | None = money(nullable=True)
    reason: str | None = Field(default=None)
    recorded_by: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_column()
