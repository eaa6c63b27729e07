"""The engine, the session factory and the unit of work shared by every entry point.

Reflex handlers, FastAPI routes and Celery tasks all reach PostgreSQL through
:func:`unit_of_work`: one use case, one transaction, committed once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlmodel import Session, create_engine

from hotlead_app.settings import get_settings

T = TypeVar("T")


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        # Keep as many connections as the threads that use them: overflow connections
        # are closed on return, and reopening them under load costs PostgreSQL CPU.
        pool_size=20,
        max_overflow=10,
        connect_args={"connect_timeout": 5},
    )


def _forget_engine_in_child() -> None:
    """A forked process (a Celery pool process re-spawned by a worker whose outbox
    relay holds connections) must not share its parent's sockets: it opens its own.
    The parent's connections are only dropped, never closed from here (psycopg does
    not close a connection from a process other than the one that opened it)."""
    get_engine.cache_clear()


os.register_at_fork(after_in_child=_forget_engine_in_child)


def reset_engine() -> None:
    """Forget the cached engine (tests point settings at another database)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


class UnitOfWork:
    """One transaction.  Work registered with :meth:`after_commit` runs only once
    the transaction has committed, never after a rollback."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after_commit.append(fn)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[UnitOfWork]:
    session = Session(engine or get_engine(), expire_on_commit=False)
    uow = UnitOfWork(session)
    try:
        yield uow
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    for fn in uow._after_commit:
        fn()


@contextmanager
def raw_transaction(engine: Engine | None = None) -> Iterator[DBAPICursor]:
    """One transaction on a pooled psycopg connection of the same engine, without the
    ORM: a cursor (``%(name)s`` parameters), committed once at the end of the block,
    rolled back on any exception, the connection back in the pool either way.

    Only for a use case whose whole write is plain SQL on a hot path (the public
    intake, ``services/intake.py::submit_lead``); everything else uses
    :func:`unit_of_work`.  What must happen after the commit is written after the block."""
    conn = (engine or get_engine()).raw_connection()
    try:
        cursor = conn.cursor()
        yield cursor
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()  # back to the pool


@event.listens_for(Engine, "connect")
def _set_utc(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    with dbapi_connection.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


@event.listens_for(Engine, "connect")
def _pass_engine_settings(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    """Settings the engine's SQL reads: ``hotlead.max_recharges_per_day`` for
    ``hotlead_start_recharge`` (engine/start_recharge.sql; 3 when unset)."""
    with dbapi_connection.cursor() as cur:
        cur.execute(
            "SELECT set_config('hotlead.max_recharges_per_day', %s, false)",
            (str(get_settings().max_recharges_per_day),),
        )
    dbapi_connection.commit()


def referenced(session: Session, model: type[T], key: Any) -> T:
    """The row a foreign key points at: it exists, the key guarantees it (a missing one
    is a broken database, not a case to handle)."""
    row = session.get(model, key)
    if row is None:
        raise LookupError(f"{model.__name__} {key} is referenced but missing")
    return row
