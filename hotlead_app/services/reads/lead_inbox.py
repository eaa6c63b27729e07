"""The leads a provider received, newest first: contact details, payload, price,
level, how many providers received the same lead (``shared_with``), the latest
outcome, the return request and when the return window closes; and the same as CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.models import CompetitionLevel, Lead, LeadAssignment, Niche
from hotlead_app.services.checks import time_cursor
from hotlead_app.services.csv_export import csv_line, money_column
from hotlead_app.services.reads._access import own_provider
from hotlead_app.services.reads._assignments import (
    AssignmentRow,
    OutcomeView,
    ReturnView,
    assignment_row,
    latest_outcomes,
    return_requests_of,
    window_closes_at,
)

CSV_BATCH = 500


class InboxLead(AssignmentRow):
    lead_id: str
    niche: str
    level: str
    providers_on_lead: int
    shared_with: int  # how many providers received this lead (DOMAIN.md: shared_with)
    latest_outcome: OutcomeView | None
    return_request: ReturnView | None
    return_window_closes_at: str
    email: str
    phone: str | None
    payload: dict[str, Any]


def lead_inbox(actor: Actor, *, limit: int = 50, after: object = None) -> list[InboxLead]:
    """The provider's assignments newest first (up to limit + 1 rows), with the lead's
    contact and payload; ``after`` is the ``[assigned_at, id]`` of the last row of
    the previous page."""
    provider_id = own_provider(actor)
    key = time_cursor(after)
    with unit_of_work() as uow:
        shared = (
            select(func.count())
            .select_from(LeadAssignment)
            .where(LeadAssignment.lead_id == Lead.id)
            .correlate(Lead)
            .scalar_subquery()
        )
        query = (
            select_columns(
                LeadAssignment,
                Lead,
                col(Niche.slug),
                col(CompetitionLevel.name),
                shared,
                col(Niche.return_window_hours),
            )
            .join(Lead, col(Lead.id) == LeadAssignment.lead_id)
            .join(Niche, col(Niche.id) == Lead.niche_id)
            .join(CompetitionLevel, col(CompetitionLevel.id) == LeadAssignment.competition_level_id)
            .where(col(LeadAssignment.provider_id) == provider_id)
        )
        if key:
            at, last_id = key
            query = query.where(
                or_(
                    col(LeadAssignment.assigned_at) < at,
                    and_(col(LeadAssignment.assigned_at) == at, col(LeadAssignment.id) < last_id),
                )
            )
        rows = uow.session.execute(
            query.order_by(col(LeadAssignment.assigned_at).desc(), col(LeadAssignment.id).desc()).limit(limit + 1)
        ).all()
        ids = [row[0].id for row in rows]
        outcomes, returns = latest_outcomes(uow, ids), return_requests_of(uow, ids)
        return [
            {
                **assignment_row(a),
                "lead_id": str(lead.id),
                "niche": slug,
                "level": level_name,
                "providers_on_lead": count,
                "shared_with": count,
                "email": lead.email,
                "phone": lead.phone,
                "payload": lead.payload,
                "latest_outcome": outcomes.get(a.id),
                "return_request": returns.get(a.id),
                "return_window_closes_at": window_closes_at(a, window_hours),
            }
            for a, lead, slug, level_name, count, window_hours in rows
        ]


LEAD_CSV_COLUMNS = [
    "assigned_at",
    "lead_id",
    "niche",
    "level",
    money_column("price"),
    "refunded",
    "providers_on_lead",
    "email",
    "phone",
    "payload",
]


def lead_inbox_csv(actor: Actor) -> Iterator[str]:
    """Every assigned lead, newest first, as CSV lines (read in keyset batches)."""
    own_provider(actor)  # checked now, not at the first line read
    return _lead_inbox_csv(actor)


def _lead_inbox_csv(actor: Actor) -> Iterator[str]:
    yield csv_line(LEAD_CSV_COLUMNS)
    after = None
    while True:
        rows = lead_inbox(actor, limit=CSV_BATCH, after=after)
        for r in rows[:CSV_BATCH]:
            yield csv_line(
                [
                    r["assigned_at"],
                    r["lead_id"],
                    r["niche"],
                    r["level"],
                    Decimal(r["charged_amount"]),
                    "yes" if r["is_refunded"] else "no",
                    r["providers_on_lead"],
                    r["email"],
                    r["phone"],
                    json.dumps(r["payload"], sort_keys=True),
                ]
            )
        if len(rows) <= CSV_BATCH:
            return
        after = [rows[CSV_BATCH - 1]["assigned_at"], rows[CSV_BATCH - 1]["id"]]
