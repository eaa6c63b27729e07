"""Prometheus metrics, read the way Prometheus reads them: real scrapes over HTTP of the
app (several server processes in multiprocess mode), of a real Celery worker's port, and
of the gauges read from PostgreSQL and Redis; and the public port refusing /metrics and
/readyz in prod while the internal port answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import httpx
import pytest
import redis
from sqlalchemy import text

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.devstack.embedded import free_port
from hotlead_app.devstack.harness import point_settings_at
from hotlead_app.domain.errors import IllegalTransition
from hotlead_app.infra import metrics
from hotlead_app.infra.queue import get_celery
from hotlead_app.services import distribution, leads, ops_gauges, outbox, refunds
from hotlead_app.settings import PROJECT_ROOT
from tests.conftest import child_env, stop_process_group, wait_for
from tests.factories import ADMIN, ROOFING_PAYLOAD, approved_lead, assignments_of, confirmed_lead, make_market
from tests.ops.harness import fetch, own_redis_url, samples, start_metrics_worker, value

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def scrape(base: str) -> dict:
    status, body = fetch(f"{base}/metrics")
    assert status == 200, body
    return samples(body)


# --------------------------------------------------------------------------- HTTP


def test_http_requests_are_counted_by_route_template_with_latency(db, api_server):
    before = scrape(api_server)
    ids = [uuid.uuid4() for _ in range(3)]
    for lead_id in ids:
        assert httpx.get(f"{api_server}/api/v1/admin/leads/{lead_id}").status_code == 401
    assert httpx.get(f"{api_server}/api/v1/niches").status_code == 200
    assert httpx.get(f"{api_server}/no/such/{ids[0]}").status_code == 404
    _status, body = fetch(f"{api_server}/metrics")
    after = samples(body)

    route = "/api/v1/admin/leads/{lead_id}"
    counted = value(after, "hotlead_http_requests_total", route=route, method="GET", status="401")
    assert counted - value(before, "hotlead_http_requests_total", route=route, method="GET", status="401") == 3
    assert value(after, "hotlead_http_requests_total", route="/api/v1/niches", method="GET", status="200") >= 1
    assert value(after, "hotlead_http_requests_total", route="<other>", method="GET", status="404") >= 1
    observed = value(after, "hotlead_http_request_duration_seconds_count", route=route, method="GET")
    assert observed - value(before, "hotlead_http_request_duration_seconds_count", route=route, method="GET") == 3
    assert (
        value(after, "hotlead_http_request_duration_seconds_bucket", route=route, method="GET", le="+Inf") == observed
    )
    # Raw paths never become labels: no id of these requests appears in the scrape.
    assert not any(str(i) in body for i in ids)
    assert not UUID_RE.search(body)


def served_by_process(metrics_dir) -> dict[str, float]:
    """GET /api/v1/niches answered, per server process (each process's own counter file)."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as one:
            shutil.copy(path, one)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=one)
            counts[path.stem.split("_")[-1]] = value(
                generate_latest(registry).decode(),
                "hotlead_http_requests_total",
                route="/api/v1/niches",
                method="GET",
                status="200",
            )
    return counts


