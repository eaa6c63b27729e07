"""The audit trail, for admins: rows newest first with their ``admin_only_memo``,
filtered by entity and by who acted; keyset-paginated on ``seq`` (up to
``limit + 1`` rows: the extra one only says that there is more)."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.models import ActorRole, AuditLog, User
from hotlead_app.services.checks import page_limit, seq_cursor
from hotlead_app.services.reads._access import admin_only

ROLES = tuple(r.value for r in ActorRole)


class AuditRow(TypedDict):
    id: str
    seq: int | None
    entity_type: str
    entity_id: str
    action: str
    actor_role: str
    actor_id: str | None
    actor_email: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    admin_only_memo: str | None
    created_at: str


def _uuid(value: object, field: str, message: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        raise InvalidInput(message, details={field: message}) from None


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def audit_trail(
    actor: Actor,
    *,
    entity_type: str | None = None,
    entity_id: object = None,
    by: str | None = None,
    limit: int = 50,
    before_seq: object = None,
) -> list[AuditRow]:
    """Audit rows newest first with their ``admin_only_memo``.  ``by`` names who acted:
    a role (``admin``, ``provider``, ``buyer``, ``system``), a user id or a login's
    email.  Admin-only."""
    admin_only(actor)
    limit = page_limit(limit)
    errors: dict[str, str] = {}
    query = select(AuditLog, User.email).outerjoin(User, col(User.id) == AuditLog.actor_id)
    if entity_type:
        if not isinstance(entity_type, str) or len(entity_type) > 64:
            errors["entity_type"] = "at most 64 characters"
        else:
            query = query.where(AuditLog.entity_type == entity_type.strip())
    if entity_id not in (None, ""):
        try:
            query = query.where(AuditLog.entity_id == _uuid(entity_id, "entity_id", "an id like 3f2b…"))
        except InvalidInput as exc:
            errors.update(exc.details)
    if before_seq is not None:
        try:
            query = query.where(col(AuditLog.seq) < int(seq_cursor(before_seq) or 0))
        except InvalidInput:
            errors["cursor"] = "invalid"
    with unit_of_work() as uow:
        if by not in (None, ""):
            text = str(by).strip()
            if text.lower() in ROLES:
                query = query.where(AuditLog.actor_role == ActorRole(text.lower()))
            elif _looks_like_uuid(text):
                query = query.where(AuditLog.actor_id == uuid.UUID(text))
            elif "@" in text and len(text) <= 255:
                user_id = uow.session.exec(select(User.id).where(User.email == text.lower())).first()
                if user_id is None:
                    errors["by"] = "no login has this email"
                else:
                    query = query.where(AuditLog.actor_id == user_id)
            else:
                errors["by"] = "a role (admin, provider, buyer, system), a user id or an email"
        if errors:
            raise InvalidInput("Some filters are not valid.", details=errors)
        rows = uow.session.exec(query.order_by(col(AuditLog.seq).desc()).limit(limit + 1)).all()
    return [
        {
            "id": str(a.id),
            "seq": a.seq,
            "entity_type": a.entity_type,
            "entity_id": str(a.entity_id),
            "action": a.action,
            "actor_role": a.actor_role.value,
            "actor_id": str(a.actor_id) if a.actor_id else None,
            "actor_email": email,
            "before": a.before_state,
            "after": a.after_state,
            "admin_only_memo": a.admin_only_memo,
            "created_at": a.created_at.isoformat(),
        }
        for a, email in rows
    ]
