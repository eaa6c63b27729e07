"""After-commit jobs: written in the business transaction, published once it commits.

``add`` puts a row in the ``outbox`` table inside the caller's transaction and asks
the unit of work to publish it to Celery after the commit.  That publish touches no
database row, so a request stays one transaction.  The worker marks the row
``dispatched_at`` when the task starts (``mark_dispatched``).  The periodic ``drain``
re-publishes rows that no worker has started a while after they were written (the
broker was down, or the process died between commit and publish), backing off per
row.  Tasks are safe to run twice, since a row may be published more than once;
every task receives ``outbox_id``, a stable key for its own idempotency.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import select

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.infra.queue import get_celery
from hotlead_app.models import OutboxMessage
from hotlead_app.models._types import utcnow

log = logging.getLogger(__name__)

# A row not started by a worker this long after it was written is published again.
REPUBLISH_AFTER = timedelta(seconds=30)
# ...and again after this much more per earlier attempt (capped).
BACKOFF_STEP = timedelta(seconds=60)
BACKOFF_CAP = timedelta(minutes=30)


def add(uow: UnitOfWork, task: str, *, publish: bool = True, **kwargs: Any) -> uuid.UUID:
    """Queue ``task`` in the caller's transaction; published after its commit, or
    (``publish=False``) left for the drain, seconds later."""
    message = OutboxMessage(id=uuid.uuid4(), task=task, args=kwargs)
    uow.session.add(message)
    if publish:
        uow.after_commit(lambda: send(message.id, message.task, message.args))
    return message.id


def send_after_commit(uow: UnitOfWork, jobs: list[dict[str, Any]]) -> None:
    """Publish jobs that SQL wrote to the outbox (``{id, task, args}``) once the
    transaction commits, exactly as :func:`add` does for its own."""
    for job in jobs:
        message_id, task, args = uuid.UUID(str(job["id"])), job["task"], dict(job["args"])
        uow.after_commit(lambda m=message_id, t=task, a=args: send(m, t, a))


def send(message_id: uuid.UUID, task: str, args: dict[str, Any]) -> bool:
    """Hand the job to the broker.  Never raises: on failure the drain retries."""
    try:
        get_celery().send_task(task, kwargs={**args, "outbox_id": str(message_id)})
        return True
    except Exception as exc:  # broker down
        log.warning("outbox publish failed for %s (%s): %s", message_id, task, exc)
        return False


def mark_dispatched(message_id: str | uuid.UUID | None) -> None:
    """Called by the worker when a task starts: the job is in a worker's hands."""
    if not message_id:
        return
    try:
        with unit_of_work() as uow:
            uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == uuid.UUID(str(message_id)), OutboxMessage.dispatched_at.is_(None))
                .values(dispatched_at=func.now())
            )
    except Exception:  # never fail a task over bookkeeping; the drain may re-send it
        log.exception("could not mark outbox row %s dispatched", message_id)


def publish(ids: list[uuid.UUID]) -> int:
    """Publish these rows now (if no worker started them yet); how many went out."""
    sent = 0
    for message_id in ids:
        try:
            with unit_of_work() as uow:
                message = uow.session.exec(
                    select(OutboxMessage)
                    .where(OutboxMessage.id == message_id, OutboxMessage.dispatched_at.is_(None))
                    .with_for_update(skip_locked=True)
                ).first()
                if message is None:
                    continue
                message.attempts += 1
                message.published_at = utcnow()
                if send(message.id, message.task, message.args):
                    message.last_error = None
                    sent += 1
                else:
                    message.last_error = "broker unreachable"
                uow.session.add(message)
        except Exception:  # the database itself is unreachable: the next drain retries
            log.exception("outbox publish crashed for %s", message_id)
    return sent


def drain(*, older_than_seconds: float | None = None, limit: int = 500) -> int:
    """Publish again every row no worker has started (the periodic safety net)."""
    now = utcnow()
    first = timedelta(seconds=older_than_seconds) if older_than_seconds is not None else REPUBLISH_AFTER
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(OutboxMessage.id, OutboxMessage.published_at, OutboxMessage.attempts)
            .where(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= now - first)
            .where(or_(OutboxMessage.published_at.is_(None),
                       OutboxMessage.published_at <= now - first))
            .order_by(OutboxMessage.created_at)
            .limit(limit)
        ).all()
    due = [
        row.id for row in rows
        if row.published_at is None or row.published_at <= now - min(BACKOFF_STEP * row.attempts, BACKOFF_CAP)
        or older_than_seconds is not None
    ]
    return publish(due)
