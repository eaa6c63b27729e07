"""Keyset pagination: ``?limit=`` (default 50, max 500) and an opaque ``?cursor=``."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Query

from hotlead_app.services.checks import invalid_cursor

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """The JSON value inside ``?cursor=``; each route checks its type and shape (the
    ``*_cursor`` helpers of ``services/checks.py``).  A cursor this API made is never
    empty, null, zero or false, so such a value is refused here."""
    if not cursor:
        return None
    try:
        if len(cursor) > 1024:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeError, RecursionError):
        raise invalid_cursor() from None
    if not value:
        raise invalid_cursor()
    return value


class PageParams:
    def __init__(self, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT), cursor: str | None = Query(None)):
        self.limit = limit
        self.cursor = decode_cursor(cursor)


def page(items: Sequence[Mapping[str, Any]], limit: int, key) -> dict[str, Any]:
    """``items`` holds up to limit + 1 rows; the extra one only says there is more."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more and items else None}
