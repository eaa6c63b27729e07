"""After-commit jobs: written in the business transaction, published once it commits.

``add`` puts a row in the ``outbox`` table inside the caller's transaction and asks
the unit of work to publish it after the commit.  Should the broker be down then,
the periodic ``drain`` publishes it later.  Tasks are safe to run twice, because a
row may be published twice (publish succeeded, marking it failed).  Every task
receives ``outbox_id``, a stable key for the job's own idempotency.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlmodel import select

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.infra.queue import get_celery
from hotlead_app.models import OutboxMessage
from hotlead_app.models._types import utcnow

log = logging.getLogger(__name__)


def add(uow: UnitOfWork, task: str, *, publish: bool = True, **kwargs: Any) -> uuid.UUID:
    """Queue ``task`` in the caller's transaction; published after its commit unless
    the caller publishes it itself (``publish=False``)."""
    message = OutboxMessage(task=task, args=kwargs)
    uow.session.add(message)
    if publish:
        uow.after_commit(lambda: _publish_ids([message.id]))
    return message.id


def _publish_one(message_id: uuid.UUID) -> bool:
    with unit_of_work() as uow:
        message = uow.session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.dispatched_at.is_(None))
            .with_for_update(skip_locked=True)
        ).first()
        if message is None:
            return False
        try:
            get_celery().send_task(message.task, kwargs={**message.args, "outbox_id": str(message.id)})
        except Exception as exc:  # broker down: the drain will try again
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("outbox publish failed for %s (%s): %s", message.id, message.task, exc)
            return False
        message.dispatched_at = utcnow()
        message.attempts += 1
        return True


def _publish_ids(ids: list[uuid.UUID]) -> int:
    return publish(ids)


def publish(ids: list[uuid.UUID]) -> int:
    """Publish these rows now; returns how many went out.  Never raises."""
    sent = 0
    for message_id in ids:
        try:
            sent += _publish_one(message_id)
        except Exception:  # the database itself is unreachable: the drain retries
            log.exception("outbox publish crashed for %s", message_id)
    return sent


def drain(*, older_than_seconds: float = 1.0, limit: int = 500) -> int:
    """Publish every row still waiting (the periodic safety net)."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with unit_of_work() as uow:
        ids = list(
            uow.session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= cutoff)
                .order_by(OutboxMessage.created_at)
                .limit(limit)
            )
        )
    return publish(ids)


def pending_count() -> int:
    from sqlalchemy import func

    with unit_of_work() as uow:
        return uow.session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None))
        ).one()
