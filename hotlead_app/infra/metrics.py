"""Every Prometheus metric the platform exports, declared in one place, and the ways
they are exported.

Code that records a fact imports the metric from here (``metrics.EMAILS.labels(...).inc()``),
so the Grafana dashboard and the alert rules can be checked against this list.

Multiprocess mode: the web server runs several worker processes and Celery's prefork
pool runs tasks in child processes, so each process keeps its counters in files under
``PROMETHEUS_MULTIPROC_DIR`` (set in the environment *before* ``prometheus_client`` is
imported: ``make run`` gives the web processes and the worker one folder each, cleared at
start).  A scrape aggregates every process's files (:func:`render`).

Where each process is scraped:

- the web app: ``/metrics`` on the internal port (``HOTLEAD_INTERNAL_PORT``, served by
  ``python -m hotlead_app.infra.internal_server``) or on the public port (open in ``dev``;
  in staging/prod only with ``Authorization: Bearer $HOTLEAD_METRICS_TOKEN``);
- each Celery worker: its own HTTP port (``HOTLEAD_WORKER_METRICS_PORT``), started in the
  worker's main process once it is ready (:func:`install_celery_signals`).

Gauges that describe the database and the broker (approved leads waiting, ledger drift,
open reconciliation issues, queue lengths, the last good restore) are not process state:
:class:`StateCollector` reads them at scrape time (the ledger drift at most once a minute
by default, per process: :func:`_ledger_drift`), and only the web app's scrape includes
them, so they are never counted once per worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Celery commands that record nothing (a container's `celery inspect ping` health check
# runs every minute): without this, each run would leave its own files in the worker's
# folder and every scrape would read more of them.  Decided before prometheus_client
# picks its storage, i.e. before it is first imported.
_CELERY_ONE_OFFS = {
    "inspect",
    "control",
    "status",
    "call",
    "purge",
    "result",
    "shell",
    "report",
    "beat",
    "events",
    "list",
    "graph",
    "upgrade",
    "amqp",
    "multi",
}
_argv = list(getattr(sys, "argv", None) or [""])
if (
    os.environ.get(MULTIPROC_ENV)
    and "celery" in _argv[0]
    and "worker" not in _argv[1:]
    and _CELERY_ONE_OFFS & set(_argv[1:])
):
    os.environ.pop(MULTIPROC_ENV, None)

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

from hotlead_app import jobs  # noqa: E402

log = logging.getLogger(__name__)

# The folder must exist before the first metric below writes its file (a container's
# /tmp path, say, that nothing created yet).
if os.environ.get(MULTIPROC_ENV):
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "hotlead_http_requests_total",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "hotlead_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
LEAD_TRANSITIONS = Counter(
    "hotlead_lead_transitions_total",
    "Lead state transitions by niche",
    ["niche", "from_state", "to_state"],
)
DISTRIBUTION_DURATION = Histogram(
    "hotlead_distribution_duration_seconds",
    "Time to distribute one lead (engine call, retries included)",
    buckets=LATENCY_BUCKETS,
)
ASSIGNMENTS = Counter("hotlead_assignments_total", "Assignments made by niche", ["niche"])
CHARGES_AMOUNT = Counter("hotlead_charges_amount_total", "Money charged for leads (in the platform currency)")
REFUNDS_AMOUNT = Counter("hotlead_refunds_amount_total", "Money refunded to providers (in the platform currency)")
CELERY_TASKS = Counter(
    "hotlead_celery_tasks_total",
    "Celery task outcomes by task name",
    ["task", "outcome"],  # outcome: success | failure | retry
)
EMAILS = Counter("hotlead_emails_total", "Emails by template and outcome", ["template", "outcome"])  # sent | failed
WEBHOOK_EVENTS = Counter(
    "hotlead_webhook_events_total",
    "Payment webhook events by processor and outcome",
    ["processor", "outcome"],  # processed | duplicate | ignored | invalid_signature | error
)
DEPOSITS_AMOUNT = Counter("hotlead_deposits_amount_total", "Completed deposits by processor", ["processor"])
PAYMENT_REVERSALS = Counter(
    "hotlead_payment_reversals_total",
    "Refunds/disputes of deposits posted as debits",
    ["processor", "kind"],
)
ADMIN_ALERTS = Counter("hotlead_admin_alerts_total", "Alerts sent to admins by kind", ["kind"])

# Label values known in advance are created at import with 0, so that every series
# exists from the first scrape (rate() and the alert rules need a starting point).
TASK_OUTCOMES = ("success", "failure", "retry")
EMAIL_TEMPLATES = ("lead_confirmation", "new_lead", "provider_balance_rules", "admin_alert", "deposit_received")
PROCESSORS = ("stripe", "paypal")
WEBHOOK_OUTCOMES = ("processed", "duplicate", "ignored", "invalid_signature", "error")


def _initialise() -> None:
    for template in EMAIL_TEMPLATES:
        for outcome in ("sent", "failed"):
            EMAILS.labels(template, outcome)
    for processor in PROCESSORS:
        DEPOSITS_AMOUNT.labels(processor)
        for outcome in WEBHOOK_OUTCOMES:
            WEBHOOK_EVENTS.labels(processor, outcome)
        for kind in ("refund", "dispute"):
            PAYMENT_REVERSALS.labels(processor, kind)


_initialise()


# --------------------------------------------------------------------------- recording helpers


def amount(value: Decimal | str | int) -> float:
    """Money for a counter.  Prometheus samples are floats; the ledger stays Decimal."""
    return float(Decimal(str(value)))


_NICHE_SLUGS: dict[uuid.UUID, str] = {}


def niche_label(niche_id: uuid.UUID | str | None) -> str:
    """The niche's slug as a label value (slugs are few and stable; cached per process)."""
    if niche_id is None:
        return "unknown"
    key = niche_id if isinstance(niche_id, uuid.UUID) else uuid.UUID(str(niche_id))
    slug = _NICHE_SLUGS.get(key)
    if slug is None:
        from sqlalchemy import text

        from hotlead_app.db import get_engine

        try:
            with get_engine().connect() as conn:
                slug = conn.execute(text("SELECT slug FROM niches WHERE id = :id"), {"id": key}).scalar()
        except Exception:  # a label is never worth failing a use case
            return "unknown"
        if slug is None:
            return "unknown"
        _NICHE_SLUGS[key] = slug
    return slug


