"""Monthly statements as each actor may read them: a provider its own
(``provider_statements``, ``provider_statement``), an admin any provider's
(``admin_statements``, ``admin_statement``).  Computed by ``services/statements.py``."""

from __future__ import annotations

import uuid
from datetime import datetime

from hotlead_app.domain.actors import Actor
from hotlead_app.domain.statements import parse_month
from hotlead_app.services.reads._access import admin_only, own_provider
from hotlead_app.services.statements import Statement, StatementSummary, statement, summaries

__all__ = ["Statement", "StatementSummary"]


def provider_statements(actor: Actor, *, now: datetime | None = None) -> list[StatementSummary]:
    """The provider's months with a statement, newest first (the current one "to date")."""
    return summaries(own_provider(actor), now)


def provider_statement(actor: Actor, *, month: object, now: datetime | None = None) -> Statement:
    """One month of the provider's own statement; ``InvalidInput`` for a malformed month,
    ``NotFound`` for a month without one (before its first entry, or not begun)."""
    provider_id = own_provider(actor)
    return statement(provider_id, parse_month(month), now)


def admin_statements(actor: Actor, *, provider_id: uuid.UUID, now: datetime | None = None) -> list[StatementSummary]:
    """Any provider's months with a statement, for admins."""
    admin_only(actor)
    return summaries(provider_id, now)


def admin_statement(actor: Actor, *, provider_id: uuid.UUID, month: object, now: datetime | None = None) -> Statement:
    """Any provider's statement of one month, for admins."""
    admin_only(actor)
    return statement(provider_id, parse_month(month), now)
