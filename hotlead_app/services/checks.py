"""Argument checks shared by the read services of the back office: who may call an
admin-only function, the size of a page and a ``(created_at, id)`` keyset cursor.

Each raises a ``DomainError`` (``Forbidden`` or ``InvalidInput`` with the field in its
details), so the pages and the API answer bad input the same way."""

from __future__ import annotations

import uuid
from datetime import datetime

from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Forbidden, InvalidInput

MAX_LIMIT = 500


def require_admin(actor: Actor) -> None:
    if actor is None or actor.role != "admin":
        raise Forbidden("Only admins may do this.")


def page_limit(limit: object) -> int:
    """A page size from 1 to ``MAX_LIMIT`` (a bool is not a number here)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("The page size is between 1 and 500.", details={"limit": "between 1 and 500"})
    return limit


# A cursor's ``seq`` is a PostgreSQL bigint.
_MAX_SEQ = 2**63 - 1


def invalid_cursor() -> InvalidInput:
    return InvalidInput("This cursor is not valid.", details={"cursor": "invalid"})


def _pair_of_text(after: object) -> tuple[str, str]:
    """A cursor made of two short strings (a list from JSON, or a tuple from a page)."""
    if not isinstance(after, list | tuple) or len(after) != 2:
        raise invalid_cursor()
    first, second = after
    if not isinstance(first, str) or not isinstance(second, str) or len(first) > 300 or len(second) > 64:
        raise invalid_cursor()
    try:  # text PostgreSQL can store: UTF-8 (no lone surrogate), no NUL
        if "\x00" in first + second:
            raise ValueError("NUL")
        (first + second).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise invalid_cursor() from None
    return first, second


def time_cursor(after: object) -> tuple[datetime, uuid.UUID] | None:
    """``[created_at ISO text, id]`` → ``(datetime, UUID)``; nothing → ``None``.
    Anything else (another JSON type, another shape) → ``InvalidInput`` ``cursor: invalid``."""
    if not after:
        return None
    at, last = _pair_of_text(after)
    try:
        return datetime.fromisoformat(at), uuid.UUID(last)
    except ValueError:
        raise invalid_cursor() from None


def name_cursor(after: object) -> tuple[str, uuid.UUID] | None:
    """``[name, id]`` → ``(name, UUID)``; nothing → ``None``; else ``cursor: invalid``."""
    if not after:
        return None
    name, last = _pair_of_text(after)
    try:
        return name, uuid.UUID(last)
    except ValueError:
        raise invalid_cursor() from None


def seq_cursor(before: object) -> int | None:
    """A ``seq`` (a positive bigint, not a bool) or ``None``; else ``cursor: invalid``."""
    if before is None:
        return None
    if isinstance(before, bool) or not isinstance(before, int) or not 0 <= before <= _MAX_SEQ:
        raise invalid_cursor()
    return before
