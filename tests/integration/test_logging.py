"""Structured logs of a whole flow, read from the real processes' output: the web app as
production starts it (``reflex run --env prod``, backend only: the same app module, its
logging set-up and its server's access log) and a real Celery worker.

A person submits a lead, opens the link of the confirmation email and confirms; an admin
signs in and approves; the worker distributes; a provider signs in, makes an API key and
reads its leads with it.  Every line the loggers wrote is one JSON object with the same
field names in both processes, carries the request / task / lead / provider id where
known, and no secret of the flow appears anywhere in the output.  (The servers' own
start-up banners, printed before the app is loaded, are not log records.)"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import uuid

import httpx
import redis

from hotlead_app.db import unit_of_work
from hotlead_app.devstack.embedded import free_port
from hotlead_app.devstack.harness import point_settings_at
from hotlead_app.domain.actors import SYSTEM
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog
from tests.conftest import _copy_app, child_env, clone_database, stop_process_group, wait_for
from tests.factories import deposit, make_market, subscribe
from tests.ops.harness import fetch, own_redis_url, start_metrics_worker

FIELDS = {
    "time",
    "level",
    "event",
    "logger",
    "service",
    "request_id",
    "task_id",
    "lead_id",
    "provider_id",
    "message",
    "exception",
    "stack",
    "method",
    "path",
    "status",
    "duration_ms",
}  # the access lines
LEVELS = {"debug", "info", "warning", "error", "critical"}
# What Python's or Celery's default formatters print: a log line that escaped the JSON set-up.
PLAIN_LOG = re.compile(r"^(\[\d{4}-\d\d-\d\d [\d:,]+: )?(DEBUG|INFO|WARNING|ERROR|CRITICAL)[/: ]")


def json_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
        else:
            assert not PLAIN_LOG.match(line), f"a log line that is not JSON: {line!r}"
    return found


def test_a_full_flow_logs_one_json_object_per_line_with_ids_and_no_secret(pg, redis_server, smtp_sink, tmp_path):
    secret_key = "log-test-" + secrets.token_urlsafe(32)
    admin_password, provider_password = "adm-" + secrets.token_urlsafe(12), "prv-" + secrets.token_urlsafe(12)
    database = clone_database(pg, f"log_{uuid.uuid4().hex[:8]}")
    broker = own_redis_url(redis_server)
    redis.Redis.from_url(broker).flushdb()
    point_settings_at(database_url=database, redis_url=broker)

    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    shared_env = {"HOTLEAD_SECRET_KEY": secret_key, "HOTLEAD_PUBLIC_URL": web_url, "HOTLEAD_LOG_LEVEL": "INFO"}
    workdir = tmp_path / "web"
    _copy_app(workdir)
    web_log = tmp_path / "web.log"
    with open(web_log, "wb") as handle:
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reflex",
                "run",
                "--env",
                "prod",
                "--backend-only",
                "--backend-host",
                "127.0.0.1",
                "--backend-port",
                str(port),
            ],
            cwd=workdir,
            env=child_env(database, broker, HOTLEAD_SMTP_URL=smtp_sink.url, **shared_env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker, _metrics_port, worker_log = start_metrics_worker(
        database_url=database,
        redis_url=broker,
        smtp_url=smtp_sink.url,
        workdir=tmp_path / "worker",
        extra_env=shared_env,
    )
    try:
        wait_for(
            lambda: web.poll() is not None or fetch(f"{web_url}/healthz")[0] == 200,
            timeout=180,
            interval=0.5,
            message="the web app",
        )
        assert web.poll() is None, web_log.read_text()[-3000:]

        # The market, an admin and a provider account (in this process, through the services).
        market = make_market(levels=[("Shared", "10.00", 2)], providers=1, balance="50.00")
        admin_email, provider_email = (
            f"admin-{uuid.uuid4().hex[:6]}@example.com",
            f"pro-{uuid.uuid4().hex[:6]}@example.com",
        )
        with unit_of_work() as uow:
            accounts.create_user(uow, email=admin_email, password=admin_password, role=UserRole.ADMIN)
            provider = catalog.create_provider(name="Logged Roofing", email=provider_email, actor=SYSTEM, uow=uow)
            accounts.create_user(
                uow, email=provider_email, password=provider_password, role=UserRole.PROVIDER, provider_id=provider.id
            )
        deposit(provider.id, "50.00")
        subscribe(provider.id, market.level("Shared").id)

        client = httpx.Client(base_url=web_url, timeout=30)
        buyer = f"buyer-{uuid.uuid4().hex[:6]}@example.com"
        request_id = "req-" + uuid.uuid4().hex[:12]
        resp = client.post(
            "/api/v1/leads",
            headers={"X-Request-ID": request_id},
            json={
                "niche": market.slug,
                "email": buyer,
                "phone": "+1 404 555 0100",
                "payload": {"zip": "30301", "roof_type": "metal"},
            },
        )
        assert resp.status_code == 201, resp.text
        assert resp.headers["x-request-id"] == request_id
        lead_id = resp.json()["id"]

        # The person opens the emailed link (the page's request: logged with its query
        # string by the server's access log), and the page confirms with the token.
        message = wait_for(lambda: (smtp_sink.to(buyer) or [None])[-1], timeout=60, message="the confirmation email")
        link = re.search(r"https?://\S+/confirm\?token=\S+", message.get_body(("plain",)).get_content()).group(0)
        token = link.split("token=", 1)[1]
        client.get(link.replace(web_url, ""))
        assert client.post("/api/v1/leads/confirm", json={"token": token}).status_code == 200

        login = client.post("/api/v1/auth/login", json={"email": admin_email, "password": admin_password})
        assert login.status_code == 200, login.text
        admin_session = login.json()["token"]
        approved = client.post(
            f"/api/v1/admin/leads/{lead_id}/approve", headers={"Authorization": f"Bearer {admin_session}"}
        )
        assert approved.status_code == 200, approved.text
        # The new-lead notice itself (the provider's deposit receipt may arrive first).
        wait_for(
            lambda: [m for m in smtp_sink.to(provider_email) if m["Subject"].startswith("New ")],
            timeout=60,
            message="the new-lead email",
        )

        login = client.post("/api/v1/auth/login", json={"email": provider_email, "password": provider_password})
        provider_session = login.json()["token"]
        made = client.post(
            "/api/v1/provider/api-keys", headers={"Authorization": f"Bearer {provider_session}"}, json={"name": "crm"}
        )
        assert made.status_code == 201, made.text
        api_key = made.json()["key"]
        leads = client.get("/api/v1/provider/leads", headers={"Authorization": f"Bearer {api_key}"})
        assert leads.status_code == 200 and lead_id in leads.text
        # A wrong password is logged by nobody either.
        client.post("/api/v1/auth/login", json={"email": admin_email, "password": admin_password + "x"})
        client.close()
    finally:
        stop_process_group(web)
        stop_process_group(worker)

    web_text, worker_text = web_log.read_text(), worker_log.read_text()
    for name, value in {
        "confirmation token": token,
        "admin password": admin_password,
        "provider password": provider_password,
        "admin session token": admin_session,
        "provider session token": provider_session,
        "API key": api_key,
        "secret key": secret_key,
        "wrong password": admin_password + "x",
    }.items():
        assert value not in web_text, f"the {name} is in the web app's output"
        assert value not in worker_text, f"the {name} is in the worker's output"
    assert token.split(".")[0] not in web_text + worker_text  # not even the token's first part

    web_lines, worker_lines = json_lines(web_text), json_lines(worker_text)
    assert len(web_lines) >= 8 and len(worker_lines) >= 8
    for line in web_lines + worker_lines:
        assert set(line) >= {"time", "level", "event", "logger", "service"}, line
        assert line["level"] in LEVELS, line
        assert set(line) <= FIELDS, f"a field outside the common set: {set(line) - FIELDS} in {line}"
    assert {line["service"] for line in web_lines} == {"app"}
    assert {line["service"] for line in worker_lines} == {"worker"}

    # The access log line of the lead's submission carries the request id the client sent.
    submitted = [line for line in web_lines if line.get("request_id") == request_id]
    assert any("/api/v1/leads" in line["event"] for line in submitted), submitted
    # The confirmation page request is logged, with its token masked.
    assert any("/confirm?token=[REDACTED]" in line["event"] for line in web_lines)
    # Worker lines name their task, and the lead and the provider when the task is about them.
    assert all(line.get("task_id") for line in worker_lines if line["logger"] == "celery.app.trace")
    about_lead = [line for line in worker_lines if line.get("lead_id") == lead_id]
    assert any(line.get("task_id") for line in about_lead)
    assert any(line.get("provider_id") == str(provider.id) and line.get("lead_id") == lead_id for line in worker_lines)
    # The web process logs the lead's transitions with its id too.
    assert any(line.get("lead_id") == lead_id and "pending_approval -> approved" in line["event"] for line in web_lines)


def test_the_formatter_masks_secrets_in_messages_extras_and_tracebacks(monkeypatch):
    import logging

    from hotlead_app.infra.logging import JsonFormatter, bind

    monkeypatch.setenv("HOTLEAD_METRICS_TOKEN", "scrape-token-123456")
    point_settings_at()
    formatter = JsonFormatter("app")
    try:
        raise RuntimeError("connect to smtp://mailer:hunter22@mail.example.com failed")
    except RuntimeError:
        import sys as _sys

        exc_info = _sys.exc_info()
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "GET /confirm?token=%s&utm=ads with Authorization: Bearer %s and %s",
        ("abc.def", "sess-9", "scrape-token-123456"),
        exc_info,
    )
    record.password = "p4ss"
    record.details = {"api_key": "k-1", "note": "password=p4ss", "ok": 1}
    record.data = {"kwargs": {"nonce": "n-1"}}  # Celery's task arguments: never written
    with bind(lead_id="L1", provider_id="P1"):
        line = json.loads(formatter.format(record))
    text = json.dumps(line)
    for secret in ("abc.def", "sess-9", "scrape-token-123456", "hunter22", "p4ss", "k-1", "n-1"):
        assert secret not in text, secret
    assert line["event"] == (
        "GET /confirm?token=[REDACTED]&utm=ads with Authorization: Bearer [REDACTED] and [REDACTED]"
    )
    assert line["lead_id"] == "L1" and line["provider_id"] == "P1" and line["level"] == "error"
    assert line["details"] == {"api_key": "[REDACTED]", "note": "password=[REDACTED]", "ok": 1}
    assert "smtp://mailer:[REDACTED]@mail.example.com" in line["exception"]
    assert "data" not in line
