"""Saved card and auto-recharge (DOMAIN.md "Auto-recharge and statements").

``billing_profiles``: one row per provider that has a Stripe customer: the saved card
(only what is shown: brand, last 4, expiry; the card itself stays at Stripe as a
PaymentMethod) and the auto-recharge settings.  ``recharges``: one row per recharge
started by the engine (``engine/start_recharge.sql``) in the transaction that lowered
the balance; its off-session PaymentIntent is created afterwards by the
``payments.recharge`` job, and its deposit completed only from the verified payment."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money, timestamp, uuid_pk

RECHARGE_STATUSES = ("pending", "processing", "succeeded", "failed")
#: A recharge whose payment is not settled yet: at most one per provider.
RECHARGE_IN_FLIGHT = ("pending", "processing")


class BillingProfile(SQLModel, table=True):
    __tablename__ = "billing_profiles"
    __table_args__ = (
        CheckConstraint("recharge_threshold IS NULL OR recharge_threshold >= 0", name="ck_billing_threshold"),
        CheckConstraint("recharge_amount IS NULL OR recharge_amount > 0", name="ck_billing_amount"),
        CheckConstraint(
            "NOT recharge_enabled OR (card_payment_method_id IS NOT NULL AND recharge_threshold IS NOT NULL "
            "AND recharge_amount IS NOT NULL)",
            name="ck_billing_enabled_needs_card",
        ),
        UniqueConstraint("stripe_customer_id", name="uq_billing_profiles_customer"),
    )

    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", primary_key=True)
    stripe_customer_id: str | None = Field(default=None, max_length=255)
    card_payment_method_id: str | None = Field(default=None, max_length=255)
    card_brand: str | None = Field(default=None, max_length=32)
    card_last4: str | None = Field(default=None, max_length=4)
    card_exp_month: int | None = Field(default=None)
    card_exp_year: int | None = Field(default=None)
    card_saved_at: datetime | None = timestamp()
    recharge_enabled: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    recharge_threshold: Decimal | None = money(nullable=True)
    recharge_amount: Decimal | None = money(nullable=True)
    recharge_currency: str = Field(default="USD", max_length=3, sa_column_kwargs={"server_default": "USD"})
    # Why auto-recharge was turned off by the platform (card_declined, authentication_required…).
    recharge_off_reason: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_column()
    updated_at: datetime | None = timestamp()


class Recharge(SQLModel, table=True):
    __tablename__ = "recharges"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_recharges_amount_positive"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in RECHARGE_STATUSES) + ")", name="ck_recharges_status"
        ),
        UniqueConstraint("provider_id", "seq", name="uq_recharges_provider_seq"),
        UniqueConstraint("payment_intent_id", name="uq_recharges_payment_intent"),
        # At most one recharge in flight per provider, whatever the code above does.
        Index(
            "uq_recharges_in_flight",
            "provider_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
        Index("ix_recharges_provider_created", "provider_id", "created_at"),
        Index("ix_recharges_open_created", "created_at", postgresql_where=text("status IN ('pending', 'processing')")),
    )

    id: uuid.UUID = uuid_pk()
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    seq: int
    amount: Decimal = money()
    currency: str = Field(default="USD", max_length=3)
    status: str = Field(default="pending", max_length=16)
    deposit_id: uuid.UUID | None = Field(default=None, foreign_key="deposits.id")
    payment_intent_id: str | None = Field(default=None, max_length=255)
    failure_code: str | None = Field(default=None, max_length=64)
    # The balance that started it (below the threshold).
    balance_at_start: Decimal = money()
    created_at: datetime = created_at_column()
    updated_at: datetime | None = timestamp()
    completed_at: datetime | None = timestamp()
