"""Migrations keep their triggers, views and functions in ``alembic/sql/*.sql``."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "alembic" / "sql"


def run_sql_file(name: str) -> None:
    """Run one file of SQL as written, inside the migration's transaction: no
    bind-parameter parsing (``%`` and ``:name`` stay literal), several statements."""
    from alembic import op

    op.get_bind().connection.driver_connection.execute((SQL_DIR / name).read_text())
