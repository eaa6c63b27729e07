"""A real Celery worker runs the engine: approval queues the distribution through the
outbox, and a deposit queues the retry of the leads still waiting.

The worker and this test share one database with other tests, so each test makes its
own niche (unique slug) and its own providers, and looks only at those.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import redis
from sqlalchemy import text

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.services import distribution, leads
from tests.conftest import wait_for
from tests.factories import (
    ADMIN,
    assignments_of,
    confirmed_lead,
    deposit,
    make_market,
    make_provider,
    subscribe,
)

TIMEOUT = 60


def status_of(lead_id: uuid.UUID) -> str:
    with unit_of_work() as uow:
        return uow.session.execute(text("SELECT status::text FROM leads WHERE id = :id"), {"id": lead_id}).scalar()


def outbox_jobs(task: str, since: datetime) -> list:
    with unit_of_work() as uow:
        return list(
            uow.session.execute(
                text("SELECT id, args, dispatched_at FROM outbox WHERE task = :task AND created_at >= :since"),
                {"task": task, "since": since},
            ).all()
        )


def now() -> datetime:
    with unit_of_work() as uow:
        return uow.session.execute(text("SELECT clock_timestamp()")).scalar()


def test_the_worker_distributes_a_lead_once_an_admin_approves_it(shared_db, celery_worker):
    market = make_market(
        levels=[("Exclusive", "25.00", 1), ("Shared", "10.00", 2)],
        providers=3,
        balance="80.00",
        slug=f"worker-{uuid.uuid4().hex[:8]}",
    )
    lead_id = confirmed_lead(market.slug)

    leads.approve_lead(lead_id=lead_id, actor=ADMIN)

    wait_for(lambda: status_of(lead_id) == "distributed", timeout=TIMEOUT, message="the worker to distribute")
    made = assignments_of(lead_id)
    assert len(made) == 3 and len({a.provider_id for a in made}) == 3
    assert sorted(str(a.charged_amount) for a in made) == ["10.00", "10.00", "25.00"]
    chosen = [d for d in distribution.explain(lead_id=lead_id) if d.chosen]
    assert {d.subscription_id for d in chosen} == {a.subscription_id for a in made}
    with unit_of_work() as uow:
        drift = uow.session.execute(
            text("SELECT count(*) FROM balance_drift WHERE provider_id = ANY(:ids)"),
            {"ids": [p.id for p in market.providers]},
        ).scalar()
    assert drift == 0


def test_a_lead_nobody_can_pay_for_waits_and_the_worker_distributes_it_after_a_deposit(
    shared_db, celery_worker, redis_server
):
    market = make_market(levels=[("Shared", "10.00", 2)], providers=0, slug=f"waiting-{uuid.uuid4().hex[:8]}")
    broke = make_provider(name="Broke")
    sub = subscribe(broke.id, market.level("Shared").id)
    assert sub.active is False and sub.pause_reason == "insufficient_balance"
    lead_id = confirmed_lead(market.slug)
    approved_at = now()

    leads.approve_lead(lead_id=lead_id, actor=ADMIN)

    # The distribution job went out and the worker took everything queued; nobody is
    # eligible, so the lead is still approved a while later.
    wait_for(
        lambda: [
            j
            for j in outbox_jobs(jobs.DISTRIBUTE_LEAD, approved_at)
            if j.args.get("lead_id") == str(lead_id) and j.dispatched_at
        ],
        timeout=TIMEOUT,
        message="the distribution job to be started by the worker",
    )
    broker = redis.Redis.from_url(redis_server.url())
    try:
        wait_for(lambda: broker.llen("distribution") == 0, timeout=TIMEOUT, message="the worker to take the job")
    finally:
        broker.close()
    time.sleep(2)
    assert status_of(lead_id) == "approved"
    assert assignments_of(lead_id) == []

    deposited_at = now()
    deposit(broke.id, "25.00")

    wait_for(
        lambda: [j for j in outbox_jobs(jobs.RETRY_WAITING, deposited_at) if j.dispatched_at],
        timeout=TIMEOUT,
        message="the retry of waiting leads the deposit queued",
    )
    wait_for(
        lambda: status_of(lead_id) == "distributed",
        timeout=TIMEOUT,
        message="the worker to distribute the waiting lead after the deposit",
    )
    (made,) = assignments_of(lead_id)
    assert (made.provider_id, made.subscription_id, str(made.charged_amount)) == (broke.id, sub.id, "10.00")
    with unit_of_work() as uow:
        balance, status = uow.session.execute(
            text("SELECT balance, status::text FROM service_providers WHERE id = :id"), {"id": broke.id}
        ).one()
    assert (str(balance), status) == ("15.00", "active")
