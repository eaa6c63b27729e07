from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.models._types import created_at_column, money, pg_enum, uuid_pk


class LedgerEntry(SQLModel, table=True):
    """Append-only: the database refuses UPDATE, DELETE and TRUNCATE (migration 0002)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_ledger_amount_positive"),
        CheckConstraint("NOT is_reversal OR type = 'debit'", name="ck_ledger_reversal_is_debit"),
        Index("ix_ledger_provider_seq", "provider_id", "seq"),
        # Migration 0011: revenue per day over every provider (index-only scan of a date range)
        # and one provider's spend per day (its entries of the last N days, not all of them).
        Index("ix_ledger_created_type_amount", "created_at", "type", "amount"),
        Index("ix_ledger_provider_created", "provider_id", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True),
    )
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    type: LedgerEntryType = pg_enum(LedgerEntryType, "ledger_entry_type")
    amount: Decimal = money()
    balance_after: Decimal | None = money(nullable=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    related_entity_type: str | None = Field(default=None, max_length=64)
    related_entity_id: uuid.UUID | None = Field(default=None)
    memo: str | None = Field(default=None)
    # A payment processor taking back a deposit already spent: may overdraw.
    is_reversal: bool = Field(default=False)
    # The writing transaction's id: explanations read history as of a snapshot.
    txid: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, nullable=True, server_default=text("(pg_current_xact_id()::text)::bigint")),
    )
    created_at: datetime = created_at_column()


class LedgerEntryRead(SQLModel):
    id: uuid.UUID
    seq: int
    provider_id: uuid.UUID
    type: LedgerEntryType
    amount: Decimal
    balance_after: Decimal | None
    idempotency_key: str
    related_entity_type: str | None
    related_entity_id: uuid.UUID | None
    created_at: datetime
