"""The weekly restore check and the "last good restore" the metrics read."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

from hotlead_app.services.backup.errors import BackupError
from hotlead_app.services.backup.pg import _recreate_database, _with_database, pg_target
from hotlead_app.services.backup.restore import restore
from hotlead_app.services.backup.retention import latest_backup
from hotlead_app.services.backup.stores import Store, get_store
from hotlead_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

RESTORE_CHECKS = "restore_checks.jsonl"


def scratch_database_url(settings: Settings) -> str:
    if settings.backup_scratch_database_url:
        return settings.backup_scratch_database_url
    from sqlalchemy.engine import make_url

    name = make_url(settings.database_url).database or "hotlead"
    return _with_database(settings.database_url, f"{name}_restore_check")


def restore_check(*, settings: Settings | None = None, now: datetime | None = None) -> dict:
    """The weekly drill: restore the latest backup into the scratch database, verify it
    (row counts and checksums against the backup's manifest, no ledger drift) and
    append the outcome to ``restore_checks.jsonl`` beside the backups."""
    settings = settings or get_settings()
    store = get_store(settings)
    started = time.monotonic()
    record: dict = {"checked_at": (now or datetime.now(UTC)).isoformat(), "ok": False}
    try:
        name = latest_backup(store)
        if name is None:
            raise BackupError(f"no backup to check in {store.describe('')}")
        record["backup"] = name
        scratch = scratch_database_url(settings)
        record["scratch_database"] = pg_target(scratch).database
        _recreate_database(scratch)
        result = restore(name, scratch, settings=settings)
        record.update(
            ok=result.ok,
            mismatches=result.mismatches,
            drift=result.drift,
            tables=len(result.fingerprint["row_counts"]),
            rows=sum(result.fingerprint["row_counts"].values()),
            backup_created_at=result.manifest.get("created_at"),
        )
    except Exception as exc:  # the record says why; the caller sees the outcome
        record["error"] = f"{type(exc).__name__}: {exc}"
        log.exception("restore check failed", extra={"event": "backup.restore_check_failed"})
    record["seconds"] = round(time.monotonic() - started, 2)
    store.append_text(RESTORE_CHECKS, json.dumps(record, sort_keys=True) + "\n")
    _last_good_cache.clear()
    log.info(
        "restore check", extra={"event": "backup.restore_check", "ok": record["ok"], "backup": record.get("backup")}
    )
    return record


def restore_checks(store: Store | None = None) -> list[dict]:
    text = (store or get_store()).read_text(RESTORE_CHECKS) or ""
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


_last_good_cache: dict[str, tuple[float, datetime | None]] = {}
LAST_GOOD_CACHE_SECONDS = 60.0


def last_good_restore_at() -> datetime | None:
    """When the newest successful restore check ran (None: never, or no record readable).

    Read by the metrics collector on each scrape: the answer is cached for a minute
    (the store may be a bucket), and errors read as "unknown" rather than failing."""
    settings = get_settings()
    cache_key = f"{settings.backup_location}|{settings.data_dir}"
    cached = _last_good_cache.get(cache_key)
    if cached and time.monotonic() - cached[0] < LAST_GOOD_CACHE_SECONDS:
        return cached[1]
    try:
        times = [
            datetime.fromisoformat(r["checked_at"])
            for r in restore_checks(get_store(settings))
            if r.get("ok") and r.get("checked_at")
        ]
        value = max(times) if times else None
    except Exception:
        log.warning("restore checks unreadable", exc_info=True, extra={"event": "backup.restore_checks_unreadable"})
        value = None
    _last_good_cache.clear()
    _last_good_cache[cache_key] = (time.monotonic(), value)
    return value
