"""engine: queue new-lead notices; return outbox jobs for publishing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 12:25:00
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

from hotlead_app.infra.sqlfiles import run_sql_file


def upgrade() -> None:
    run_sql_file("0008_engine_outbox_up.sql")


def downgrade() -> None:
    # Back to the 0006 engine by replaying its chain (0006 expects the 0002 functions).
    run_sql_file("0006_down.sql")
    run_sql_file("0002_engine_up.sql")
    run_sql_file("0006_engine_cursor_up.sql")