def lead_transition(niche: str, from_state: str, to_state: str) -> None:
    LEAD_TRANSITIONS.labels(niche, from_state, to_state).inc()


# --------------------------------------------------------------------------- state read at scrape time

WAITING_SQL = """
SELECT count(*) AS waiting,
       EXTRACT(EPOCH FROM now() - min(coalesce(a.approved_at, l.created_at))) AS oldest_age
  FROM leads l
  LEFT JOIN LATERAL (
        SELECT max(created_at) AS approved_at FROM audit_logs
         WHERE entity_type = 'lead' AND entity_id = l.id AND action = 'approved') a ON true
 WHERE l.status = 'approved'
"""
# Jobs the outbox relay (in the workers) has not published yet: on its partial index.
OUTBOX_SQL = """
SELECT count(*) AS unpublished, EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest_age
  FROM outbox WHERE published_at IS NULL AND dispatched_at IS NULL
"""
CELERY_QUEUES = jobs.QUEUES


def _last_good_restore_at():
    """The time of the last verified restore (the restore check records it), or None."""
    try:
        from hotlead_app.services.backup import last_good_restore_at
    except ImportError:
        return None
    return last_good_restore_at()


# The ledger drift gauge counts the balance_drift view, which sums every provider's
# ledger: too dear for every scrape, so each process keeps the last count it read for
# HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS (60; 0: read on every scrape), per database URL.
# A read that fails stores nothing (the scrape reports the database source down).
_drift_lock = threading.Lock()
_drift_cache: tuple[str, float, int] | None = None  # (database URL, monotonic time of the read, count)
_monotonic = time.monotonic  # the cache's clock (a test moves it instead of sleeping)


