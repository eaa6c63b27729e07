"""A provider's lead inbox: its notification preferences (instant lead emails or an
hourly digest, a low-balance alert threshold) and its private note on each lead.

Both belong to the provider alone: another provider's assignment is NotFound, and an
admin neither reads nor writes them here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Forbidden, InvalidInput, NotFound
from hotlead_app.models import AssignmentNote, LeadAssignment, NotificationSettings
from hotlead_app.models._types import utcnow
from hotlead_app.models.inbox import LEAD_EMAIL_MODES, NOTE_MAX_CHARS
from hotlead_app.services import audit


def _own_provider(actor: Actor) -> uuid.UUID:
    if actor.role != "provider" or actor.provider_id is None:
        raise Forbidden("Only the provider itself sees its notes and notification settings.")
    return actor.provider_id


# --------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class Preferences:
    lead_emails: str  # instant | digest
    low_balance_threshold: Decimal | None
    low_balance_alerted: bool


DEFAULT_PREFERENCES = Preferences("instant", None, False)


def get_preferences(*, provider_id: uuid.UUID) -> Preferences:
    """The provider's preferences (the defaults when it never chose)."""
    with unit_of_work() as uow:
        row = uow.session.get(NotificationSettings, provider_id)
        if row is None:
            return DEFAULT_PREFERENCES
        return Preferences(row.lead_emails, row.low_balance_threshold, row.low_balance_alerted)


def clean_threshold(value: object) -> Decimal | None:
    """A threshold as typed (``""``/None: no alert; ``"$1,500"`` accepted) or InvalidInput
    naming ``low_balance_threshold``."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip().replace("$", "").replace(",", "").strip()
        if value == "":
            return None
    return money.to_amount(value, field="low_balance_threshold")


def update_preferences(*, actor: Actor, lead_emails: object, low_balance_threshold: object) -> Preferences:
    """Save the provider's choices.  A new threshold re-arms the alert: the next check
    sends one if the balance is below it."""
    provider_id = _own_provider(actor)
    errors: dict[str, str] = {}
    if lead_emails not in LEAD_EMAIL_MODES:
        errors["lead_emails"] = "must be instant or digest"
    threshold: Decimal | None = None
    try:
        threshold = clean_threshold(low_balance_threshold)
    except InvalidInput as exc:
        errors.update({k: str(v) for k, v in exc.details.items()})
    if errors:
        raise InvalidInput("Check the notification settings.", details=errors)
    assert isinstance(lead_emails, str)
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(NotificationSettings).where(NotificationSettings.provider_id == provider_id).with_for_update()
        ).first()
        before = audit.snapshot(row)
        if row is None:
            row = NotificationSettings(provider_id=provider_id)
        rearm = row.low_balance_threshold != threshold
        row.lead_emails = lead_emails
        row.low_balance_threshold = threshold
        if rearm:
            row.low_balance_alerted = False
        row.updated_at = utcnow()
        uow.session.add(row)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="notification_settings",
            entity_id=provider_id,
            action="updated",
            before=before,
            after=audit.snapshot(row),
        )
        return Preferences(row.lead_emails, row.low_balance_threshold, row.low_balance_alerted)


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class NoteRead:
    assignment_id: uuid.UUID
    body: str
    updated_at: datetime | None


def _own_assignment(session, actor: Actor, assignment_id: uuid.UUID) -> LeadAssignment:
    provider_id = _own_provider(actor)
    assignment = session.get(LeadAssignment, assignment_id)
    if assignment is None or assignment.provider_id != provider_id:
        raise NotFound("No such assignment.", details={"assignment_id": str(assignment_id)})
    return assignment


def get_note(*, actor: Actor, assignment_id: uuid.UUID) -> NoteRead:
    """The provider's note on one of its assignments (empty when it wrote none)."""
    with unit_of_work() as uow:
        _own_assignment(uow.session, actor, assignment_id)
        note = uow.session.get(AssignmentNote, assignment_id)
        if note is None:
            return NoteRead(assignment_id, "", None)
        return NoteRead(assignment_id, note.body, note.updated_at)


def clean_note(body: object) -> str:
    """The note's text, trimmed; InvalidInput naming ``body`` when it is not text or longer
    than ``NOTE_MAX_CHARS``."""
    if not isinstance(body, str):
        raise InvalidInput("The note is text.", details={"body": "must be a string"})
    text = body.strip()
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidInput(
            f"A note has at most {NOTE_MAX_CHARS} characters.",
            details={"body": f"at most {NOTE_MAX_CHARS} characters ({len(text)} given)"},
        )
    if "\x00" in text:
        raise InvalidInput("The note cannot hold a NUL character.", details={"body": "contains a NUL character"})
    return text


def save_note(*, actor: Actor, assignment_id: uuid.UUID, body: object) -> NoteRead:
    """Write (or clear, with ``""``) the provider's private note on its assignment.  The
    change is audited with the note's length, never its text."""
    text = clean_note(body)
    with unit_of_work() as uow:
        assignment = _own_assignment(uow.session, actor, assignment_id)
        now = utcnow()
        stmt = (
            insert(AssignmentNote)
            .values(assignment_id=assignment_id, provider_id=assignment.provider_id, body=text, updated_at=now)
            .on_conflict_do_update(index_elements=["assignment_id"], set_={"body": text, "updated_at": now})
        )
        uow.session.execute(stmt)
        audit.record(
            uow,
            actor=actor,
            entity_type="assignment_note",
            entity_id=assignment_id,
            action="note_saved",
            before=None,
            after={"length": len(text)},
        )
        return NoteRead(assignment_id, text, now)


def notes_of(session, assignment_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, datetime]]:
    """``{assignment_id: (body, updated_at)}`` of the non-empty notes among these."""
    if not assignment_ids:
        return {}
    rows = session.exec(
        select(AssignmentNote).where(col(AssignmentNote.assignment_id).in_(assignment_ids), AssignmentNote.body != "")
    ).all()
    return {n.assignment_id: (n.body, n.updated_at) for n in rows}
