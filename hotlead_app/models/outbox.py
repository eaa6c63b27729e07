from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, jsonb, timestamp, uuid_pk


class OutboxMessage(SQLModel, table=True):
    """A job to run after the transaction that wrote it commits.

    Written in the same transaction as the business change; the outbox relay (a
    thread of each Celery worker) publishes it to Celery and sets ``published_at``.
    The worker sets ``dispatched_at`` when the task starts (a lease, renewed at
    every retry) and ``done_at`` when it succeeds; the periodic drain re-publishes
    rows not done a while later (never started, failed, or whose lease ran out),
    with backoff (``attempts``).  See ``services/outbox.py``."""

    __tablename__ = "outbox"
    __table_args__ = (
        # What the periodic drain looks at: the jobs not done yet.
        Index(
            "ix_outbox_not_done",
            "created_at",
            postgresql_where=text("done_at IS NULL"),
        ),
        # What the relay looks for, several times a second: rows not yet published.
        Index(
            "ix_outbox_unpublished",
            "created_at",
            postgresql_where=text("published_at IS NULL AND dispatched_at IS NULL"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    task: str = Field(max_length=200)
    args: dict[str, Any] = jsonb(default={})
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None)
    created_at: datetime = created_at_column()
    published_at: datetime | None = timestamp()
    dispatched_at: datetime | None = timestamp()
    done_at: datetime | None = timestamp()
