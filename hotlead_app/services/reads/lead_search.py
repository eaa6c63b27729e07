"""The admin's lead search (the leads browser and ``GET /admin/leads``): leads by
status, niche, email and creation day, newest or oldest first, keyset-paginated on
(created_at, id) (up to ``limit + 1`` rows).  Admin-only: rows carry contact
details and consent evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import tuple_
from sqlmodel import col

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import Lead, Niche
from hotlead_app.services.checks import page_limit, time_cursor
from hotlead_app.services.reads._access import admin_only
from hotlead_app.services.reads._admin_leads import AdminLeadRow, lead_query, lead_row

ORDERS = ("newest", "oldest")


def _day(value: object, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(
            f"The {field.replace('_', ' ')} is a date like 2026-11-26.", details={field: "not a date (YYYY-MM-DD)"}
        ) from None


def search_leads(
    actor: Actor,
    *,
    status: str | None = None,
    niche: str | None = None,
    email: str | None = None,
    created_from: object = None,
    created_to: object = None,
    order: str = "newest",
    limit: int = 50,
    after: object = None,
) -> list[AdminLeadRow]:
    """Leads newest first (``order="oldest"``: oldest first).  ``email``: the whole
    address (any case), or the start of it; ``created_from`` / ``created_to``: UTC
    days, both included.  A bad filter value is ``InvalidInput`` naming the field."""
    admin_only(actor)
    limit = page_limit(limit)
    if order not in ORDERS:
        raise InvalidInput("The order is newest or oldest.", details={"order": "newest or oldest"})
    oldest_first = order == "oldest"
    cursor = time_cursor(after)
    first, last_day = _day(created_from, "created_from"), _day(created_to, "created_to")
    if first and last_day and first > last_day:
        raise InvalidInput("The first day is after the last day.", details={"created_to": "before created_from"})
    query = lead_query()
    if status:
        try:
            query = query.where(Lead.status == LeadStatus(status))
        except ValueError:
            raise InvalidInput("Unknown status.", details={"status": status}) from None
    if niche:
        query = query.where(Niche.slug == niche)
    if email and email.strip():
        wanted = email.strip().lower()
        if "@" in wanted:
            query = query.where(Lead.email == wanted)
        else:
            escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(col(Lead.email).like(escaped + "%"))
    if first:
        query = query.where(Lead.created_at >= datetime(first.year, first.month, first.day, tzinfo=UTC))
    if last_day and last_day < date.max:  # the last day there is: no upper bound
        end = last_day + timedelta(days=1)
        query = query.where(Lead.created_at < datetime(end.year, end.month, end.day, tzinfo=UTC))
    if cursor:
        # A row comparison, not (created_at < at OR created_at = at AND id < last): the
        # same rows, but PostgreSQL uses it as a bound of ix_leads_created_at_id, so a
        # deep page starts where it should instead of filtering from the first row.
        key, bound = tuple_(Lead.created_at, Lead.id), tuple_(*cursor)
        query = query.where(key > bound if oldest_first else key < bound)
    by = (col(Lead.created_at), col(Lead.id)) if oldest_first else (col(Lead.created_at).desc(), col(Lead.id).desc())
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        rows = uow.session.exec(query.order_by(*by).limit(limit + 1)).all()
        return [lead_row(lead, niche_row, partner, now) for lead, niche_row, partner in rows]
