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
  ``python -m hotlead_app.api.internal``) or on the public port (open in ``dev``;
  in staging/prod only with ``Authorization: Bearer $HOTLEAD_METRICS_TOKEN``);
- each Celery worker: its own HTTP port (``HOTLEAD_WORKER_METRICS_PORT``), started in the
  worker's main process once it is ready (:func:`install_celery_signals`).

Gauges that describe the database and the broker (approved leads waiting, ledger drift,
open reconciliation issues, queue lengths, the last good restore) are not process state:
:class:`StateCollector` runs the registered state sources at scrape time (the sources
live in ``services/ops_gauges.py`` and the ops routes register them), and only the web
app's scrape includes them, so they are never counted once per worker.  This module
holds the metric objects and the collection mechanism only: it imports no service.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

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
RECHARGES = Counter("hotlead_recharges_total", "Auto-recharges settled, by outcome", ["outcome"])  # succeeded | failed

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
    for outcome in ("succeeded", "failed"):
        RECHARGES.labels(outcome)
    ADMIN_ALERTS.labels("recharge_failed")


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

# A state source reads gauges that describe the database, the broker, the backups (not
# process state) at scrape time.  The sources live with what they read
# (``services/ops_gauges.py``, registered by the ops routes); this module only runs them.
StateSource = Callable[[], Iterable[Any]]
_STATE_SOURCES: dict[str, tuple[str, StateSource]] = {}


def register_state_source(source: str, what: str, read: StateSource) -> None:
    """Add (or replace) a source of scrape-time gauges: ``read()`` yields metric families;
    ``what`` names them in the log line written when the source cannot be read."""
    _STATE_SOURCES[source] = (what, read)


def state_sources() -> list[str]:
    return list(_STATE_SOURCES)


class StateCollector:
    """Gauges read by every registered state source on each scrape.  A source that
    cannot be read is reported by ``hotlead_metrics_source_up{source=...} 0`` and its
    gauges are left out, so that the scrape itself never fails."""

    def describe(self) -> Iterable:
        return []  # no description: the registry must not call collect() at register time

    def collect(self) -> Iterable:
        up = GaugeMetricFamily(
            "hotlead_metrics_source_up",
            "1 when the scrape could read this source (database, redis, backups)",
            labels=["source"],
        )
        for source, (what, read) in list(_STATE_SOURCES.items()):
            try:
                yield from read()
                up.add_metric([source], 1)
            except Exception as exc:
                log.warning("metrics: %s unavailable: %s", what, type(exc).__name__)
                up.add_metric([source], 0)
        yield up


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
