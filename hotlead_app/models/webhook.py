"""Webhook delivery to a provider's own systems (DOMAIN.md "Delivery to the provider's
own systems"): its endpoints, one delivery per event and endpoint, every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, Text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, timestamp, uuid_pk

DELIVERY_TYPES = ("lead.assigned", "lead.refunded", "ping")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(SQLModel, table=True):
    """A provider's receiver.  ``secret`` signs every delivery; shown once, stored sealed
    with the app's secret key (services/webhooks.py).  An endpoint is
    never deleted (its deliveries and attempts stay): ``deleted_at`` hides it."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_provider", "provider_id", postgresql_where="deleted_at IS NULL"),
        CheckConstraint("consecutive_failures >= 0", name="ck_webhook_endpoints_failures"),
    )

    id: uuid.UUID = uuid_pk()
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    secret: str = Field(max_length=200)
    active: bool = Field(default=True)
    consecutive_failures: int = Field(default=0)
    disabled_at: datetime | None = timestamp()
    created_at: datetime = created_at_column()
    deleted_at: datetime | None = timestamp()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint; its id is the event id the receiver deduplicates by.
    ``body`` is the exact JSON text sent (frozen when the delivery is made)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("type IN ('lead.assigned', 'lead.refunded', 'ping')", name="ck_webhook_deliveries_type"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where="status = 'pending'"),
    )

    id: uuid.UUID = uuid_pk()
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoints.id", nullable=False)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    # No foreign key, like ledger_entries.related_entity_id: lead_assignments must stay
    # un-TRUNCATE-able by its own guard, which a referencing key would pre-empt.
    assignment_id: uuid.UUID | None = Field(default=None, index=True)
    type: str = Field(max_length=32)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=16)
    attempt_count: int = Field(default=0)
    next_attempt_at: datetime = created_at_column()
    # Retried until then (24 h after it was made, or after a redeliver), then failed.
    expires_at: datetime = timestamp(nullable=False)
    delivered_at: datetime | None = timestamp()
    created_at: datetime = created_at_column()


class WebhookAttempt(SQLModel, table=True):
    """One POST of a delivery (append-only in the database)."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id", nullable=False, index=True)
    attempted_at: datetime = created_at_column()
    status_code: int | None = Field(default=None)
    latency_ms: int = Field(default=0)
    error: str | None = Field(default=None, max_length=1000)