def _ledger_drift(conn) -> int:
    """Providers whose cached balance differs from their ledger: the count read less
    than the cache duration ago in this process, else a new read on ``conn``."""
    global _drift_cache
    from sqlalchemy import text

    from hotlead_app.settings import get_settings

    settings = get_settings()
    ttl, url = settings.drift_gauge_cache_seconds, settings.database_url
    started = _monotonic()
    with _drift_lock:
        cached = _drift_cache
    if cached is not None and cached[0] == url and 0 <= started - cached[1] < ttl:
        return cached[2]
    drift = conn.execute(text("SELECT count(*) FROM balance_drift")).scalar_one()
    with _drift_lock:
        # Two scrapes may read at once: keep the later read's figure.
        if _drift_cache is None or _drift_cache[0] != url or _drift_cache[1] <= started:
            _drift_cache = (url, started, drift)
    return drift


def clear_drift_cache() -> None:
    global _drift_cache
    with _drift_lock:
        _drift_cache = None


class StateCollector:
    """Gauges read from PostgreSQL and Redis on each scrape.  A source that cannot be
    read is reported by ``hotlead_metrics_source_up{source=...} 0`` and its gauges are
    left out, so that the scrape itself never fails."""

    def describe(self) -> Iterable:
        return []  # no description: the registry must not call collect() at register time

    def collect(self) -> Iterable:
        up = GaugeMetricFamily(
            "hotlead_metrics_source_up",
            "1 when the scrape could read this source (database, redis, backups)",
            labels=["source"],
        )
        for source, what, read in (
            ("database", "database gauges", self._database),
            ("redis", "queue gauges", self._redis),
            ("backups", "restore gauge", self._restore),
        ):
            try:
                yield from read()
                up.add_metric([source], 1)
            except Exception as exc:
                log.warning("metrics: %s unavailable: %s", what, type(exc).__name__)
                up.add_metric([source], 0)
        yield up

    def _database(self) -> Iterable:
        from sqlalchemy import text

        from hotlead_app.db import get_engine

        with get_engine().connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = '5s'"))
            row = conn.execute(text(WAITING_SQL)).one()
            jobs = conn.execute(text(OUTBOX_SQL)).one()
            drift = _ledger_drift(conn)
            issues = 0
            # The payments work adds the table (migration 0010); until a database has it, none are open.
            if conn.execute(text("SELECT to_regclass('reconciliation_issues')")).scalar() is not None:
                issues = conn.execute(
                    text("SELECT count(*) FROM reconciliation_issues WHERE status = 'open'")
                ).scalar_one()
            conn.rollback()
        yield GaugeMetricFamily(
            "hotlead_leads_waiting_distribution", "Approved leads not distributed yet", value=row.waiting
        )
        yield GaugeMetricFamily(
            "hotlead_leads_waiting_oldest_age_seconds",
            "Seconds since the oldest waiting lead was approved (0 when none waits)",
            value=float(row.oldest_age or 0),
        )
        yield GaugeMetricFamily(
            "hotlead_outbox_unpublished_jobs",
            "Outbox jobs committed but not yet published by a worker's relay",
            value=jobs.unpublished,
        )
        yield GaugeMetricFamily(
            "hotlead_outbox_unpublished_oldest_age_seconds",
            "Seconds since the oldest unpublished outbox job was written (0 when none)",
            value=max(0.0, float(jobs.oldest_age or 0)),
        )
        yield GaugeMetricFamily(
            "hotlead_ledger_drift_providers",
            "Providers whose cached balance differs from the sum of their ledger entries",
            value=drift,
        )
        yield GaugeMetricFamily(
            "hotlead_reconciliation_issues_open", "Payment reconciliation issues still open", value=issues
        )

    def _redis(self) -> Iterable:
        import redis

        from hotlead_app.settings import get_settings

        client = redis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=2)
        try:
            with client.pipeline(transaction=False) as pipe:
                for queue in CELERY_QUEUES:
                    pipe.llen(queue)
                lengths = pipe.execute()
        finally:
            client.close()
        family = GaugeMetricFamily(
            "hotlead_celery_queue_length", "Messages waiting in each Celery queue", labels=["queue"]
        )
        for queue, length in zip(CELERY_QUEUES, lengths, strict=True):
            family.add_metric([queue], length)
        yield family

    def _restore(self) -> Iterable:
        when = _last_good_restore_at()
        if when is None:
            return
        stamp = when.timestamp() if hasattr(when, "timestamp") else float(when)
        yield GaugeMetricFamily(
            "hotlead_last_good_restore_timestamp_seconds",
            "Unix time of the last backup restored and verified",
            value=stamp,
        )


