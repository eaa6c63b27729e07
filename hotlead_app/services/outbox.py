"""Jobs written in the business transaction, handed to Celery by a relay.

``add`` puts a row in the ``outbox`` table inside the caller's transaction; nothing
else happens in the request (or the task) that wrote it, so a use case stays one
transaction and never waits on the broker.  The relay (:class:`Relay`, a thread in
every Celery worker, see ``workers/celery_app.py``) claims rows not yet published
(``FOR UPDATE SKIP LOCKED``, so several workers never publish the same row at the
same time), publishes them and marks them ``published_at`` in one transaction; when
there is nothing to do it waits for the next commit that writes a job (the outbox's
insert trigger notifies it) or ``RELAY_IDLE_SECONDS``, whichever comes first.

A job is done when its task SUCCEEDS (``mark_done``, on Celery's ``task_success``,
after the task's own commit), not when it starts: a task that fails — a database
error while composing an email, say — leaves its row not done, and the job runs
again.  While a task runs (or waits for its own Celery retry) its row holds a lease,
``dispatched_at``, set at every start (``mark_dispatched``); a final failure gives
the lease back (``release``).  The periodic ``drain`` publishes again the rows not
done that no worker holds — never started a while after they were published (a
message lost by the broker), failed, or whose lease ran out (a worker that died
without telling) — backing off per row.  Tasks are safe to run twice, since a row
may be published more than once; every task receives ``outbox_id``, a stable key
for its own idempotency.

So an email or a distribution job is never lost when Redis or every worker is down
at commit time: the row waits, and goes out once a worker (and its relay) runs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import func, or_, text, update
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.infra.queue import get_celery
from hotlead_app.models import OutboxMessage
from hotlead_app.models._types import utcnow
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

# A row not started by a worker this long after it was written is published again.
REPUBLISH_AFTER = timedelta(seconds=30)
# ...and again after this much more per earlier attempt (capped).
BACKOFF_STEP = timedelta(seconds=60)
BACKOFF_CAP = timedelta(minutes=30)
# A started job not done this long after its (last) start is taken as lost: longer
# than any task runs, and than the longest wait between two of Celery's own retries
# (jobs.py: 300 s), which start the task again and so renew the lease.
LEASE = timedelta(minutes=15)


def add(uow: UnitOfWork, task: str, **kwargs: Any) -> uuid.UUID:
    """Queue ``task`` (a name of ``hotlead_app/jobs.py``; ValueError for any other) in
    the caller's transaction; the relay publishes it once the transaction has
    committed (a rolled-back job never existed)."""
    jobs.job(task)
    message = OutboxMessage(id=uuid.uuid4(), task=task, args=kwargs)
    uow.session.add(message)
    return message.id


def send(message_id: uuid.UUID, task: str, args: dict[str, Any]) -> bool:
    """Hand the job to the broker.  Never raises: on failure the caller retries."""
    try:
        get_celery().send_task(task, kwargs={**args, "outbox_id": str(message_id)})
        return True
    except Exception as exc:  # broker down
        log.warning("outbox publish failed for %s (%s): %s", message_id, task, exc)
        return False


# --------------------------------------------------------------------------- relay

# How long the relay waits before looking again when it found nothing to publish.
RELAY_IDLE_SECONDS = 0.2
# ...and after a failed publish (broker down) or an unreachable database.
RELAY_ERROR_SECONDS = 2.0
RELAY_BATCH = 200

_CLAIM_UNPUBLISHED = text(
    """
    WITH due AS (
      SELECT id FROM outbox
      WHERE published_at IS NULL AND dispatched_at IS NULL
      ORDER BY created_at
      LIMIT :limit
      FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox o SET published_at = now(), attempts = o.attempts + 1, last_error = NULL
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.task, o.args, o.created_at
    """
)


class BrokerUnavailable(Exception):
    pass


def relay_once(*, limit: int = RELAY_BATCH) -> int:
    """Publish up to ``limit`` rows never published yet; how many went out.

    Claim, publish and mark are one transaction: if the broker fails part-way the
    whole batch stays unpublished (BrokerUnavailable) and is claimed again later
    (the rows already handed over then go out twice; tasks are idempotent)."""
    with unit_of_work() as uow:
        rows = uow.session.execute(_CLAIM_UNPUBLISHED, {"limit": limit}).all()
        for row in sorted(rows, key=lambda r: r.created_at):
            if not send(row.id, row.task, dict(row.args)):
                raise BrokerUnavailable(f"could not publish outbox row {row.id} ({row.task})")
    return len(rows)


#: The channel the outbox's insert trigger notifies (engine/outbox_notify.sql).
WAKE_CHANNEL = "hotlead_outbox"
#: The waker looks at the stop flag at least this often.
WAKER_SLICE_SECONDS = 0.5


class Waker:
    """Waits until a transaction that wrote outbox rows commits, or ``timeout`` passes.

    A connection of its own in autocommit mode LISTENs on :data:`WAKE_CHANNEL`; when it
    cannot connect it just sleeps (the relay's poll still finds every row), and tries
    again at the next wait."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._conn: psycopg.Connection[Any] | None = None
        self.wakeups = 0

    def _listen(self) -> psycopg.Connection[Any] | None:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            dsn = make_url(get_settings().database_url).set(drivername="postgresql")
            conn = psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
            conn.execute(f"LISTEN {WAKE_CHANNEL}")
        except Exception as exc:  # the database is unreachable: poll instead
            log.warning("outbox relay cannot listen for commits (%s); polling", exc)
            self._conn = None
            return None
        self._conn = conn
        return conn

    def wait(self, timeout: float) -> bool:
        """True when a commit woke it, False after ``timeout`` (or at a stop)."""
        conn = self._listen()
        if conn is None:
            self._stop.wait(timeout)
            return False
        deadline = time.monotonic() + timeout
        woke = False
        try:
            # In slices, so that stop() is seen soon whatever the timeout.
            while not woke and not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                for _ in conn.notifies(timeout=min(remaining, WAKER_SLICE_SECONDS), stop_after=1):
                    woke = True
            # Notifications that arrived together wake it once.
            for _ in conn.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            log.warning("outbox relay lost its listening connection (%s)", exc)
            self.close()
            self._stop.wait(timeout)
            return False
        self.wakeups += woke
        return woke

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection: nothing left to do
                pass
            self._conn = None


class Relay:
    """The relay loop on a daemon thread: ``start()``, ``stop()``.

    When idle it waits for a commit that wrote jobs (:class:`Waker`), at most
    ``idle_seconds``: a job goes out within milliseconds of its commit, and within
    ``idle_seconds`` if a notification is lost."""

    def __init__(self, *, idle_seconds: float = RELAY_IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waker = Waker(self._stop)
        self.published = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        log.info("outbox relay started (idle poll %.2f s)", self.idle_seconds)
        while not self._stop.is_set():
            try:
                sent = relay_once()
            except BrokerUnavailable as exc:
                log.warning("outbox relay: %s; retrying in %.0f s", exc, RELAY_ERROR_SECONDS)
                self._stop.wait(RELAY_ERROR_SECONDS)
                continue
            except Exception:  # the database is unreachable: keep trying
                log.exception("outbox relay failed; retrying in %.0f s", RELAY_ERROR_SECONDS)
                self._stop.wait(RELAY_ERROR_SECONDS)
                continue
            self.published += sent
            if sent < RELAY_BATCH:
                self._waker.wait(self.idle_seconds)
        self._waker.close()
        log.info("outbox relay stopped (%d published)", self.published)

    @property
    def wakeups(self) -> int:
        """How many times a commit woke the relay (tests, diagnostics)."""
        return self._waker.wakeups


def redeliverable(now: Any) -> Any:
    """Rows not done that no worker holds: never started, given back, or lease run out."""
    return col(OutboxMessage.done_at).is_(None) & or_(
        col(OutboxMessage.dispatched_at).is_(None), col(OutboxMessage.dispatched_at) <= now - LEASE
    )


def _mark(message_id: str | uuid.UUID | None, what: str, **values: Any) -> None:
    if not message_id:
        return
    try:
        with unit_of_work() as uow:
            uow.session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == uuid.UUID(str(message_id)), col(OutboxMessage.done_at).is_(None))
                .values(**values)
            )
    except Exception:  # never fail a task over bookkeeping: the drain sends the job again
        log.exception("could not mark outbox row %s %s", message_id, what)


def mark_dispatched(message_id: str | uuid.UUID | None) -> None:
    """Called by the worker when a task starts (again): the job is in a worker's hands,
    the drain leaves it alone for ``LEASE``."""
    _mark(message_id, "started", dispatched_at=func.now())


def mark_done(message_id: str | uuid.UUID | None) -> None:
    """Called by the worker when a task succeeded (after its own commit)."""
    _mark(message_id, "done", done_at=func.now(), last_error=None)


def release(message_id: str | uuid.UUID | None, error: str) -> None:
    """Called by the worker when a task failed for good: the drain sends it again."""
    _mark(message_id, "failed", dispatched_at=None, last_error=error[:1000])


def publish(ids: list[uuid.UUID]) -> int:
    """Publish these rows now (if not done and no worker holds them); how many went out."""
    sent = 0
    for message_id in ids:
        try:
            with unit_of_work() as uow:
                message = uow.session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.id) == message_id, redeliverable(utcnow()))
                    .with_for_update(skip_locked=True)
                ).first()
                if message is None:
                    continue
                message.attempts += 1
                message.published_at = utcnow()
                message.dispatched_at = None  # a lease that ran out is void
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
    """Publish again every row not done that no worker holds (the periodic safety net)."""
    now = utcnow()
    first = timedelta(seconds=older_than_seconds) if older_than_seconds is not None else REPUBLISH_AFTER
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(col(OutboxMessage.id), col(OutboxMessage.published_at), col(OutboxMessage.attempts))
            .where(redeliverable(now), col(OutboxMessage.created_at) <= now - first)
            .where(or_(col(OutboxMessage.published_at).is_(None), col(OutboxMessage.published_at) <= now - first))
            .order_by(col(OutboxMessage.created_at))
            .limit(limit)
        ).all()
    due = [
        row[0]
        for row in rows
        if row[1] is None or row[1] <= now - min(BACKOFF_STEP * row[2], BACKOFF_CAP) or older_than_seconds is not None
    ]
    return publish(due)
