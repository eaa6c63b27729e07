"""outbox: a job is done when its task succeeds (done_at), not when it starts

``dispatched_at`` stays the time the task (last) started: a lease the drain
respects while it runs.  Rows a worker had started before this migration were
counted done then, and stay so.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-05 13:40:00
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0016"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox SET done_at = dispatched_at WHERE dispatched_at IS NOT NULL")
    op.drop_index("ix_outbox_undispatched", table_name="outbox", postgresql_where=sa.text("dispatched_at IS NULL"))
    op.create_index(
        "ix_outbox_not_done", "outbox", ["created_at"], unique=False, postgresql_where=sa.text("done_at IS NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_not_done", table_name="outbox", postgresql_where=sa.text("done_at IS NULL"))
    op.create_index(
        "ix_outbox_undispatched",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    # Under the old rule a started job counted done: a job started but not done
    # becomes "not started" again, so that the drain sends it.
    op.execute("UPDATE outbox SET dispatched_at = NULL WHERE done_at IS NULL")
    op.drop_column("outbox", "done_at")
