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


def time_cursor(after: object) -> tuple[datetime, uuid.UUID] | None:
    """``[created_at ISO text, id]`` → ``(datetime, UUID)``; nothing → ``None``."""
    if not after:
        return None
    try:
        at, last = after  # type: ignore[misc]
        return datetime.fromisoformat(str(at)), uuid.UUID(str(last))
    except (TypeError, ValueError):
        raise InvalidInput("This cursor is not valid.", details={"cursor": "invalid"}) from None
