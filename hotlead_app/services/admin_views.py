"""What the admin console needs beyond the other services: editing a niche, the
global ledger with memos and filters, the audit log filtered by actor, and one
provider's page (logins, subscriptions with their levels).

Every function here is admin-only: it refuses any other actor (``Forbidden``), so
the pages and the API get the same answer from the same place.  Lists are
newest first, keyset-paginated on ``seq``, and return up to ``limit + 1`` rows (the
extra one only says that there is more).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.forms import validate_form_fields
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.domain.text import single_line_error
from hotlead_app.models import (
    ActorRole,
    AuditLog,
    CompetitionLevel,
    LedgerEntry,
    Niche,
    NicheRead,
    ProviderSubscription,
    ServiceProvider,
    User,
)
from hotlead_app.services import audit, catalog
from hotlead_app.services.checks import page_limit, require_admin

NICHE_FIELDS = ("name", "fields", "active")


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


# --------------------------------------------------------------------------- niches


def _niche_dict(niche: Niche, levels: list[CompetitionLevel]) -> dict[str, Any]:
    return {
        "id": str(niche.id),
        "slug": niche.slug,
        "name": niche.name,
        "active": niche.active,
        "fields": niche.fields,
        "distributed_count": niche.distributed_count,
        "levels": [
            {
                "id": str(lvl.id),
                "niche_id": str(lvl.niche_id),
                "name": lvl.name,
                "price_per_lead": money.format_money(lvl.price_per_lead),
                "max_providers": lvl.max_providers,
                "priority_order": lvl.priority_order,
                "active": lvl.active,
            }
            for lvl in levels
        ],
    }


def get_niche(*, niche_id: uuid.UUID, actor: Actor) -> dict[str, Any]:
    """One niche with its form and its competition levels (priority order)."""
    require_admin(actor)
    with unit_of_work() as uow:
        niche = uow.session.get(Niche, niche_id)
        if niche is None:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        levels = uow.session.exec(
            select(CompetitionLevel)
            .where(CompetitionLevel.niche_id == niche_id)
            .order_by(CompetitionLevel.priority_order, CompetitionLevel.id)
        ).all()
        return _niche_dict(niche, list(levels))


def update_niche(
    *, niche_id: uuid.UUID, actor: Actor, values: dict[str, Any] | None = None, memo: str | None = None
) -> NicheRead:
    """Change a niche's name, its form fields and whether it is open (``active``).
    The slug is its public address and does not change.  Validation errors name
    each field (``name``, ``fields[2].options``…) and nothing is written."""
    require_admin(actor)
    if not isinstance(values, dict):
        raise InvalidInput("Send the fields to change as an object.", details={"body": "must be an object"})
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in values:
        if key not in NICHE_FIELDS:
            errors[key] = "unknown field" if key != "slug" else "the slug of a niche does not change"
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["name"] = "required, at most 200 characters"
        elif error := single_line_error(name):
            errors["name"] = error
        else:
            clean["name"] = name.strip()
    if "active" in values:
        if not isinstance(values["active"], bool):
            errors["active"] = "true or false"
        else:
            clean["active"] = values["active"]
    if "fields" in values:
        try:
            clean["fields"] = validate_form_fields(values["fields"])
        except InvalidInput as exc:
            errors.update(exc.details)
    if errors:
        raise InvalidInput("The niche is not valid.", details=errors)
    with unit_of_work() as uow:
        if uow.session.get(Niche, niche_id) is None:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        # Opening or closing a niche decides who may receive its leads: take its lock.
        catalog.lock_niche(uow, niche_id)
        niche = uow.session.exec(select(Niche).where(Niche.id == niche_id).with_for_update()).one()
        uow.session.refresh(niche)
        before = audit.snapshot(niche)
        for key, value in clean.items():
            setattr(niche, key, value)
        uow.session.add(niche)
        uow.session.flush()
        after = audit.snapshot(niche)
        if before != after:
            action = "updated"
            if set(clean) == {"active"}:
                action = "activated" if clean["active"] else "deactivated"
            audit.record(
                uow,
                actor=actor,
                entity_type="niche",
                entity_id=niche.id,
                action=action,
                before=before,
                after=after,
                memo=memo,
            )
        return NicheRead.model_validate(niche, from_attributes=True)


# --------------------------------------------------------------------------- providers


def resolve_provider(*, text: object, actor: Actor) -> uuid.UUID:
    """A provider named by its id or by its email (the provider's or one of its logins')."""
    require_admin(actor)
    if not isinstance(text, str) or not text.strip() or len(text) > 255:
        raise InvalidInput("Name a provider by its id or email.", details={"provider": "an id or an email"})
    value = text.strip()
    with unit_of_work() as uow:
        if _looks_like_uuid(value):
            provider = uow.session.get(ServiceProvider, uuid.UUID(value))
            if provider is not None:
                return provider.id
        else:
            found = uow.session.exec(
                select(ServiceProvider.id)
                .where(func.lower(ServiceProvider.email) == value.lower())
                .order_by(ServiceProvider.created_at)
                .limit(1)
            ).first()
            if found is None:
                found = uow.session.exec(
                    select(User.provider_id).where(User.email == value.lower(), User.provider_id.is_not(None))
                ).first()
            if found is not None:
                return found
    raise InvalidInput("No provider has this id or email.", details={"provider": "no provider has this id or email"})


def provider_detail(*, provider_id: uuid.UUID, actor: Actor) -> dict[str, Any]:
    """A provider, its logins and its subscriptions with niche, level and price."""
    require_admin(actor)
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        logins = uow.session.exec(select(User).where(User.provider_id == provider_id).order_by(User.created_at)).all()
        subs = uow.session.exec(
            select(ProviderSubscription, CompetitionLevel, Niche)
            .join(CompetitionLevel, CompetitionLevel.id == ProviderSubscription.competition_level_id)
            .join(Niche, Niche.id == CompetitionLevel.niche_id)
            .where(ProviderSubscription.provider_id == provider_id)
            .order_by(ProviderSubscription.created_at, ProviderSubscription.id)
        ).all()
        return {
            "id": str(provider.id),
            "name": provider.name,
            "email": provider.email,
            "status": provider.status.value,
            "status_reason": provider.status_reason,
            "balance": money.format_money(provider.balance),
            "created_at": provider.created_at.isoformat(),
            "logins": [
                {"id": str(u.id), "email": u.email, "active": u.active, "created_at": u.created_at.isoformat()}
                for u in logins
            ],
            "subscriptions": [
                {
                    "id": str(s.id),
                    "niche": n.slug,
                    "niche_name": n.name,
                    "level": lvl.name,
                    "competition_level_id": str(lvl.id),
                    "price_per_lead": money.format_money(lvl.price_per_lead),
                    "max_providers": lvl.max_providers,
                    "filters": s.filters,
                    "active": s.active,
                    "pause_reason": s.pause_reason,
                    "last_received_at": s.last_received_at.isoformat() if s.last_received_at else None,
                    "created_at": s.created_at.isoformat(),
                    "cancelled_at": s.cancelled_at.isoformat() if s.cancelled_at else None,
                }
                for s, lvl, n in subs
            ],
        }


# --------------------------------------------------------------------------- ledger


def list_ledger(
    *,
    actor: Actor,
    provider_id: uuid.UUID | None = None,
    type: str | None = None,
    limit: int = 50,
    before_seq: object = None,
) -> list[dict[str, Any]]:
    """Every provider's entries newest first, with the provider's name and the memo
    an admin wrote; filter by provider and by entry type."""
    require_admin(actor)
    limit = page_limit(limit)
    query = (
        select(LedgerEntry, ServiceProvider.name)
        .join(ServiceProvider, ServiceProvider.id == LedgerEntry.provider_id)
        .order_by(LedgerEntry.seq.desc())
        .limit(limit + 1)
    )
    if type:
        try:
            query = query.where(LedgerEntry.type == LedgerEntryType(type))
        except ValueError:
            raise InvalidInput(
                "Unknown entry type.", details={"type": "one of " + ", ".join(t.value for t in LedgerEntryType)}
            ) from None
    if provider_id is not None:
        query = query.where(LedgerEntry.provider_id == provider_id)
    if before_seq is not None:
        if isinstance(before_seq, bool) or not isinstance(before_seq, int):
            raise InvalidInput("This cursor is not valid.", details={"cursor": "invalid"})
        query = query.where(LedgerEntry.seq < before_seq)
    with unit_of_work() as uow:
        rows = uow.session.exec(query).all()
    return [
        {
            "id": str(e.id),
            "seq": e.seq,
            "provider_id": str(e.provider_id),
            "provider_name": name,
            "type": e.type.value,
            "amount": money.format_money(e.amount),
            "signed_amount": money.format_money(money.signed_amount(e.type, e.amount)),
            "balance_after": money.format_money(e.balance_after) if e.balance_after is not None else None,
            "related_entity_type": e.related_entity_type,
            "related_entity_id": str(e.related_entity_id) if e.related_entity_id else None,
            "memo": e.memo,
            "is_reversal": e.is_reversal,
            "created_at": e.created_at.isoformat(),
        }
        for e, name in rows
    ]


# --------------------------------------------------------------------------- audit

ROLES = tuple(r.value for r in ActorRole)


def list_audit(
    *,
    actor: Actor,
    entity_type: str | None = None,
    entity_id: object = None,
    by: str | None = None,
    limit: int = 50,
    before_seq: object = None,
) -> list[dict[str, Any]]:
    """Audit rows newest first with their ``admin_only_memo``.  ``by`` names who acted:
    a role (``admin``, ``provider``, ``buyer``, ``system``), a user id or a login's email."""
    require_admin(actor)
    limit = page_limit(limit)
    errors: dict[str, str] = {}
    query = select(AuditLog, User.email).outerjoin(User, User.id == AuditLog.actor_id)
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
        if isinstance(before_seq, bool) or not isinstance(before_seq, int):
            errors["cursor"] = "invalid"
        else:
            query = query.where(AuditLog.seq < before_seq)
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
        rows = uow.session.exec(query.order_by(AuditLog.seq.desc()).limit(limit + 1)).all()
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
