from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money, timestamp, uuid_pk


class LeadAssignment(SQLModel, table=True):
    """One lead sold to one provider: made once, never changed but for its refund."""

    __tablename__ = "lead_assignments"
    __table_args__ = (
        UniqueConstraint("lead_id", "provider_id", name="uq_assignments_lead_provider"),
        CheckConstraint("charged_amount > 0", name="ck_assignments_amount_positive"),
        CheckConstraint(
            "(is_refunded AND refunded_at IS NOT NULL) OR (NOT is_refunded AND refunded_at IS NULL)",
            name="ck_assignments_refund_consistent",
        ),
        Index("ix_assignments_provider_assigned", "provider_id", "assigned_at"),
        Index("ix_assignments_subscription_received", "subscription_id", "received_at"),
        # Caps: a subscription's and a provider's assignments of a period (migration 0017).
        Index("ix_assignments_subscription_assigned", "subscription_id", "assigned_at"),
        Index(
            "ix_assignments_provider_spend",
            "provider_id",
            "assigned_at",
            postgresql_include=["charged_amount"],
        ),
    )

    id: uuid.UUID = uuid_pk()
    lead_id: uuid.UUID = Field(foreign_key="leads.id", nullable=False, index=True)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    subscription_id: uuid.UUID = Field(foreign_key="provider_subscriptions.id", nullable=False)
    competition_level_id: uuid.UUID = Field(foreign_key="competition_levels.id", nullable=False)
    charged_amount: Decimal = money()
    # The subscription's last_received_at stamp this assignment set.
    received_at: datetime = timestamp(nullable=False)
    is_refunded: bool = Field(default=False)
    refunded_at: datetime | None = timestamp()
    refund_reason: str | None = Field(default=None)
    assigned_at: datetime = created_at_column()
