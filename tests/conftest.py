"""Test fixtures: the project's own throw-away PostgreSQL and Redis, real HTTP servers,
a real Celery worker and a real Chromium.  Nothing here touches the ``make run`` data.

- ``pg`` / ``redis_server``: private servers on free ports, in a temporary folder.
- ``db``: a fresh database cloned from a migrated template, one per test.
- ``shared_db``: one database for the processes a test starts (web app, Celery worker).
- ``api_server``: the FastAPI app (``/api/v1`` and ops routes) on uvicorn, real HTTP.
- ``app_server``: ``reflex run --env prod`` as a subprocess, for the browser tests.
- ``celery_worker``: a real ``celery worker`` process against the test Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from hotlead_app.devstack import reaper
from hotlead_app.devstack.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotlead_app.devstack.harness import (
    http_ok,
    point_settings_at,
    stop_process_group,
    wait_for,
)
from hotlead_app.devstack.runner import celery_command
from hotlead_app.infra.migrations import migrate
from hotlead_app.infra.queue import QUEUES
from hotlead_app.settings import PROJECT_ROOT

# Property tests check correctness, never speed (speed is measured in bench/): on a busy
# 2-core machine input generation and examples can be slow, which must not fail a test.
settings.register_profile(
    "hotlead", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("hotlead")

# Tests send many requests from one address: the limits are lifted here, and the
# rate-limit tests set their own.
for _scope in ("submit", "confirm", "resend", "login", "login_ip", "login_email"):
    os.environ.setdefault(f"HOTLEAD_RATE_LIMIT_{_scope.upper()}", "100000/minute")
TEMPLATE_DB = "hotlead_template"
SHARED_DB = "hotlead_shared"


# --------------------------------------------------------------------------- settings


def child_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """A started process's environment: the runner's, pointed at the test servers."""
    from hotlead_app.devstack.runner import child_env as runner_env

    return runner_env(
        {"HOTLEAD_ENV": "dev", "HOTLEAD_DATABASE_URL": database_url, "HOTLEAD_REDIS_URL": redis_url, **extra}
    )


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def pg(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(
        tmp_path_factory.mktemp("pg") / "data", free_port(), fast_unsafe=True, reap_with_owner=True
    )
    server.start()
    server.ensure_database(TEMPLATE_DB)
    migrate(server.url(TEMPLATE_DB))
    yield server
    server.destroy()


def clone_database(pg: EmbeddedPostgres, name: str) -> str:
    import psycopg

    with psycopg.connect(pg.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
    return pg.url(name)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(
        tmp_path_factory.mktemp("redis") / "data", free_port(), persistent=False, reap_with_owner=True
    )
    server.start()
    yield server
    server.stop()


def _fresh_database(pg, redis_server, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = clone_database(pg, name)
    point_settings_at(database_url=url, redis_url=redis_server.url())
    yield url
    from hotlead_app.db import reset_engine

    reset_engine()
    pg.drop_database(name)


@pytest.fixture
def db(pg, redis_server) -> Iterator[str]:
    """A fresh, migrated database for this test alone; settings point at it."""
    yield from _fresh_database(pg, redis_server, "t")


@pytest.fixture(scope="module")
def module_db(pg, redis_server) -> Iterator[str]:
    """One fresh database for a whole test module (for expensive shared set-ups)."""
    yield from _fresh_database(pg, redis_server, "m")


@pytest.fixture(scope="session")
def shared_db_url(pg) -> str:
    return clone_database(pg, SHARED_DB)


@pytest.fixture
def shared_db(shared_db_url, redis_server) -> str:
    """The database the started processes use; settings point at it for this test."""
    point_settings_at(database_url=shared_db_url, redis_url=redis_server.url())
    return shared_db_url


# --------------------------------------------------------------------------- HTTP API


class _ThreadServer:
    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: http_ok(f"{self.url}/healthz"), timeout=20, message="API server")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def api_server(pg, redis_server) -> Iterator[str]:
    """The FastAPI app over real HTTP, in this process: it follows ``point_settings_at``."""
    from hotlead_app.api import build_app

    with _ThreadServer(build_app(), free_port()) as server:
        yield server.url


# --------------------------------------------------------------------------- SMTP


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives; it can be stopped
    and started again on the same port to play an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list = []
        self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        from email import message_from_bytes, policy

        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port())
    sink.start()
    os.environ["HOTLEAD_SMTP_URL"] = sink.url
    yield sink
    sink.stop()


# --------------------------------------------------------------------------- Celery


def start_worker(database_url: str, redis_url: str, smtp_url: str, log: Path, **env: str) -> subprocess.Popen:
    """A real Celery worker on every queue (``env``: more HOTLEAD_* variables)."""
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            celery_command(
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                QUEUES,
                f"--hostname=test-{uuid.uuid4().hex[:6]}@%h",
            ),
            cwd=PROJECT_ROOT,
            env=child_env(database_url, redis_url, HOTLEAD_SMTP_URL=smtp_url, **env),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    reaper.watch_group(os.getpid(), proc.pid)  # gone with this test run, even a killed one
    wait_for(lambda: b"ready." in log.read_bytes() or proc.poll() is not None, timeout=60, message="Celery worker")
    if proc.poll() is not None:
        raise RuntimeError(f"Celery worker exited:\n{log.read_text()}")
    return proc


@pytest.fixture(scope="session")
def celery_worker(shared_db_url, redis_server, smtp_sink, tmp_path_factory) -> Iterator[subprocess.Popen]:
    proc = start_worker(
        shared_db_url, redis_server.url(), smtp_sink.url, tmp_path_factory.mktemp("worker") / "worker.log"
    )
    yield proc
    stop_process_group(proc)


# --------------------------------------------------------------------------- browser


def find_chromium() -> str:
    """HOTLEAD_CHROMIUM, else `chromium` on PATH, else Playwright's own browser."""
    explicit = os.environ.get("HOTLEAD_CHROMIUM")
    if explicit:
        if not Path(explicit).exists():
            raise pytest.UsageError(f"HOTLEAD_CHROMIUM={explicit} does not exist")
        return explicit
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
        if path and Path(path).exists():
            return path
    except Exception:
        pass
    raise pytest.UsageError(
        "No Chromium for the browser tests. Set HOTLEAD_CHROMIUM to a Chromium binary, "
        "install one on PATH as `chromium` (Debian: apt-get install chromium), "
        "or install Playwright's own (playwright install chromium)."
    )


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {
        "executable_path": find_chromium(),
        "args": [
            "--no-sandbox",
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


def _copy_app(target: Path) -> None:
    """A private copy of the app's sources to build and run, so a running `make run`
    and its `.web` folder are never touched; node_modules are kept between runs."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("hotlead_app", "workers", "assets"):
        shutil.rmtree(target / name, ignore_errors=True)
        if (PROJECT_ROOT / name).exists():
            shutil.copytree(PROJECT_ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("rxconfig.py",):
        shutil.copy2(PROJECT_ROOT / name, target / name)


@pytest.fixture(scope="session")
def app_server(shared_db_url, redis_server) -> Iterator[str]:
    """The whole Reflex app in prod mode (pages, websocket, API on one port)."""
    point_settings_at(database_url=shared_db_url, redis_url=redis_server.url())
    from hotlead_app.services import bootstrap

    bootstrap.bootstrap()
    port = free_port()
    # HOTLEAD_E2E_APP_DIR lets two test runs on one machine build separate copies.
    workdir = Path(os.environ.get("HOTLEAD_E2E_APP_DIR") or PROJECT_ROOT / ".hotlead" / "e2e-app")
    _copy_app(workdir)
    log = workdir / "web.log"
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--frontend-port", str(port)],
            cwd=workdir,
            env=child_env(shared_db_url, redis_server.url(), REFLEX_API_URL=url, HOTLEAD_PUBLIC_URL=url),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    reaper.watch_group(os.getpid(), proc.pid)
    try:
        wait_for(
            lambda: proc.poll() is not None or http_ok(f"{url}/n/roofing"),
            timeout=900,
            interval=1,
            message="the Reflex app",
        )
        if proc.poll() is not None:
            raise RuntimeError(f"reflex run exited:\n{log.read_text()[-5000:]}")
        yield url
    finally:
        stop_process_group(proc)


def port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# --------------------------------------------------------------------------- payments
# Processes the tests start (web app, Celery worker) reach "Stripe" at a local stand-in
# (tests/payments_fakes.py) on this port; keys given by the developer are kept apart for
# the live tests (tests/integration/test_payments_live.py).
PAYMENT_LIVE_KEYS = {
    name: os.environ.get(name, "")
    for name in (
        "STRIPE_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "PAYPAL_CLIENT_ID",
        "PAYPAL_CLIENT_SECRET",
        "PAYPAL_WEBHOOK_ID",
    )
}
STRIPE_STANDIN_PORT = free_port()
STRIPE_TEST_SECRET = "whsec_hotlead_tests"
os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{STRIPE_STANDIN_PORT}"
os.environ["STRIPE_API_KEY"] = "sk_test_standin"
os.environ["STRIPE_WEBHOOK_SECRET"] = STRIPE_TEST_SECRET
for _name in ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def stripe_standin():
    """The Stripe stand-in over real HTTP on STRIPE_API_BASE (with a test checkout page)."""
    from tests.payments_fakes import FakeStripe

    fake = FakeStripe()
    server = fake.serve(STRIPE_STANDIN_PORT)
    yield fake
    server.close()


@pytest.fixture
def fake_stripe(monkeypatch):
    """This process's Stripe calls go to an in-memory fake through ``StripeClient(http_client=...)``."""
    from hotlead_app.services.payments import stripe_gateway
    from tests.payments_fakes import FakeStripe

    fake = FakeStripe()
    stripe_gateway.use_client(fake.client())
    yield fake
    stripe_gateway.use_client(None)


@pytest.fixture
def fake_paypal(monkeypatch):
    """This process's PayPal SDK calls go through a fake ``requests`` adapter."""
    from hotlead_app.services.payments import paypal_gateway
    from hotlead_app.settings import get_settings
    from tests.payments_fakes import FakePayPal

    fake = FakePayPal()
    for name, value in (
        ("PAYPAL_CLIENT_ID", "client-test"),
        ("PAYPAL_CLIENT_SECRET", "secret-test"),
        ("PAYPAL_WEBHOOK_ID", fake.webhook_id),
        ("PAYPAL_API_BASE", "https://paypal.test"),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    paypal_gateway.use_session(fake.session())
    yield fake
    paypal_gateway.use_session(None)
    paypal_gateway.use_verifier(None)
    get_settings.cache_clear()  # monkeypatch restores the environment right after
