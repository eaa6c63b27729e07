"""The gauges a scrape reads from PostgreSQL, Redis and the backups (approved leads
waiting, unpublished outbox jobs, ledger drift, open reconciliation issues, Celery queue
lengths, the last good restore).

They are not process state, so they are read at scrape time: :func:`register` adds them
as state sources of ``infra/metrics.py`` (the ops routes call it when they are built),
and only the web app's scrape includes them.  The ledger drift is read at most once per
``HOTLEAD_DRIFT_GAUGE_CACHE_SECONDS`` per process (:func:`_ledger_drift`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from hotlead_app import jobs
from hotlead_app.infra import metrics

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


def database_gauges() -> Iterable:
    from sqlalchemy import text

    from hotlead_app.db import get_engine

    gauge = metrics.GaugeMetricFamily
    with get_engine().connect() as conn:
        conn.execute(text("SET LOCAL statement_timeout = '5s'"))
        row = conn.execute(text(WAITING_SQL)).one()
        jobs = conn.execute(text(OUTBOX_SQL)).one()
        drift = _ledger_drift(conn)
        issues = 0
        # The payments work adds the table (migration 0010); until a database has it, none are open.
        if conn.execute(text("SELECT to_regclass('reconciliation_issues')")).scalar() is not None:
            issues = conn.execute(text("SELECT count(*) FROM reconciliation_issues WHERE status = 'open'")).scalar_one()
        conn.rollback()
    yield gauge("hotlead_leads_waiting_distribution", "Approved leads not distributed yet", value=row.waiting)
    yield gauge(
        "hotlead_leads_waiting_oldest_age_seconds",
        "Seconds since the oldest waiting lead was approved (0 when none waits)",
        value=float(row.oldest_age or 0),
    )
    yield gauge(
        "hotlead_outbox_unpublished_jobs",
        "Outbox jobs committed but not yet published by a worker's relay",
        value=jobs.unpublished,
    )
    yield gauge(
        "hotlead_outbox_unpublished_oldest_age_seconds",
        "Seconds since the oldest unpublished outbox job was written (0 when none)",
        value=max(0.0, float(jobs.oldest_age or 0)),
    )
    yield gauge(
        "hotlead_ledger_drift_providers",
        "Providers whose cached balance differs from the sum of their ledger entries",
        value=drift,
    )
    yield gauge("hotlead_reconciliation_issues_open", "Payment reconciliation issues still open", value=issues)


def queue_gauges() -> Iterable:
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
    family = metrics.GaugeMetricFamily(
        "hotlead_celery_queue_length", "Messages waiting in each Celery queue", labels=["queue"]
    )
    for queue, length in zip(CELERY_QUEUES, lengths, strict=True):
        family.add_metric([queue], length)
    yield family


def restore_gauges() -> Iterable:
    from hotlead_app.services.backup import last_good_restore_at

    when = last_good_restore_at()
    if when is None:
        return
    yield metrics.GaugeMetricFamily(
        "hotlead_last_good_restore_timestamp_seconds",
        "Unix time of the last backup restored and verified",
        value=when.timestamp(),
    )


def register() -> None:
    """Add these gauges to every scrape of this process (idempotent)."""
    metrics.register_state_source("database", "database gauges", database_gauges)
    metrics.register_state_source("redis", "queue gauges", queue_gauges)
    metrics.register_state_source("backups", "restore gauge", restore_gauges)
