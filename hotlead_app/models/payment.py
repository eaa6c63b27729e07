"""Payments: deposits through Stripe / PayPal, the webhook events that move them,
and the reconciliation issues found by comparing the processors with the ledger."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money, timestamp, uuid_pk

DEPOSIT_METHODS = ("stripe", "paypal")
DEPOSIT_STATUSES = ("pending", "completed", "failed", "expired")
WEBHOOK_OUTCOMES = ("processed", "ignored", "error")
ISSUE_KINDS = ("amount_mismatch", "missing_processor_record", "missing_deposit")
ISSUE_STATUSES = ("open", "resolved")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Deposit(SQLModel, table=True):
    """Money a provider sends through a processor.  ``pending`` until a verified
    payment event (or reconciliation) completes it; it only ever moves forward."""

    __tablename__ = "deposits"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_deposits_amount_positive"),
        CheckConstraint(_in("method", DEPOSIT_METHODS), name="ck_deposits_method"),
        CheckConstraint(_in("status", DEPOSIT_STATUSES), name="ck_deposits_status"),
        CheckConstraint("status <> 'completed' OR completed_at IS NOT NULL", name="ck_deposits_completed_at"),
        CheckConstraint("reversed_amount >= 0 AND reversed_amount <= amount", name="ck_deposits_reversed_amount"),
        UniqueConstraint("method", "checkout_id", name="uq_deposits_checkout"),
        UniqueConstraint("method", "payment_id", name="uq_deposits_payment"),
        Index("ix_deposits_provider_created", "provider_id", "created_at"),
        Index("ix_deposits_status_created", "status", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    method: str = Field(max_length=16)
    amount: Decimal = money()
    currency: str = Field(default="USD", max_length=3)
    status: str = Field(default="pending", max_length=16)
    # Stripe: the Checkout Session id; PayPal: the order id.
    checkout_id: str | None = Field(default=None, max_length=255)
    # Stripe: the PaymentIntent id; PayPal: the capture id.
    payment_id: str | None = Field(default=None, max_length=255)
    redirect_url: str | None = Field(default=None, sa_type=Text)
    ledger_entry_id: uuid.UUID | None = Field(default=None, foreign_key="ledger_entries.id")
    reversed_amount: Decimal = money(default=Decimal("0.00"))
    failure_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_column()
    updated_at: datetime | None = timestamp()
    completed_at: datetime | None = timestamp()


class WebhookEvent(SQLModel, table=True):
    """Every verified processor event, stored before it is processed; one row per
    (processor, event id) whatever the number of deliveries."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("processor", "event_id", name="uq_webhook_events_processor_event"),
        CheckConstraint(_in("processor", DEPOSIT_METHODS), name="ck_webhook_events_processor"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', WEBHOOK_OUTCOMES)}", name="ck_webhook_events_outcome"),
        CheckConstraint("processed_at IS NULL OR outcome IS NOT NULL", name="ck_webhook_events_processed_outcome"),
    )

    id: uuid.UUID = uuid_pk()
    processor: str = Field(max_length=16)
    event_id: str = Field(max_length=255)
    event_type: str = Field(max_length=128)
    raw_body: str = Field(sa_type=Text)
    deliveries: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    received_at: datetime = created_at_column()
    processed_at: datetime | None = timestamp()
    outcome: str | None = Field(default=None, max_length=16)
    error: str | None = Field(default=None, sa_type=Text)


class ReconciliationIssue(SQLModel, table=True):
    """A difference between a processor and the ledger that no code could settle."""

    __tablename__ = "reconciliation_issues"
    __table_args__ = (
        CheckConstraint(_in("kind", ISSUE_KINDS), name="ck_reconciliation_issues_kind"),
        CheckConstraint(_in("processor", DEPOSIT_METHODS), name="ck_reconciliation_issues_processor"),
        CheckConstraint(_in("status", ISSUE_STATUSES), name="ck_reconciliation_issues_status"),
        CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name="ck_reconciliation_issues_resolved"),
        # One open issue per fact: repeated runs do not pile up the same finding.
        Index(
            "uq_reconciliation_issues_open",
            "kind",
            "processor",
            "processor_reference",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_reconciliation_issues_status_created", "status", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    kind: str = Field(max_length=32)
    processor: str = Field(max_length=16)
    deposit_id: uuid.UUID | None = Field(default=None, foreign_key="deposits.id")
    processor_reference: str = Field(max_length=255)
    expected_amount: Decimal | None = money(nullable=True)
    actual_amount: Decimal | None = money(nullable=True)
    details: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="open", max_length=16)
    created_at: datetime = created_at_column()
    resolved_at: datetime | None = timestamp()
    resolved_by: uuid.UUID | None = Field(default=None)
    resolution_note: str | None = Field(default=None, sa_type=Text)
