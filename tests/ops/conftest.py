"""What the platform actually exports: the names of every sample in real scrapes of the
app's /metrics and a real Celery worker's port, after a run of the whole flow (a lead
submitted and confirmed over HTTP, approved by an admin over HTTP, distributed by the
worker, a refund, a failing task).  The dashboard and alert tests check against it."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import redis

from hotlead_app import jobs
from hotlead_app.devstack.harness import point_settings_at
from hotlead_app.infra.queue import get_celery
from tests.conftest import clone_database, stop_process_group, wait_for
from tests.ops.harness import fetch, own_redis_url, sample_names, start_metrics_worker


@pytest.fixture(scope="session")
def exported_metric_names(pg, redis_server, smtp_sink, api_server, tmp_path_factory) -> set[str]:
    from hotlead_app.db import unit_of_work
    from hotlead_app.models import UserRole
    from hotlead_app.services import accounts, backup, refunds
    from tests.factories import ADMIN, ROOFING_PAYLOAD, assignments_of, confirmation_token, make_market

    database = clone_database(pg, f"ops_{uuid.uuid4().hex[:8]}")
    broker = own_redis_url(redis_server)
    saved_location = os.environ.get("HOTLEAD_BACKUP_LOCATION")
    os.environ["HOTLEAD_BACKUP_LOCATION"] = str(tmp_path_factory.mktemp("backups"))
    point_settings_at(database_url=database, redis_url=broker)
    redis.Redis.from_url(broker).flushdb()
    proc, port, _log = start_metrics_worker(
        database_url=database,
        redis_url=broker,
        smtp_url=smtp_sink.url,
        workdir=tmp_path_factory.mktemp("exported-worker"),
    )
    try:
        market = make_market(levels=[("Shared", "10.00", 2)], providers=2, balance="50.00")
        resp = httpx.post(
            f"{api_server}/api/v1/leads",
            json={"niche": market.slug, "email": "buyer@example.com", "payload": ROOFING_PAYLOAD},
        )
        assert resp.status_code in (200, 201, 202), resp.text
        lead_id = uuid.UUID(resp.json()["id"])
        assert (
            httpx.post(f"{api_server}/api/v1/leads/confirm", json={"token": confirmation_token(lead_id)}).status_code
            == 200
        )
        with unit_of_work() as uow:
            accounts.create_user(
                uow, email="ops-admin@example.com", password="correct horse battery", role=UserRole.ADMIN
            )
        token = httpx.post(
            f"{api_server}/api/v1/auth/login",
            json={"email": "ops-admin@example.com", "password": "correct horse battery"},
        ).json()["token"]
        assert (
            httpx.post(
                f"{api_server}/api/v1/admin/leads/{lead_id}/approve", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
        wait_for(lambda: len(assignments_of(lead_id)) == 2, timeout=60, message="the worker to distribute")
        refunds.refund_assignment(assignment_id=assignments_of(lead_id)[0].id, actor=ADMIN, reason="test")
        get_celery().send_task(jobs.EMAIL_NEW_LEADS, kwargs={"assignment_ids": ["not-an-id"]})  # a failure
        worker = f"http://127.0.0.1:{port}/metrics"
        wait_for(
            lambda: f'outcome="failure",task="{jobs.EMAIL_NEW_LEADS}"}} 1.0' in fetch(worker)[1],
            timeout=30,
            message="the failing task",
        )
        # A restore check that passed, as the weekly job records it.
        backup.get_store().append_text(
            backup.RESTORE_CHECKS, json.dumps({"checked_at": datetime.now(UTC).isoformat(), "ok": True}) + "\n"
        )
        backup._last_good_cache.clear()
        status, app_text = fetch(f"{api_server}/metrics")
        assert status == 200
        return sample_names(app_text) | sample_names(fetch(worker)[1])
    finally:
        stop_process_group(proc)
        if saved_location is None:
            os.environ.pop("HOTLEAD_BACKUP_LOCATION", None)
        else:
            os.environ["HOTLEAD_BACKUP_LOCATION"] = saved_location
