"""Who may read: the checks every read function starts with."""

from __future__ import annotations

import uuid
from datetime import datetime

from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Forbidden
from hotlead_app.services.checks import require_admin

__all__ = ["admin_only", "iso", "own_provider"]


def admin_only(actor: Actor) -> None:
    """An admin-only read: ``Forbidden`` for anyone else."""
    require_admin(actor)


def own_provider(actor: Actor) -> uuid.UUID:
    """A provider's read: the provider the actor is (its rows only), or ``Forbidden``."""
    if actor is None or actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only a provider may read this.")
    return actor.provider_id


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
