"""The leads a provider received, newest first: contact details, payload (with the
niche's form, for labels in the form's order), price, level, how many providers
received the same lead (``shared_with``), the latest outcome, the return request and
when the return window closes, and the provider's private note; and the same as CSV,
one column per form field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.models import CompetitionLevel, Lead, LeadAssignment, Niche
from hotlead_app.services import inbox
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
    niche: str  # the slug
    niche_name: str
    niche_fields: list[dict[str, Any]]  # the form: labels and order of the answers
    level: str
    providers_on_lead: int
    shared_with: int  # how many providers received this lead (DOMAIN.md: shared_with)
    latest_outcome: OutcomeView | None
    return_request: ReturnView | None
    return_window_closes_at: str
    name: str  # the consumer's name ("" when the lead has none)
    email: str
    phone: str | None
    payload: dict[str, Any]
    note: str
    note_updated_at: str | None


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
                col(Niche.name),
                col(Niche.fields),
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
        notes = inbox.notes_of(uow.session, ids)
        return [
            {
                **assignment_row(a),
                "lead_id": str(lead.id),
                "niche": slug,
                "niche_name": niche_name,
                "niche_fields": form,
                "level": level_name,
                "providers_on_lead": count,
                "shared_with": count,
                "name": lead.name or "",
                "email": lead.email,
                "phone": lead.phone,
                "payload": lead.payload,
                "latest_outcome": outcomes.get(a.id),
                "return_request": returns.get(a.id),
                "return_window_closes_at": window_closes_at(a, window_hours),
                "note": notes[a.id][0] if a.id in notes else "",
                "note_updated_at": notes[a.id][1].isoformat() if a.id in notes else None,
            }
            for a, lead, slug, niche_name, form, level_name, count, window_hours in rows
        ]


LEAD_CSV_COLUMNS = [
    "assigned_at",
    "lead_id",
    "niche",
    "level",
    money_column("price"),
    "refunded",
    "providers_on_lead",
    "name",
    "email",
    "phone",
    "outcome",
    "note",
]


def field_columns(forms: list[tuple[str, list[dict[str, Any]]]]) -> list[tuple[str, str]]:
    """``(field name, header)`` of every form field, niche by niche in the order given,
    each niche's fields in its form's order; a field name two niches share is one
    column (headed by the first niche's label); a label already used by another field
    is told apart by its name."""
    columns: list[tuple[str, str]] = []
    names: set[str] = set()
    headers = set(LEAD_CSV_COLUMNS)
    for _niche, fields in forms:
        for f in fields:
            name = str(f.get("name"))
            if name in names:
                continue
            header = str(f.get("label") or name)
            if header in headers:
                header = f"{header} ({name})"
            names.add(name)
            headers.add(header)
            columns.append((name, header))
    return columns


def _forms_of(provider_id: uuid.UUID) -> list[tuple[str, list[dict[str, Any]]]]:
    """The forms of the niches the provider received leads of, by niche name."""
    with unit_of_work() as uow:
        niche_ids = (
            select(Lead.niche_id)
            .join(LeadAssignment, col(LeadAssignment.lead_id) == Lead.id)
            .where(LeadAssignment.provider_id == provider_id)
        )
        rows = uow.session.execute(
            select_columns(col(Niche.name), col(Niche.fields))
            .where(col(Niche.id).in_(niche_ids))
            .order_by(col(Niche.name), col(Niche.id))
        ).all()
    return [(name, list(fields or [])) for name, fields in rows]


def lead_inbox_csv(actor: Actor) -> Iterator[str]:
    """Every assigned lead, newest first, as CSV lines (read in keyset batches): the
    lead's facts, then one column per form field (labels as headers; leads of several
    niches: the union of their fields, niche by niche)."""
    provider_id = own_provider(actor)  # checked now, not at the first line read
    return _lead_inbox_csv(actor, field_columns(_forms_of(provider_id)))


def _lead_inbox_csv(actor: Actor, columns: list[tuple[str, str]]) -> Iterator[str]:
    yield csv_line([*LEAD_CSV_COLUMNS, *(header for _name, header in columns)])
    after = None
    while True:
        rows = lead_inbox(actor, limit=CSV_BATCH, after=after)
        for r in rows[:CSV_BATCH]:
            outcome = r["latest_outcome"]
            yield csv_line(
                [
                    r["assigned_at"],
                    r["lead_id"],
                    r["niche_name"],
                    r["level"],
                    Decimal(r["charged_amount"]),
                    "yes" if r["is_refunded"] else "no",
                    r["providers_on_lead"],
                    r["name"],
                    r["email"],
                    r["phone"],
                    outcome["outcome"] if outcome else "",
                    r["note"],
                    *(_cell(r["payload"].get(name)) for name, _header in columns),
                ]
            )
        if len(rows) <= CSV_BATCH:
            return
        after = [rows[CSV_BATCH - 1]["assigned_at"], rows[CSV_BATCH - 1]["id"]]


def _cell(value: object) -> object:
    """A lead's answer as text (a number typed by the consumer is its text, not one of
    our numbers: ``csv_line`` then guards it like any text)."""
    return "" if value is None else str(value)
