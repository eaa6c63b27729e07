"""ledger daily totals: a roll-up of closed days for the admin overview's money charts

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 14:50:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "ledger_daily_totals",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("entries >= 0", name="ck_ledger_daily_entries"),
        sa.PrimaryKeyConstraint("day", "type"),
    )


def downgrade() -> None:
    op.drop_table("ledger_daily_totals")
