"""Which backups to keep: the newest of each of the last N days and M ISO weeks."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

from hotlead_app.services.backup.stores import Store, backup_time, get_store

log = logging.getLogger(__name__)


def backups_to_keep(names: Iterable[str], *, keep_daily: int, keep_weekly: int) -> set[str]:
    """The newest backup of each of the ``keep_daily`` most recent days that have one,
    and of each of the ``keep_weekly`` most recent ISO weeks that have one."""
    dated = sorted(((when, n) for n in names if (when := backup_time(n)) is not None), reverse=True)
    keep: set[str] = set()
    days: dict[date, str] = {}
    weeks: dict[tuple[int, int], str] = {}
    for when, name in dated:
        days.setdefault(when.date(), name)
        iso = when.isocalendar()
        weeks.setdefault((iso.year, iso.week), name)
    keep.update(list(days.values())[:keep_daily])
    keep.update(list(weeks.values())[:keep_weekly])
    return keep


def apply_retention_policy(
    store: Store, *, keep_daily: int, keep_weekly: int, protect: set[str] | None = None
) -> list[str]:
    names = store.list()
    keep = backups_to_keep(names, keep_daily=keep_daily, keep_weekly=keep_weekly) | (protect or set())
    deleted = [n for n in names if n not in keep]
    for name in deleted:
        store.delete(name)
        log.info("backup deleted by retention", extra={"event": "backup.deleted", "backup": name})
    return deleted


def latest_backup(store: Store | None = None) -> str | None:
    names = (store or get_store()).list()
    dated = [(when, n) for n in names if (when := backup_time(n)) is not None]
    return max(dated)[1] if dated else None