def test_several_server_processes_are_aggregated_in_one_scrape(tmp_path, pg, redis_server, shared_db_url):
    """uvicorn with 2 worker processes in multiprocess mode: whichever process answers the
    scrape, it counts the requests every process served."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    log = tmp_path / "web.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hotlead_app.api:build_app",
                "--factory",
                "--workers",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=PROJECT_ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=child_env(shared_db_url, redis_server.url(), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: proc.poll() is not None or fetch(f"{base}/healthz")[0] == 200,
            timeout=60,
            message="uvicorn with 2 workers",
        )
        assert proc.poll() is None, log.read_text()
        # Both processes must be up before counting: each writes its own files.
        wait_for(
            lambda: len({p.name.split("_")[-1] for p in metrics_dir.glob("counter_*.db")}) >= 2,
            timeout=30,
            message="both server processes",
        )
        # A new connection each time: the kernel hands them to either process.  Go on
        # (bounded) until both processes have served some, so the sum is a real sum.
        sent = 0
        while sent < 60 or (len([n for n in served_by_process(metrics_dir).values() if n]) < 2 and sent < 600):
            with httpx.Client() as client:
                assert client.get(f"{base}/api/v1/niches").status_code == 200
            sent += 1
        per_process = served_by_process(metrics_dir)
        assert len([n for n in per_process.values() if n]) == 2, per_process
        assert sum(per_process.values()) == sent
        for _ in range(6):  # whichever process answers the scrape counts every request
            seen = value(
                scrape(base), "hotlead_http_requests_total", route="/api/v1/niches", method="GET", status="200"
            )
            assert seen == sent
    finally:
        stop_process_group(proc)


# --------------------------------------------------------------------------- use cases


def test_lead_funnel_distribution_money_and_refunds_are_counted(db):
    market = make_market(levels=[("Shared", "10.00", 2)], providers=2, balance="50.00")
    before = samples(metrics.render()[0].decode())

    lead_id = approved_lead(market.slug, ROOFING_PAYLOAD)
    result = distribution.distribute_lead(lead_id=lead_id)
    assert result.outcome == "distributed"
    refunds.refund_assignment(assignment_id=assignments_of(lead_id)[0].id, actor=ADMIN, reason="wrong number")
    after = samples(metrics.render()[0].decode())

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    slug = market.slug
    assert delta("hotlead_lead_transitions_total", niche=slug, from_state="new", to_state="pending_confirmation") == 1
    assert (
        delta(
            "hotlead_lead_transitions_total", niche=slug, from_state="pending_confirmation", to_state="pending_approval"
        )
        == 1
    )
    assert delta("hotlead_lead_transitions_total", niche=slug, from_state="pending_approval", to_state="approved") == 1
    assert delta("hotlead_lead_transitions_total", niche=slug, from_state="approved", to_state="distributed") == 1
    assert delta("hotlead_assignments_total", niche=slug) == 2
    assert Decimal(str(delta("hotlead_charges_amount_total"))) == Decimal("20.00")
    assert Decimal(str(delta("hotlead_refunds_amount_total"))) == Decimal("10.00")
    assert delta("hotlead_distribution_duration_seconds_count") == 1
    assert delta("hotlead_distribution_duration_seconds_sum") > 0


def test_a_refused_transition_is_not_counted(db):
    market = make_market(providers=0)
    lead_id = confirmed_lead(market.slug)
    leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="spam")
    before = samples(metrics.render(include_state=False)[0].decode())
    with pytest.raises(IllegalTransition):
        leads.approve_lead(lead_id=lead_id, actor=ADMIN)  # rejected -> approved is illegal: rolled back
    after = samples(metrics.render(include_state=False)[0].decode())
    labels = {"niche": market.slug, "from_state": "rejected", "to_state": "approved"}
    assert (
        value(after, "hotlead_lead_transitions_total", **labels)
        == value(before, "hotlead_lead_transitions_total", **labels)
        == 0
    )


# --------------------------------------------------------------------------- state gauges


def _shift_balance(provider_id, delta: str) -> None:
    """Change a cached balance behind the ledger's back (guards switched off): ledger drift."""
    with unit_of_work() as uow:
        uow.session.execute(text("ALTER TABLE service_providers DISABLE TRIGGER service_providers_balance_guard"))
        uow.session.execute(
            text("UPDATE service_providers SET balance = balance + CAST(:delta AS numeric) WHERE id = :id"),
            {"id": provider_id, "delta": delta},
        )
        uow.session.execute(text("ALTER TABLE service_providers ENABLE TRIGGER service_providers_balance_guard"))


