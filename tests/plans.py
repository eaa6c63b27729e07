"""Query plans of what a service function really sends (the index tests' helpers).

``plans_of(call, table)`` runs ``call`` (a real service function), captures every
statement it sends through the app's engine, and returns PostgreSQL's EXPLAIN of
those that read ``table``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from hotlead_app.db import get_engine


def sql(statement: str, params: Any = None) -> list[tuple]:
    """Run one statement on its own connection and commit; its rows, if any."""
    with get_engine().connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute(statement, params)
        rows = cur.fetchall() if cur.description else []
        conn.connection.driver_connection.commit()
        return rows


def captured(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Every statement ``call`` sends through the app's engine, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def plan(statement: str, params: Any = None) -> str:
    return "\n".join(row[0] for row in sql("EXPLAIN " + statement, params))


def plans_of(call: Callable[[], Any], table: str, *, where: Callable[[str], bool] | None = None) -> list[str]:
    """The plans of the statements ``call`` sends that read ``table`` (and pass ``where``)."""
    statements = [
        (s, p)
        for s, p in captured(call)
        if (f"FROM {table}" in s or f"JOIN {table}" in s) and (where is None or where(s))
    ]
    assert statements, f"no statement read {table}"
    return [plan(s, p) for s, p in statements]
