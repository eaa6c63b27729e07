"""engine: level walk as a declared cursor; balance rules by direction

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0006"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

from hotlead_app.infra.sqlfiles import run_sql_file


def upgrade() -> None:
    run_sql_file("0006_engine_cursor_up.sql")


def downgrade() -> None:
    run_sql_file("0006_down.sql")
    run_sql_file("0002_engine_up.sql")
