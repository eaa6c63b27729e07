"""Fairness order of the distribution engine.

* Levels: a niche's active levels ordered by ``(priority_order, id)``; the lead with
  distribution ``seq`` starts at index ``seq mod k`` and wraps around, so the first
  level rotates from one lead to the next.
* Subscriptions within a level: ``last_received_at ASC NULLS FIRST, created_at ASC,
  id ASC`` -- exactly PostgreSQL's order (timestamps compared as instants, uuids by
  their 16 bytes), so Python and SQL always agree on who is next.
* Each assignment stamps its subscription with a ``last_received_at`` strictly later
  than every earlier one, so the order never has ties on that column after a win.

All timestamps must be timezone-aware (``timestamptz``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

_L = TypeVar("_L")

#: The smallest step PostgreSQL timestamps can tell apart.
TICK = timedelta(microseconds=1)


def uuid_key(value: uuid.UUID | str) -> bytes:
    """The bytes PostgreSQL compares uuids by (equal to Python's own UUID order)."""
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes


def _level_key(level: Any) -> tuple[Any, bytes]:
    if hasattr(level, "priority_order"):
        return level.priority_order, uuid_key(level.id)
    priority_order, level_id = level[0], level[1]
    return priority_order, uuid_key(level_id)


def _is_active(level: Any) -> bool:
    return getattr(level, "active", True) is not False


def level_order(levels: Iterable[_L], seq: int) -> list[_L]:
    """The levels in the order lead number ``seq`` visits them.

    ``levels`` are objects with ``priority_order`` and ``id`` (objects with
    ``active`` false are left out) or ``(priority_order, id)`` tuples. Returns the
    same objects, sorted by ``(priority_order, id)`` and rotated to start at
    ``seq % k``; an empty list when there is no active level.
    """
    if seq < 0:
        raise ValueError("seq is a count of distributed leads and cannot be negative")
    ordered: Sequence[_L] = sorted((lv for lv in levels if _is_active(lv)), key=_level_key)
    if not ordered:
        return []
    start = seq % len(ordered)
    return [*ordered[start:], *ordered[:start]]


def _aware(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def fairness_key(last_received_at: datetime | None, created_at: datetime, id: uuid.UUID) -> tuple[Any, ...]:
    """Sort key equal to ``ORDER BY last_received_at ASC NULLS FIRST, created_at ASC,
    id ASC``: a subscription that never received a lead comes first, then the one
    that waited longest, then the oldest, then the smaller uuid."""
    created = _aware("created_at", created_at)
    if last_received_at is None:
        return (0, created, uuid_key(id))
    return (1, _aware("last_received_at", last_received_at), created, uuid_key(id))


def next_received_at(previous_max: datetime | None, now: datetime) -> datetime:
    """The ``last_received_at`` to stamp: ``now``, or one microsecond after
    ``previous_max`` when the clock has not moved past it (equal or behind)."""
    _aware("now", now)
    if previous_max is None:
        return now
    _aware("previous_max", previous_max)
    return now if now > previous_max else previous_max + TICK
