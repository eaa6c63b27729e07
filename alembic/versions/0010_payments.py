"""payments — deposits, webhook events, reconciliation issues (owned by the payments work)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 13:40:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

from hotlead_app.infra.sqlfiles import run_sql_file


revision: str = "0010"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("processor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("raw_body", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), server_default="1", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('processed', 'ignored', 'error')", name="ck_webhook_events_outcome"
        ),
        sa.CheckConstraint("processor IN ('stripe', 'paypal')", name="ck_webhook_events_processor"),
        sa.CheckConstraint("processed_at IS NULL OR outcome IS NOT NULL", name="ck_webhook_events_processed_outcome"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("processor", "event_id", name="uq_webhook_events_processor_event"),
    )
    op.create_table(
        "deposits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("checkout_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("payment_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        sa.Column("ledger_entry_id", sa.Uuid(), nullable=True),
        sa.Column(
            "reversed_amount", sa.Numeric(precision=10, scale=2), server_default=sa.text("'0.00'"), nullable=False
        ),
        sa.Column("failure_reason", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("method IN ('stripe', 'paypal')", name="ck_deposits_method"),
        sa.CheckConstraint("status <> 'completed' OR completed_at IS NOT NULL", name="ck_deposits_completed_at"),
        sa.CheckConstraint("status IN ('pending', 'completed', 'failed', 'expired')", name="ck_deposits_status"),
        sa.CheckConstraint("amount > 0", name="ck_deposits_amount_positive"),
        sa.CheckConstraint("reversed_amount >= 0 AND reversed_amount <= amount", name="ck_deposits_reversed_amount"),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["service_providers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("method", "checkout_id", name="uq_deposits_checkout"),
        sa.UniqueConstraint("method", "payment_id", name="uq_deposits_payment"),
    )
    op.create_index("ix_deposits_provider_created", "deposits", ["provider_id", "created_at"], unique=False)
    op.create_index("ix_deposits_status_created", "deposits", ["status", "created_at"], unique=False)
    op.create_table(
        "reconciliation_issues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("processor", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("deposit_id", sa.Uuid(), nullable=True),
        sa.Column("processor_reference", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("expected_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("actual_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolved_at IS NOT NULL)", name="ck_reconciliation_issues_resolved"
        ),
        sa.CheckConstraint(
            "kind IN ('amount_mismatch', 'missing_processor_record', 'missing_deposit')",
            name="ck_reconciliation_issues_kind",
        ),
        sa.CheckConstraint("processor IN ('stripe', 'paypal')", name="ck_reconciliation_issues_processor"),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_reconciliation_issues_status"),
        sa.ForeignKeyConstraint(
            ["deposit_id"],
            ["deposits.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_reconciliation_issues_status_created", "reconciliation_issues", ["status", "created_at"], unique=False
    )
    op.create_index(
        "uq_reconciliation_issues_open",
        "reconciliation_issues",
        ["kind", "processor", "processor_reference"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    run_sql_file("0010_payments_up.sql")


def downgrade() -> None:
    run_sql_file("0010_payments_down.sql")
    op.drop_index(
        "uq_reconciliation_issues_open", table_name="reconciliation_issues", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index("ix_reconciliation_issues_status_created", table_name="reconciliation_issues")
    op.drop_table("reconciliation_issues")
    op.drop_index("ix_deposits_status_created", table_name="deposits")
    op.drop_index("ix_deposits_provider_created", table_name="deposits")
    op.drop_table("deposits")
    op.drop_table("webhook_events")
