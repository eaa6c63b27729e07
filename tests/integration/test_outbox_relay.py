"""The outbox relay: jobs written by committed transactions go to the broker, once.

These tests run the relay in this process against a database of their own and a
Redis database number no worker listens to, so the messages can be counted in the
broker's queues.  (The relay thread of a real worker is exercised by
``test_worker_outbox.py`` and the e-mail delivery tests.)
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid

import pytest
import redis
from sqlmodel import select

from hotlead_app import jobs
from hotlead_app.db import referenced, unit_of_work
from hotlead_app.devstack.embedded import free_port
from hotlead_app.models import Lead, OutboxMessage
from hotlead_app.services import intake, outbox
from tests.conftest import point_settings_at, wait_for
from tests.factories import make_niche, unique_email

PAYLOAD = {"zip": "30301", "roof_type": "metal"}
RELAY_REDIS_DB = 7  # no worker consumes from this Redis database


@pytest.fixture
def relay_broker(db, redis_server):
    """Settings point the broker at Redis database 7, emptied before and after."""
    url = redis_server.url(RELAY_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    point_settings_at(redis_url=url)
    yield client
    client.flushdb()
    client.close()
    point_settings_at(redis_url=redis_server.url())


def _queued(client: redis.Redis, queue: str) -> list[dict]:
    """The Celery messages waiting in ``queue``: task name and kwargs of each."""
    out = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        out.append({"task": message["headers"]["task"], "kwargs": kwargs})
    return out


def _rows() -> list[OutboxMessage]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.created_at)).all())


def test_a_submitted_lead_touches_no_broker_and_the_relay_publishes_its_email_job(relay_broker):
    slug = make_niche()
    lead = intake.submit_lead(niche_slug=slug, email=unique_email(), payload=PAYLOAD)
    # The request wrote the job and published nothing.
    assert relay_broker.llen("email") == 0
    (row,) = _rows()
    assert row.published_at is None and row.attempts == 0

    assert outbox.relay_once() == 1
    (message,) = _queued(relay_broker, "email")
    assert message["task"] == jobs.EMAIL_LEAD_CONFIRMATION
    assert message["kwargs"]["lead_id"] == str(lead.id)
    assert message["kwargs"]["outbox_id"] == str(row.id)
    (row,) = _rows()
    assert row.published_at is not None and row.attempts == 1

    # Published rows are not published again by the relay (the drain's backoff decides that).
    assert outbox.relay_once() == 0
    assert relay_broker.llen("email") == 1


def test_a_rolled_back_transaction_leaves_nothing_to_relay(relay_broker):
    with pytest.raises(RuntimeError), unit_of_work() as uow:
        outbox.add(uow, jobs.EMAIL_ADMIN_ALERT, subject="never")
        raise RuntimeError("the use case failed before its commit")
    assert _rows() == []
    assert outbox.relay_once() == 0
    assert relay_broker.dbsize() == 0


def test_with_the_broker_down_rows_stay_unpublished_and_go_out_once_it_is_back(relay_broker, redis_server):
    slug = make_niche()
    for _ in range(3):
        intake.submit_lead(niche_slug=slug, email=unique_email(), payload=PAYLOAD)
    point_settings_at(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        with pytest.raises(outbox.BrokerUnavailable):
            outbox.relay_once()
    finally:
        point_settings_at(redis_url=redis_server.url(RELAY_REDIS_DB))
    assert all(r.published_at is None and r.attempts == 0 for r in _rows())

    assert outbox.relay_once() == 3
    assert len(_queued(relay_broker, "email")) == 3
    assert all(r.published_at is not None and r.attempts == 1 for r in _rows())


def test_two_relays_at_once_publish_every_row_exactly_once(relay_broker):
    with unit_of_work() as uow:
        ids = [outbox.add(uow, jobs.EMAIL_ADMIN_ALERT, subject=f"s{i}") for i in range(600)]
    totals: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sent = 0
            while True:
                n = outbox.relay_once(limit=50)
                if n == 0:
                    break
                sent += n
            totals.append(sent)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(totals) == 600
    published = [m["kwargs"]["outbox_id"] for m in _queued(relay_broker, "email")]
    assert sorted(published) == sorted(str(i) for i in ids)
    assert all(r.attempts == 1 for r in _rows())


def test_the_relay_thread_publishes_within_a_fraction_of_a_second_and_stops_cleanly(relay_broker):
    relay = outbox.Relay(idle_seconds=0.05)
    relay.start()
    try:
        with unit_of_work() as uow:
            job = outbox.add(uow, jobs.EMAIL_ADMIN_ALERT, subject="hello")
        (message,) = wait_for(
            lambda: _queued(relay_broker, "email"), timeout=5, interval=0.02, message="the relay thread to publish"
        )
        assert message["kwargs"]["outbox_id"] == str(job)
    finally:
        relay.stop()
    assert relay.published == 1
    assert not relay._thread.is_alive()


def test_a_commit_wakes_the_idle_relay_and_a_rollback_does_not(relay_broker):
    """The outbox's insert trigger notifies the relay at commit when a speed-to-lead job
    is written (engine/outbox_notify.sql, ``jobs.WAKE_RELAY``): with a 60-second idle
    poll, only the notification can get the job out within seconds."""
    relay = outbox.Relay(idle_seconds=60)
    relay.start()
    try:
        wait_for(lambda: relay._waker._conn is not None, timeout=10, message="the relay to listen")
        with pytest.raises(RuntimeError), unit_of_work() as uow:
            outbox.add(uow, jobs.DISTRIBUTE_LEAD, lead_id=str(uuid.uuid4()))
            uow.session.flush()
            raise RuntimeError("roll back")
        with unit_of_work() as uow:
            job = outbox.add(uow, jobs.DISTRIBUTE_LEAD, lead_id=str(uuid.uuid4()))
        (message,) = wait_for(
            lambda: _queued(relay_broker, "distribution"),
            timeout=10,
            interval=0.02,
            message="a commit to wake the relay",
        )
        assert message["kwargs"]["outbox_id"] == str(job)
        assert relay.wakeups == 1  # the rolled-back insert woke nobody
    finally:
        relay.stop(timeout=5)
    assert not relay._thread.is_alive()  # a stop is seen within the waker's slice


def test_other_jobs_do_not_wake_the_relay_and_go_with_the_next_wake_up(relay_broker):
    """Only ``jobs.WAKE_RELAY`` jobs NOTIFY (a NOTIFY serialises commits;
    engine/outbox_notify.sql): a public submission's confirmation, its resend and an
    admin alert wait with a 60-second idle poll, and the next distribution job that does
    wake the relay takes them along."""
    slug = make_niche()
    relay = outbox.Relay(idle_seconds=60)
    relay.start()
    try:
        wait_for(lambda: relay._waker._conn is not None, timeout=10, message="the relay to listen")
        lead = intake.submit_lead(niche_slug=slug, email=unique_email(), payload=PAYLOAD)
        intake.resend_confirmation(email=_lead_email(lead.id), lead_id=lead.id)
        with unit_of_work() as uow:
            outbox.add(uow, jobs.EMAIL_ADMIN_ALERT, subject="no hurry")
        assert len(_rows()) == 3
        # Long enough for a notification to have been delivered and relayed.
        time.sleep(1.5)
        assert relay.wakeups == 0
        assert relay_broker.llen("email") == 0
        with unit_of_work() as uow:
            wake = outbox.add(uow, jobs.DISTRIBUTE_LEAD, lead_id=str(uuid.uuid4()))
        wait_for(
            lambda: relay_broker.llen("email") == 3 and relay_broker.llen("distribution") == 1,
            timeout=10,
            interval=0.02,
            message="the woken relay to publish",
        )
        assert relay.wakeups == 1
    finally:
        relay.stop(timeout=5)
    tasks = sorted(m["task"] for m in _queued(relay_broker, "email"))
    assert tasks == sorted([jobs.EMAIL_LEAD_CONFIRMATION, jobs.EMAIL_LEAD_CONFIRMATION, jobs.EMAIL_ADMIN_ALERT])
    assert [m["kwargs"]["outbox_id"] for m in _queued(relay_broker, "distribution")] == [str(wake)]


def test_the_trigger_names_exactly_the_jobs_that_wake_the_relay():
    """``jobs.WAKE_RELAY`` is the list; the engine's trigger must name the same tasks."""
    from hotlead_app.engine.definitions import engine_dir

    sql = (engine_dir() / "outbox_notify.sql").read_text()
    (listed,) = re.findall(r"task IN \(([^)]*)\)", sql)
    assert sorted(re.findall(r"'([^']+)'", listed)) == sorted(jobs.WAKE_RELAY)


def _lead_email(lead_id) -> str:
    with unit_of_work() as uow:
        return referenced(uow.session, Lead, lead_id).email


def test_a_row_a_worker_already_started_is_not_published(relay_broker):
    with unit_of_work() as uow:
        job = outbox.add(uow, jobs.EMAIL_ADMIN_ALERT, subject="already running")
    outbox.mark_dispatched(str(job))
    assert outbox.relay_once() == 0
    assert relay_broker.dbsize() == 0
    (row,) = _rows()
    assert row.published_at is None and row.dispatched_at is not None
