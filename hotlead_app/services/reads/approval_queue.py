"""The approval queue, for admins: ``pending_approval`` leads oldest first with
everything an admin decides on, its size (cheap enough to poll) and its leads by
how long they have waited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from sqlalchemy import text, tuple_
from sqlmodel import col

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import Lead
from hotlead_app.services.checks import page_limit, time_cursor
from hotlead_app.services.reads._access import admin_only
from hotlead_app.services.reads._admin_leads import AdminLeadRow, lead_query, lead_row

#: Waiting-time buckets of the approval backlog: (label, upper bound in hours or None).
BACKLOG_BUCKETS: list[tuple[str, int | None]] = [("< 1 h", 1), ("1–4 h", 4), ("4–24 h", 24), ("> 24 h", None)]


def approval_queue(actor: Actor, *, limit: int = 25, after: object = None) -> list[AdminLeadRow]:
    """``pending_approval`` leads oldest first (up to limit + 1), keyset-paginated on
    (created_at, id).  Admin-only."""
    admin_only(actor)
    limit = page_limit(limit)
    cursor = time_cursor(after)
    query = lead_query().where(Lead.status == LeadStatus.PENDING_APPROVAL)
    if cursor:
        at, last = cursor
        query = query.where(tuple_(Lead.created_at, Lead.id) > tuple_(at, last))  # a bound of the index scan
    now = datetime.now(UTC)
    with unit_of_work() as uow:
        rows = uow.session.exec(query.order_by(col(Lead.created_at), col(Lead.id)).limit(limit + 1)).all()
        return [lead_row(lead, niche, partner, now) for lead, niche, partner in rows]


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_confirmed_at: datetime | None
    newest_confirmed_at: datetime | None

    @property
    def signature(self) -> str:
        """Changes whenever a lead joins or leaves the queue (a lead joining has the
        newest confirmation; one leaving lowers the count)."""
        newest = self.newest_confirmed_at.isoformat() if self.newest_confirmed_at else ""
        oldest = self.oldest_confirmed_at.isoformat() if self.oldest_confirmed_at else ""
        return f"{self.count}|{oldest}|{newest}"


def backlog(actor: Actor) -> Backlog:
    """The approval queue's size and its oldest and newest confirmation: one index
    scan, cheap enough to poll every few seconds.  Admin-only."""
    admin_only(actor)
    with unit_of_work() as uow:
        count, oldest, newest = uow.session.execute(
            text("SELECT count(*), min(confirmed_at), max(confirmed_at) FROM leads WHERE status = 'pending_approval'")
        ).one()
    return Backlog(count, oldest, newest)


class WaitBucket(TypedDict):
    wait: str
    count: int


def backlog_by_wait(actor: Actor, *, now: datetime | None = None) -> list[WaitBucket]:
    """Leads waiting for approval by how long they have waited since confirmation.
    Admin-only."""
    admin_only(actor)
    now = now or datetime.now(UTC)
    cases = []
    lower = 0
    for i, (_label, upper) in enumerate(BACKLOG_BUCKETS):
        cond = f"confirmed_at <= :now - interval '{lower} hours'"
        if upper is not None:
            cond += f" AND confirmed_at > :now - interval '{upper} hours'"
        cases.append(f"count(*) FILTER (WHERE {cond}) AS b{i}")
        lower = upper or lower
    with unit_of_work() as uow:
        row = uow.session.execute(
            text(f"SELECT {', '.join(cases)} FROM leads WHERE status = 'pending_approval'"), {"now": now}
        ).one()
    return [{"wait": label, "count": row[i]} for i, (label, _upper) in enumerate(BACKLOG_BUCKETS)]
