"""Migrations keep their triggers, views and functions in ``alembic/sql/*.sql``."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

SQL_DIR = Path(__file__).resolve().parent.parent.parent / "alembic" / "sql"


def _driver_connection() -> Any:
    """The migration's psycopg connection: SQL text runs as written (no bind-parameter
    parsing, ``%`` and ``:name`` stay literal), several statements at once."""
    from alembic import op

    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    return connection


def run_sql_file(name: str) -> None:
    """Run one file of SQL as written, inside the migration's transaction."""
    _driver_connection().execute((SQL_DIR / name).read_text())


def run_sql(sql: str) -> None:
    """Run SQL text as written (frozen in a migration by autogenerate from the engine
    files, ``hotlead_app/engine/``).  The text is dedented first: the migration's
    rendering indents it."""
    if sql.strip():
        _driver_connection().execute(textwrap.dedent(sql))
