"""outbox relay: a partial index on the rows not yet published

The outbox relay (a thread of every Celery worker) looks for unpublished rows
several times a second; this keeps that query on a small index whatever the
size of the outbox.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 17:00:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL AND dispatched_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL AND dispatched_at IS NULL"),
    )