def test_gauges_read_waiting_leads_drift_issues_and_queues_at_scrape_time(db, api_server, redis_server, monkeypatch):
    broker = own_redis_url(redis_server)
    # The drift gauge is cached a minute per process by default: read it on every scrape here
    # (the cache itself: test_the_drift_gauge_is_read_once_per_cache_duration...).
    monkeypatch.setenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", "0")
    point_settings_at(redis_url=broker)  # an empty broker database of this test's own
    redis.Redis.from_url(broker).flushdb()
    empty = scrape(api_server)
    assert value(empty, "hotlead_leads_waiting_distribution") == 0
    assert value(empty, "hotlead_leads_waiting_oldest_age_seconds") == 0
    assert value(empty, "hotlead_ledger_drift_providers") == 0
    assert value(empty, "hotlead_reconciliation_issues_open") == 0
    assert value(empty, "hotlead_outbox_unpublished_jobs") == 0
    assert value(empty, "hotlead_outbox_unpublished_oldest_age_seconds") == 0
    assert value(empty, "hotlead_metrics_source_up", source="database") == 1
    assert value(empty, "hotlead_metrics_source_up", source="redis") == 1

    # Ledger drift: a cached balance changed behind the ledger's back (guards switched off).
    rich = make_market(providers=1, balance="40.00").providers[0]
    with unit_of_work() as uow:
        uow.session.execute(text("ALTER TABLE service_providers DISABLE TRIGGER service_providers_balance_guard"))
        uow.session.execute(text("UPDATE service_providers SET balance = balance + 1 WHERE id = :id"), {"id": rich.id})
        uow.session.execute(text("ALTER TABLE service_providers ENABLE TRIGGER service_providers_balance_guard"))
        has_issues = uow.session.execute(text("SELECT to_regclass('reconciliation_issues')")).scalar()
        if has_issues:
            uow.session.execute(
                text(
                    "INSERT INTO reconciliation_issues (id, kind, processor, processor_reference, status, resolved_at) "
                    "VALUES (gen_random_uuid(), 'missing_deposit', 'stripe', 'pi_test_1', 'open', NULL), "
                    "       (gen_random_uuid(), 'missing_deposit', 'stripe', 'pi_test_2', 'resolved', now())"
                )
            )

    outbox.relay_once()  # what a worker's relay does; the deposit's own jobs are not this test's point
    redis.Redis.from_url(broker).flushdb()

    # Two approved leads nobody can buy (no providers): they wait; each submission published
    # its confirmation email job and each approval one distribution job.
    market = make_market(providers=0)
    approved_lead(market.slug)
    time.sleep(1.2)
    approved_lead(market.slug)
    pending = scrape(api_server)  # no worker, hence no relay: the four jobs wait in the outbox
    assert value(pending, "hotlead_outbox_unpublished_jobs") == 4
    assert 1.0 <= value(pending, "hotlead_outbox_unpublished_oldest_age_seconds") < 60
    assert outbox.relay_once() == 4  # as a worker's relay would (no worker reads the queues here)
    for _ in range(3):
        get_celery().send_task(jobs.OUTBOX_DRAIN)
    got = scrape(api_server)
    assert value(got, "hotlead_leads_waiting_distribution") == 2
    assert 1.0 <= value(got, "hotlead_leads_waiting_oldest_age_seconds") < 60
    assert value(got, "hotlead_ledger_drift_providers") == 1
    assert value(got, "hotlead_reconciliation_issues_open") == (1 if has_issues else 0)
    assert value(got, "hotlead_outbox_unpublished_jobs") == 0
    assert value(got, "hotlead_celery_queue_length", queue="distribution") == 2
    assert value(got, "hotlead_celery_queue_length", queue="celery") == 3
    assert value(got, "hotlead_celery_queue_length", queue="email") == 2


def test_the_drift_gauge_is_read_once_per_cache_duration_and_a_failed_read_is_not_kept(db, api_server, monkeypatch):
    """The ledger drift count (a view over every ledger) is kept HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS
    per process; the other database gauges stay live.  The cache's clock is moved, not waited for."""
    clock = [1000.0]
    monkeypatch.setattr(ops_gauges, "_monotonic", lambda: clock[0])
    monkeypatch.setenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", "30")
    point_settings_at()  # the setting is read at scrape time, from the settings in force
    ops_gauges.clear_drift_cache()
    market = make_market(providers=1, balance="40.00")
    rich = market.providers[0]

    first = scrape(api_server)
    assert value(first, "hotlead_ledger_drift_providers") == 0
    assert value(first, "hotlead_leads_waiting_distribution") == 0

    _shift_balance(rich.id, "1")
    quiet = make_market(providers=0)
    approved_lead(quiet.slug)  # nobody can buy it: it waits
    clock[0] = 1029.9
    held = scrape(api_server)
    assert value(held, "hotlead_ledger_drift_providers") == 0  # the count read at 1000, still kept
    assert value(held, "hotlead_leads_waiting_distribution") == 1  # the other gauges are live
    assert value(held, "hotlead_metrics_source_up", source="database") == 1

    clock[0] = 1030.0  # 30 s after the read: read again
    assert value(scrape(api_server), "hotlead_ledger_drift_providers") == 1
    _shift_balance(rich.id, "-1")
    clock[0] = 1059.0
    assert value(scrape(api_server), "hotlead_ledger_drift_providers") == 1  # kept from 1030

    # A read that fails: the source is down, no drift gauge, and nothing is kept.
    clock[0] = 1100.0
    with unit_of_work() as uow:
        uow.session.execute(text("ALTER VIEW balance_drift RENAME TO balance_drift_away"))
    try:
        down = scrape(api_server)
    finally:
        with unit_of_work() as uow:
            uow.session.execute(text("ALTER VIEW balance_drift_away RENAME TO balance_drift"))
    assert value(down, "hotlead_metrics_source_up", source="database") == 0
    assert not any(name == "hotlead_ledger_drift_providers" for name, _ in down)
    back = scrape(api_server)  # same instant: read again, not the 1 read at 1030
    assert value(back, "hotlead_metrics_source_up", source="database") == 1
    assert value(back, "hotlead_ledger_drift_providers") == 0

    # 0: no cache, every scrape reads.
    monkeypatch.setenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", "0")
    point_settings_at()
    _shift_balance(rich.id, "1")
    assert value(scrape(api_server), "hotlead_ledger_drift_providers") == 1