# --------------------------------------------------------------------------- exporting


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def prepare_multiproc_dir(path: Path) -> Path:
    """An empty folder for one run's metric files (a new run starts its counters at 0)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def process_registry() -> CollectorRegistry:
    """Every process's counters: aggregated from the files in multiprocess mode,
    this process's own otherwise."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def render(*, include_state: bool = True) -> tuple[bytes, str]:
    """The exposition text of a scrape and its content type."""
    body = generate_latest(process_registry())
    if include_state:
        state = CollectorRegistry(auto_describe=False)
        state.register(StateCollector())
        body += generate_latest(state)
    return body, CONTENT_TYPE_LATEST


# --------------------------------------------------------------------------- HTTP requests


def route_template(scope: dict) -> str:
    """The matched route's template (``/api/v1/admin/leads/{lead_id}``), never the raw path,
    so that ids do not multiply the series; ``<other>`` for what no route matched."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "<other>"
    mounted = scope.get("root_path", "")
    base = scope.get("hotlead.root_path", "")
    prefix = mounted[len(base) :] if mounted.startswith(base) else ""
    return f"{prefix}{template}"


class HttpMetricsMiddleware:
    """Pure ASGI: counts each HTTP request by route template, method and status and
    observes its latency (until the response has been sent)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["hotlead.root_path"] = scope.get("root_path", "")
        status = {"code": 500}
        started = time.perf_counter()

        async def send_with_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route, method = route_template(scope), scope.get("method", "GET")
            HTTP_REQUESTS.labels(route, method, str(status["code"])).inc()
            HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)


# --------------------------------------------------------------------------- Celery workers

_worker_server_started = False


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or str(sender)


def _on_task_success(sender=None, **_kw) -> None:
    CELERY_TASKS.labels(_task_name(sender), "success").inc()


def _on_task_failure(sender=None, **_kw) -> None:
    CELERY_TASKS.labels(_task_name(sender), "failure").inc()


def _on_task_retry(sender=None, request=None, **_kw) -> None:
    # Celery sends the retry signal with the request as sender in some paths.
    name = getattr(request, "task", None) if not hasattr(sender, "name") else sender.name
    CELERY_TASKS.labels(name or _task_name(sender), "retry").inc()


def _on_worker_ready(sender=None, **_kw) -> None:
    """In the worker's main process: zero series for every task, then the metrics port."""
    global _worker_server_started
    app = getattr(sender, "app", None)
    for name in getattr(app, "tasks", {}) or {}:
        if not name.startswith("celery."):
            for outcome in TASK_OUTCOMES:
                CELERY_TASKS.labels(name, outcome)
    from hotlead_app.settings import get_settings

    port = get_settings().worker_metrics_port
    if not port or _worker_server_started:
        return
    if not multiprocess_dir():
        log.warning(
            "metrics: PROMETHEUS_MULTIPROC_DIR is not set; the worker's pool processes "
            "cannot be exported, only its main process"
        )
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=get_settings().worker_metrics_host, registry=process_registry())
    except OSError as exc:
        log.error("metrics: cannot listen on port %s: %s", port, exc)
        return
    _worker_server_started = True
    log.info("metrics: worker exports on port %s", port)


def install_celery_signals() -> None:
    """Count task outcomes and export the worker's metrics (call once, in the worker)."""
    from celery.signals import task_failure, task_retry, task_success, worker_ready

    task_success.connect(_on_task_success, weak=False)
    task_failure.connect(_on_task_failure, weak=False)
    task_retry.connect(_on_task_retry, weak=False)
    worker_ready.connect(_on_worker_ready, weak=False)
