from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, jsonb, timestamp, uuid_pk


class PauseReason:
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BY_PROVIDER = "paused_by_provider"
    CANCELLED = "cancelled"
    #: Its filters name a field a filter may not name (migration 0014).
    FILTER_NOT_ALLOWED = "filter_not_allowed"


#: What each pause reason means, for people (pages show these, never the keys).
PAUSE_REASON_TEXT: dict[str, str] = {
    PauseReason.INSUFFICIENT_BALANCE: "paused: balance below the price",
    PauseReason.BY_PROVIDER: "paused by the provider",
    PauseReason.CANCELLED: "cancelled",
    PauseReason.FILTER_NOT_ALLOWED: "paused: its filters name a field filters may not use; edit them",
}


class ProviderSubscription(SQLModel, table=True):
    __tablename__ = "provider_subscriptions"
    __table_args__ = (
        # The distribution engine walks a level in fairness order and stops early.
        Index(
            "ix_subscriptions_fairness_walk",
            "competition_level_id",
            text("last_received_at ASC NULLS FIRST"),
            "created_at",
            "id",
            postgresql_where=text("active"),
        ),
        Index("ix_subscriptions_provider", "provider_id"),
    )

    id: uuid.UUID = uuid_pk()
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    competition_level_id: uuid.UUID = Field(foreign_key="competition_levels.id", nullable=False)
    filters: dict[str, Any] = jsonb(default={}, server_default="'{}'::jsonb")
    last_received_at: datetime | None = timestamp()
    active: bool = Field(default=True)
    pause_reason: str | None = Field(default=None, max_length=64)
    # Buyer controls: a weekly schedule in the provider's zone (None: always open),
    # caps per period, and the approval time from which it takes leads (None: all).
    schedule: dict[str, Any] | None = jsonb(nullable=True)
    caps: dict[str, int] = jsonb(default={}, server_default="'{}'::jsonb")
    leads_from: datetime | None = timestamp()
    created_at: datetime = created_at_column()
    cancelled_at: datetime | None = timestamp()


class SubscriptionRead(SQLModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    competition_level_id: uuid.UUID
    filters: dict[str, Any]
    last_received_at: datetime | None
    active: bool
    pause_reason: str | None
    schedule: dict[str, Any] | None = None
    caps: dict[str, int] = {}
    leads_from: datetime | None = None
    created_at: datetime