def test_the_drift_gauge_cache_setting_defaults_to_a_minute_and_refuses_negative_values(monkeypatch):
    from pydantic import ValidationError

    from hotlead_app.settings import Settings

    monkeypatch.delenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", raising=False)
    assert Settings().drift_gauge_cache_seconds == 60
    monkeypatch.setenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", "2.5")
    assert Settings().drift_gauge_cache_seconds == 2.5
    for bad in ("-1", "soon", "nan"):
        monkeypatch.setenv("HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_an_unreachable_source_is_reported_and_the_scrape_still_answers(db, api_server):
    point_settings_at(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    got = scrape(api_server)
    assert value(got, "hotlead_metrics_source_up", source="redis") == 0
    assert value(got, "hotlead_metrics_source_up", source="database") == 1
    assert not any(name == "hotlead_celery_queue_length" for name, _ in got)


def test_the_last_good_restore_time_comes_from_the_restore_checks(db, api_server, tmp_path, monkeypatch):
    from hotlead_app.services import backup

    monkeypatch.setenv("HOTLEAD_BACKUP_LOCATION", str(tmp_path / "backups"))
    point_settings_at()
    assert not any(name == "hotlead_last_good_restore_timestamp_seconds" for name, _ in scrape(api_server))
    checked = "2026-11-20T03:00:00+00:00"
    store = backup.get_store()
    for record in (
        '{"checked_at": "2026-11-19T03:00:00+00:00", "ok": true}',
        f'{{"checked_at": "{checked}", "ok": true}}',
        '{"checked_at": "2026-11-21T03:00:00+00:00", "ok": false, "error": "boom"}',
    ):
        store.append_text(backup.RESTORE_CHECKS, record + "\n")
    backup._last_good_cache.clear()
    got = scrape(api_server)
    from datetime import datetime

    assert value(got, "hotlead_last_good_restore_timestamp_seconds") == datetime.fromisoformat(checked).timestamp()


# --------------------------------------------------------------------------- Celery worker


def test_the_worker_exports_task_outcomes_emails_and_distribution_on_its_own_port(
    db, redis_server, smtp_sink, tmp_path
):
    broker = own_redis_url(redis_server)
    point_settings_at(redis_url=broker)
    redis.Redis.from_url(broker).flushdb()
    closed_smtp = f"smtp://127.0.0.1:{free_port()}"
    proc, port, _log = start_metrics_worker(
        database_url=db, redis_url=broker, smtp_url=closed_smtp, workdir=tmp_path / "worker"
    )
    worker = f"http://127.0.0.1:{port}"
    try:
        first = scrape(worker)
        # Every task has its series from the start, at 0.
        for task in (jobs.DISTRIBUTE_LEAD, jobs.EMAIL_LEAD_CONFIRMATION, jobs.OUTBOX_DRAIN):
            for outcome in ("success", "failure", "retry"):
                assert ("hotlead_celery_tasks_total", frozenset({"task": task, "outcome": outcome}.items())) in first
        # Only the app's scrape reads the database and the broker.
        assert not any(name.startswith("hotlead_leads_waiting") for name, _ in first)

        # Deposits queue receipts (SMTP is closed: they retry); approval queues the distribution
        # (the deposits' retry_waiting jobs may get there first: the engine distributes once).
        market = make_market(levels=[("Shared", "10.00", 2)], providers=2, balance="50.00")
        lead_id = approved_lead(market.slug)
        get_celery().send_task(jobs.EMAIL_NEW_LEADS, kwargs={"assignment_ids": ["not-an-id"]})  # fails

        def settled():
            got = scrape(worker)
            return (
                got
                if (
                    value(got, "hotlead_celery_tasks_total", task=jobs.DISTRIBUTE_LEAD, outcome="success") >= 1
                    and value(got, "hotlead_celery_tasks_total", task=jobs.EMAIL_NEW_LEADS, outcome="failure") >= 1
                    and value(got, "hotlead_celery_tasks_total", task=jobs.EMAIL_DEPOSIT_RECEIVED, outcome="retry") >= 1
                    and value(got, "hotlead_assignments_total", niche=market.slug) >= 2
                )
                else None
            )

        got = wait_for(settled, timeout=60, interval=0.5, message="the worker's task outcomes")
        assert len(assignments_of(lead_id)) == 2
        assert value(got, "hotlead_assignments_total", niche=market.slug) == 2
        assert (
            value(
                got, "hotlead_lead_transitions_total", niche=market.slug, from_state="approved", to_state="distributed"
            )
            == 1
        )
        assert value(got, "hotlead_charges_amount_total") == 20.0
        assert value(got, "hotlead_distribution_duration_seconds_count") >= 1
        assert value(got, "hotlead_emails_total", template="deposit_received", outcome="failed") >= 1
        assert value(got, "hotlead_emails_total", template="deposit_received", outcome="sent") == 0
        # The counts come from the pool's processes, aggregated through the folder.
        assert len(list((tmp_path / "worker" / "metrics").glob("counter_*.db"))) >= 2
    finally:
        stop_process_group(proc)


# --------------------------------------------------------------------------- who may read them


def _start(args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def test_in_prod_the_public_port_refuses_metrics_and_readyz_and_the_internal_port_serves_them(
    tmp_path, shared_db_url, redis_server
):
    token = "scrape-" + uuid.uuid4().hex
    public_port, internal_port = free_port(), free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = child_env(
        shared_db_url,
        redis_server.url(),
        HOTLEAD_ENV="prod",
        HOTLEAD_SECRET_KEY="p" * 48,
        HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD="x" * 20,
        HOTLEAD_SMTP_URL="smtp://mail.internal.example:587",
        HOTLEAD_METRICS_TOKEN=token,
        HOTLEAD_INTERNAL_PORT=str(internal_port),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        STRIPE_API_KEY="",
        PAYPAL_CLIENT_ID="",
    )
    public = _start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hotlead_app.api:build_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(public_port),
        ],
        env,
        tmp_path / "public.log",
    )
    internal = _start([sys.executable, "-m", "hotlead_app.api.internal"], env, tmp_path / "internal.log")
    pub, inner = f"http://127.0.0.1:{public_port}", f"http://127.0.0.1:{internal_port}"
    try:
        for proc, base, log in ((public, pub, "public.log"), (internal, inner, "internal.log")):
            wait_for(
                lambda proc=proc, base=base: proc.poll() is not None or fetch(f"{base}/healthz")[0] == 200,
                timeout=60,
                message=log,
            )
            assert proc.poll() is None, (tmp_path / log).read_text()
        assert fetch(f"{pub}/api/v1/niches")[0] == 200  # the public port is the app

        for path in ("/metrics", "/readyz"):
            assert fetch(f"{pub}{path}")[0] == 404
            assert fetch(f"{pub}{path}", {"Authorization": "Bearer wrong-token"})[0] == 404
            assert fetch(f"{pub}{path}", {"Authorization": token})[0] == 404  # not as a Bearer credential
            assert fetch(f"{pub}{path}", {"Authorization": f"Bearer {token}"})[0] == 200
            assert fetch(f"{inner}{path}")[0] == 200
        _status, body = fetch(f"{inner}/metrics")
        # The internal port aggregates the public server's processes (same folder) and reads the state.
        assert value(body, "hotlead_http_requests_total", route="/api/v1/niches", method="GET", status="200") == 1
        assert value(body, "hotlead_http_requests_total", route="/metrics", method="GET", status="404") == 3
        assert "hotlead_ledger_drift_providers" in body
        assert fetch(f"{inner}/api/v1/niches")[0] == 404  # the internal port serves nothing else
    finally:
        stop_process_group(public)
        stop_process_group(internal)


def test_in_dev_metrics_and_readyz_stay_open_on_the_public_port(db, api_server):
    assert os.environ.get("HOTLEAD_ENV", "dev") == "dev"
    assert fetch(f"{api_server}/metrics")[0] == 200
    assert fetch(f"{api_server}/readyz")[0] == 200
