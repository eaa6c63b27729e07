"""Webhook delivery end to end: a real Celery worker (consuming the ``webhooks`` queue,
its outbox relay publishing what the transactions wrote) POSTs to a real local HTTP
receiver.  The worker runs with short delays (timeout 2 s, retries 0.5 s doubling to
1 s, a claim of 4 s) on a database and a Redis database of this module alone; the
periodic sweep is called here instead of waiting for beat."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from hotlead_app.db import reset_engine, unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.models import EmailMessage, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hotlead_app.services import webhooks
from tests.conftest import clone_database, point_settings_at, start_worker, stop_process_group, wait_for
from tests.factories import approved_lead, make_market
from tests.webhook_receiver import Answer, Receiver

WORKER_ENV = {
    "HOTLEAD_WEBHOOK_TIMEOUT_SECONDS": "2",
    "HOTLEAD_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    "HOTLEAD_WEBHOOK_RETRY_MAX_SECONDS": "1",
    "HOTLEAD_WEBHOOK_CLAIM_SECONDS": "4",
}


@dataclass
class World:
    database_url: str
    redis_url: str
    smtp_url: str
    log: Path
    worker: subprocess.Popen

    def restart_worker(self, **env: str) -> None:
        self.worker = start_worker(self.database_url, self.redis_url, self.smtp_url, self.log, **{**WORKER_ENV, **env})


@pytest.fixture(scope="module")
def world(pg, redis_server, smtp_sink, tmp_path_factory) -> Iterator[World]:
    name = f"wh_{uuid.uuid4().hex[:10]}"
    database_url = clone_database(pg, name)
    redis_url = redis_server.url(db=5)  # its own queues: no other test's worker takes these jobs
    log = tmp_path_factory.mktemp("webhook-worker") / "worker.log"
    w = World(
        database_url,
        redis_url,
        smtp_sink.url,
        log,
        start_worker(database_url, redis_url, smtp_sink.url, log, **WORKER_ENV),
    )
    yield w
    stop_process_group(w.worker)
    reset_engine()
    pg.drop_database(name)


@pytest.fixture
def here(world) -> World:
    point_settings_at(database_url=world.database_url, redis_url=world.redis_url)
    return world


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _provider_with_endpoint(receiver: Receiver) -> tuple[Any, Actor, webhooks.NewEndpoint]:
    market = make_market(levels=[("Shared", "10.00", 2)], providers=1)
    (provider,) = market.providers
    actor = Actor(role="provider", provider_id=provider.id)
    return market, actor, webhooks.create_endpoint(actor=actor, url=receiver.url())


def _delivery(delivery_id: uuid.UUID) -> WebhookDelivery:
    with unit_of_work() as uow:
        return uow.session.exec(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)).one()


def _attempts(delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(col(WebhookAttempt.id))
            ).all()
        )


def _endpoint(endpoint_id: uuid.UUID) -> WebhookEndpoint:
    with unit_of_work() as uow:
        return uow.session.exec(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).one()


def sweeping(predicate: Callable[[], Any], *, timeout: float, message: str) -> Any:
    """Call the periodic sweep (as beat would) until ``predicate`` holds."""

    def swept() -> Any:
        webhooks.sweep()
        return predicate()

    return wait_for(swept, timeout=timeout, interval=0.3, message=message)


def _delivered(delivery_id: uuid.UUID) -> Callable[[], bool]:
    return lambda: _delivery(delivery_id).status == "delivered"


# --------------------------------------------------------------------------- tests


def test_an_assigned_lead_reaches_the_receiver_signed(here, receiver):
    market, _, endpoint = _provider_with_endpoint(receiver)
    lead_id = approved_lead(market.slug)  # the worker distributes it, then delivers
    (got,) = wait_for(lambda: receiver.received, timeout=60, message="the lead.assigned delivery")
    # DOMAIN.md's recipe, computed here rather than with the service's own helper.
    fields = dict(part.split("=", 1) for part in got.headers["hotlead-signature"].split(","))
    signed = f"{fields['t']}.".encode() + got.body
    assert fields["v1"] == hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert abs(int(fields["t"]) - time.time()) < 120
    assert webhooks.verify(endpoint.secret, got.headers["hotlead-signature"], got.body)
    body = json.loads(got.body)
    assert body["type"] == "lead.assigned" and body["id"] == got.delivery_id
    assert body["data"]["lead_id"] == str(lead_id) and body["data"]["shared_with"] == 1
    delivery_id = uuid.UUID(got.delivery_id)
    wait_for(_delivered(delivery_id), timeout=10, message="the delivery recorded as delivered")
    assert [a.status_code for a in _attempts(delivery_id)] == [200]


def test_a_receiver_failing_twice_then_answering_gets_the_same_id_three_times(here, receiver):
    _, actor, endpoint = _provider_with_endpoint(receiver)
    receiver.reset(Answer(status=500), Answer(status=503))
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.endpoint.id)
    sweeping(_delivered(delivery_id), timeout=60, message="delivered after two failures")
    assert receiver.ids() == [str(delivery_id)] * 3
    assert len({r.body for r in receiver.received}) == 1, "the same body every time"
    assert all(webhooks.verify(endpoint.secret, r.headers["hotlead-signature"], r.body) for r in receiver.received)
    for _ in range(5):  # delivered: nothing more, however often the sweep runs
        webhooks.sweep()
        time.sleep(0.4)
    assert receiver.ids() == [str(delivery_id)] * 3
    assert [a.status_code for a in _attempts(delivery_id)] == [500, 503, 200]
    assert _endpoint(endpoint.endpoint.id).consecutive_failures == 0

    # Redeliver through the queue: the same id once more.
    assert webhooks.redeliver(actor=actor, delivery_id=delivery_id) == delivery_id
    wait_for(lambda: len(receiver.received) == 4, timeout=30, message="the redelivery")
    assert receiver.ids() == [str(delivery_id)] * 4
    wait_for(_delivered(delivery_id), timeout=10, message="delivered again")


def test_a_receiver_that_hangs_past_the_timeout_is_retried(here, receiver):
    _, actor, endpoint = _provider_with_endpoint(receiver)
    receiver.reset(Answer(status=200, delay=5))  # longer than the worker's 2 s
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.endpoint.id)
    sweeping(_delivered(delivery_id), timeout=60, message="delivered after a timeout")
    first, second = _attempts(delivery_id)
    assert first.status_code is None and first.error == "no answer within 2 s"
    assert 1900 <= first.latency_ms < 4500
    assert second.status_code == 200 and second.error is None
    assert receiver.ids() == [str(delivery_id)] * 2


def test_a_worker_killed_mid_delivery_delivers_after_restart_with_the_same_id(here, receiver):
    _, actor, endpoint = _provider_with_endpoint(receiver)
    hold = threading.Event()
    receiver.reset(Answer(status=200, release=hold))
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.endpoint.id)
    wait_for(lambda: receiver.received, timeout=30, interval=0.02, message="the first POST")
    os.killpg(here.worker.pid, signal.SIGKILL)  # mid-POST: no answer read, nothing recorded
    here.worker.wait(timeout=10)
    hold.set()
    assert _attempts(delivery_id) == [] and _delivery(delivery_id).status == "pending"

    here.restart_worker()
    sweeping(_delivered(delivery_id), timeout=90, message="delivered by the restarted worker")
    assert receiver.ids() == [str(delivery_id)] * 2, "the receiver deduplicates by this id"
    assert [a.status_code for a in _attempts(delivery_id)] == [200]


def test_twenty_failures_in_a_row_disable_the_endpoint_and_email_the_provider(here, receiver, smtp_sink):
    market, actor, endpoint = _provider_with_endpoint(receiver)
    endpoint_id = endpoint.endpoint.id
    receiver.reset(default=Answer(status=500))
    deliveries = [webhooks.send_test(actor=actor, endpoint_id=endpoint_id) for _ in range(4)]
    sweeping(lambda: not _endpoint(endpoint_id).active, timeout=120, message="the endpoint disabled")
    disabled = _endpoint(endpoint_id)
    assert disabled.disabled_at is not None and disabled.consecutive_failures >= 20
    attempts = sum(len(_attempts(d)) for d in deliveries)
    assert attempts >= 20

    email = market.providers[0].email

    def disabled_notices() -> list:
        return [m for m in smtp_sink.to(email) if "webhook endpoint disabled" in m["Subject"].lower()]

    (message,) = wait_for(disabled_notices, timeout=60, message="the provider's email")
    assert endpoint.endpoint.url in message.get_body(preferencelist=("plain",)).get_content()
    with unit_of_work() as uow:
        kinds = uow.session.exec(
            select(EmailMessage.kind).where(EmailMessage.to_address == email, EmailMessage.kind == "webhook_disabled")
        ).all()
    assert len(kinds) == 1, "one email, however many attempts failed after the 20th"

    # Disabled: no more attempts, however often the sweep runs.
    time.sleep(2.5)  # any POST in flight when it was disabled is recorded
    settled = sum(len(_attempts(d)) for d in deliveries)
    for _ in range(4):
        webhooks.sweep()
        time.sleep(0.5)
    assert sum(len(_attempts(d)) for d in deliveries) == settled

    # Turned on again (the receiver fixed): the pending deliveries go out.
    receiver.reset(default=Answer(status=200))
    webhooks.update_endpoint(actor=actor, endpoint_id=endpoint_id, active=True)
    assert _endpoint(endpoint_id).consecutive_failures == 0
    sweeping(lambda: all(_delivery(d).status == "delivered" for d in deliveries), timeout=60, message="resumed")


def test_slow_receivers_do_not_hold_up_a_distribution(here, receiver):
    """Ten deliveries to a receiver taking 6 s each (under a timeout of 8 s here) and a
    worker of two processes: the POSTs wait on sender threads, not in the processes, so
    a lead approved meanwhile is distributed at once.  (Sent inline by the task, they
    would hold both processes and the distribution would wait for one of them.)"""
    from hotlead_app.models import Lead

    stop_process_group(here.worker)
    here.restart_worker(HOTLEAD_WEBHOOK_TIMEOUT_SECONDS="8", HOTLEAD_WEBHOOK_CLAIM_SECONDS="20")
    try:
        _, actor, endpoint = _provider_with_endpoint(receiver)
        receiver.reset(default=Answer(status=200, delay=6))
        pings = [webhooks.send_test(actor=actor, endpoint_id=endpoint.endpoint.id) for _ in range(10)]
        wait_for(lambda: len(receiver.received) >= 2, timeout=30, message="the slow POSTs under way")

        other = make_market(levels=[("Solo", "10.00", 1)], providers=1)  # its provider has no endpoint
        started = time.monotonic()
        lead_id = approved_lead(other.slug)

        def distributed() -> bool:
            with unit_of_work() as uow:
                lead = uow.session.get(Lead, lead_id)
                return lead is not None and lead.status.value == "distributed"

        wait_for(distributed, timeout=30, interval=0.05, message="the distribution")
        took = time.monotonic() - started
        assert took < 3.0, f"the distribution waited {took:.1f} s behind slow receivers"
        wait_for(
            lambda: all(_delivery(d).status == "delivered" for d in pings), timeout=60, message="every slow delivery"
        )
    finally:
        stop_process_group(here.worker)
        here.restart_worker()
