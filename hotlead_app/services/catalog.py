"""Niches, competition levels, providers and subscriptions.

Changes that decide who may receive a niche's leads (levels, subscriptions) take
the niche's distribution lock, so they fall wholly before or after any one
distribution, and each is audited with its full before/after state: the
explanations of past distributions are read from those rows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain import controls, money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientBalance,
    InvalidFilters,
    InvalidInput,
    NotFound,
)
from hotlead_app.domain.filters import check_fields, validate_filters
from hotlead_app.domain.forms import validate_form_fields
from hotlead_app.domain.returns import RETURN_SETTINGS, clean_return_settings
from hotlead_app.domain.text import single_line_error
from hotlead_app.models import (
    CompetitionLevel,
    CompetitionLevelRead,
    Niche,
    NicheRead,
    PauseReason,
    ProviderRead,
    ProviderStatus,
    ProviderSubscription,
    ServiceProvider,
    SubscriptionRead,
)
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, ledger, outbox
from hotlead_app.services.checks import require_admin
from hotlead_app.settings import get_settings

#: "Not sent" for optional arguments whose ``None`` means something (schedule: always open).
UNSET: Any = object()


def lock_niche(uow: UnitOfWork, niche_id: uuid.UUID) -> None:
    """The niche's distribution lock (the same key the engine takes)."""
    uow.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('hotlead.niche:' || CAST(:id AS text), 0))"),
        {"id": str(niche_id)},
    )


# --------------------------------------------------------------------------- niches


def _duplicate_window_error(days: object) -> str | None:
    """Why ``days`` is not a niche's ``duplicate_window_days`` (None when it is)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DUPLICATE_WINDOW_DAYS:
        return f"a whole number of days from 0 (off) to {MAX_DUPLICATE_WINDOW_DAYS}"
    return None


def create_niche(
    *,
    slug: str,
    name: str,
    fields: object,
    actor: Actor,
    duplicate_window_days: object = None,
    name_required: object = False,
) -> NicheRead:
    """A new niche (open) with its form fields; ``duplicate_window_days`` (DOMAIN.md "The
    same consumer twice") defaults to the column's 30 when not given."""
    errors: dict[str, str] = {}
    window: int | None = None
    if duplicate_window_days is not None:
        if error := _duplicate_window_error(duplicate_window_days):
            errors["duplicate_window_days"] = error
        elif isinstance(duplicate_window_days, int):
            window = duplicate_window_days
    if not isinstance(name_required, bool):
        errors["name_required"] = "true or false"
    if not isinstance(slug, str) or not slug or len(slug) > 64 or not all(c.isalnum() or c == "-" for c in slug):
        errors["slug"] = "lower-case letters, digits and -, at most 64"
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "required, at most 200 characters"
    elif error := single_line_error(name):
        errors["name"] = error
    if errors:
        raise InvalidInput("The niche is not valid.", details=errors)
    clean_fields = validate_form_fields(fields)
    with unit_of_work() as uow:
        if uow.session.exec(select(Niche).where(Niche.slug == slug.lower())).first() is not None:
            raise Conflict("A niche with this slug exists.", details={"slug": slug})
        niche = Niche(slug=slug.lower(), name=name.strip(), fields=clean_fields, name_required=name_required is True)
        if window is not None:
            niche.duplicate_window_days = window
        uow.session.add(niche)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="niche",
            entity_id=niche.id,
            action="created",
            before=None,
            after=audit.snapshot(niche),
        )
        return NicheRead.model_validate(niche, from_attributes=True)


NICHE_FIELDS = ("name", "fields", "active", "duplicate_window_days", "name_required", *RETURN_SETTINGS)
MAX_DUPLICATE_WINDOW_DAYS = 3650


def update_niche(
    *, niche_id: uuid.UUID, actor: Actor, values: dict[str, Any] | None = None, memo: str | None = None
) -> NicheRead:
    """Change a niche's name, its form fields, whether it is open (``active``) and its
    return settings (``return_window_hours``, ``return_reasons``,
    ``max_return_rate_percent``, ``auto_approve_returns_below_percent``).
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
    for flag in ("active", "name_required"):
        if flag in values:
            if not isinstance(values[flag], bool):
                errors[flag] = "true or false"
            else:
                clean[flag] = values[flag]
    if "fields" in values:
        try:
            clean["fields"] = validate_form_fields(values["fields"])
        except InvalidInput as exc:
            errors.update(exc.details)
    # DOMAIN.md "Returns": the window, reason codes, rate cap and auto-approval rate.
    return_settings, return_errors = clean_return_settings(values)
    clean.update(return_settings)
    errors.update(return_errors)
    if "duplicate_window_days" in values:
        days = values["duplicate_window_days"]
        if error := _duplicate_window_error(days):
            errors["duplicate_window_days"] = error
        else:
            clean["duplicate_window_days"] = days
    if errors:
        raise InvalidInput("The niche is not valid.", details=errors)
    with unit_of_work() as uow:
        if uow.session.get(Niche, niche_id) is None:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        # Opening or closing a niche decides who may receive its leads: take its lock.
        lock_niche(uow, niche_id)
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
            if "duplicate_window_days" in clean:
                outbox.add(uow, jobs.RETRY_WAITING, niche_id=str(niche.id))
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


# --------------------------------------------------------------------------- levels

LEVEL_FIELDS = ("name", "price_per_lead", "max_providers", "priority_order", "active")


def _clean_level(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in values:
        if key not in LEVEL_FIELDS:
            errors[key] = "unknown field"
    for key in LEVEL_FIELDS:
        if key not in values:
            if not partial and key != "active":
                errors[key] = "required"
            continue
        value = values[key]
        if key == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                errors[key] = "required, at most 200 characters"
            elif error := single_line_error(value):
                errors[key] = error
            else:
                clean[key] = value.strip()
        elif key == "price_per_lead":
            try:
                clean[key] = money.to_amount(value, field=key)
            except InvalidInput as exc:
                errors[key] = exc.details.get(key, exc.message)
        elif key in ("max_providers", "priority_order"):
            if isinstance(value, bool) or not isinstance(value, int):
                errors[key] = "a whole number"
            elif key == "max_providers" and not 1 <= value <= 1000:
                errors[key] = "between 1 and 1000"
            elif key == "priority_order" and not -1_000_000 <= value <= 1_000_000:
                errors[key] = "out of range"
            else:
                clean[key] = value
        elif key == "active":
            if not isinstance(value, bool):
                errors[key] = "true or false"
            else:
                clean[key] = value
    if errors:
        raise InvalidInput("The competition level is not valid.", details=errors)
    return clean


def create_level(
    *, niche_id: uuid.UUID, actor: Actor, values: dict[str, Any] | None = None, **fields: Any
) -> CompetitionLevelRead:
    clean = _clean_level({**(values or {}), **fields}, partial=False)
    with unit_of_work() as uow:
        if uow.session.get(Niche, niche_id) is None:
            raise NotFound("No such niche.", details={"niche_id": str(niche_id)})
        lock_niche(uow, niche_id)
        level = CompetitionLevel(niche_id=niche_id, **clean)
        uow.session.add(level)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="competition_level",
            entity_id=level.id,
            action="created",
            before=None,
            after=audit.snapshot(level),
        )
        return CompetitionLevelRead.model_validate(level, from_attributes=True)


def update_level(
    *, level_id: uuid.UUID, actor: Actor, values: dict[str, Any] | None = None, **fields: Any
) -> CompetitionLevelRead:
    clean = _clean_level({**(values or {}), **fields}, partial=True)
    with unit_of_work() as uow:
        level = uow.session.get(CompetitionLevel, level_id)
        if level is None:
            raise NotFound("No such competition level.", details={"level_id": str(level_id)})
        lock_niche(uow, level.niche_id)
        level = uow.session.exec(
            select(CompetitionLevel).where(CompetitionLevel.id == level_id).with_for_update()
        ).one()
        before = audit.snapshot(level)
        for key, value in clean.items():
            setattr(level, key, value)
        uow.session.add(level)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="competition_level",
            entity_id=level.id,
            action="updated",
            before=before,
            after=audit.snapshot(level),
        )
        if "price_per_lead" in clean:
            # A new price may pause subscriptions a balance no longer covers, or resume some.
            provider_ids = uow.session.exec(
                select(ProviderSubscription.provider_id)
                .where(
                    ProviderSubscription.competition_level_id == level.id,
                    col(ProviderSubscription.cancelled_at).is_(None),
                )
                .distinct()
                .order_by(col(ProviderSubscription.provider_id))
            ).all()
            for provider_id in provider_ids:
                ledger.apply_balance_rules(uow, provider_id, "both")
        outbox.add(uow, jobs.RETRY_WAITING, niche_id=str(level.niche_id))
        return CompetitionLevelRead.model_validate(level, from_attributes=True)


def _provider_actor(actor: Actor) -> uuid.UUID | None:
    """``None`` for an admin; the provider's id for a provider; ``Forbidden`` for anyone
    else (the system, a buyer, a provider login without a provider). The catalog's reads
    check their actor like ``services/reads`` do."""
    if actor is not None and actor.role == "admin":
        return None
    if actor is not None and actor.role == "provider" and actor.provider_id is not None:
        return actor.provider_id
    raise Forbidden("Only an admin or a provider may read this.")


def list_levels(
    actor: Actor, *, niche_id: uuid.UUID | None = None, active_only: bool = False
) -> list[CompetitionLevelRead]:
    """The competition levels, by niche and priority.  An admin sees every level; a
    provider only the ones it can subscribe to (active, in an open niche)."""
    own = _provider_actor(actor)
    with unit_of_work() as uow:
        query = select(CompetitionLevel).order_by(
            col(CompetitionLevel.niche_id), col(CompetitionLevel.priority_order), col(CompetitionLevel.id)
        )
        if niche_id is not None:
            query = query.where(CompetitionLevel.niche_id == niche_id)
        if active_only or own is not None:
            query = query.where(CompetitionLevel.active)
        if own is not None:
            query = query.join(Niche, col(Niche.id) == col(CompetitionLevel.niche_id)).where(Niche.active)
        return [CompetitionLevelRead.model_validate(x, from_attributes=True) for x in uow.session.exec(query)]


# --------------------------------------------------------------------------- providers


def create_provider(*, name: object, email: object, actor: Actor, uow: UnitOfWork | None = None) -> ProviderRead:
    errors = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "required, at most 200 characters"
    elif error := single_line_error(name):
        errors["name"] = error
    if not isinstance(email, str) or "@" not in email or len(email) > 255 or single_line_error(email.strip()):
        errors["email"] = "a valid email address"
    if errors:
        raise InvalidInput("The provider is not valid.", details=errors)
    assert isinstance(name, str) and isinstance(email, str)  # checked just above
    clean_name, clean_email = name.strip(), email.strip().lower()

    def _create(work: UnitOfWork) -> ProviderRead:
        provider = ServiceProvider(name=clean_name, email=clean_email, time_zone=get_settings().default_time_zone)
        work.session.add(provider)
        work.session.flush()
        work.session.refresh(provider)
        audit.record(
            work,
            actor=actor,
            entity_type="provider",
            entity_id=provider.id,
            action="created",
            before=None,
            after=audit.snapshot(provider),
        )
        return ProviderRead.model_validate(provider, from_attributes=True)

    if uow is not None:
        return _create(uow)
    with unit_of_work() as own:
        return _create(own)


def get_provider(actor: Actor, *, provider_id: uuid.UUID) -> ProviderRead:
    """One provider: any for an admin; for a provider only itself (another one is
    ``NotFound``, as if it did not exist)."""
    own = _provider_actor(actor)
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None or (own is not None and provider.id != own):
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        return ProviderRead.model_validate(provider, from_attributes=True)


PROVIDER_SETTINGS = ("time_zone", "spend_caps")


def update_provider_settings(
    *, provider_id: uuid.UUID, actor: Actor, values: dict[str, Any] | None = None
) -> ProviderRead:
    """A provider's own settings (``PATCH /provider/me``): ``time_zone`` (IANA) and
    ``spend_caps`` (``{"day"|"week"|"month": "amount"}``, ``{}`` or null for none).
    Bad input names each field and writes nothing.  Audited with the full state (the
    explanations read the zone and caps in force at each distribution), and waiting
    leads are tried again: a raised cap or a new zone may let this provider take them."""
    if actor.role == "provider" and actor.provider_id != provider_id:
        raise Forbidden("A provider changes only its own settings.")
    if actor.role not in ("provider", "admin"):
        raise Forbidden("Only the provider or an admin changes these settings.")
    if not isinstance(values, dict):
        raise InvalidInput("Send the settings to change as an object.", details={"body": "must be an object"})
    errors: dict[str, str] = {key: "unknown field" for key in values if key not in PROVIDER_SETTINGS}
    clean: dict[str, Any] = {}
    for key, check in (("time_zone", controls.validate_time_zone), ("spend_caps", controls.validate_spend_caps)):
        if key in values:
            try:
                clean[key] = check(values[key])
            except InvalidInput as exc:
                errors.update(exc.details)
    if errors:
        raise InvalidInput("The settings are not valid.", details=errors)
    with unit_of_work() as uow:
        if uow.session.get(ServiceProvider, provider_id) is None:
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        provider = ledger.lock_provider(uow, provider_id)
        before = audit.snapshot(provider)
        for key, value in clean.items():
            setattr(provider, key, value)
        uow.session.add(provider)
        uow.session.flush()
        after = audit.snapshot(provider)
        if before != after:
            audit.record(
                uow,
                actor=actor,
                entity_type="provider",
                entity_id=provider_id,
                action="settings_updated",
                before=before,
                after=after,
            )
            outbox.add(uow, jobs.RETRY_WAITING)
        uow.session.refresh(provider)
        return ProviderRead.model_validate(provider, from_attributes=True)


def set_provider_status(*, provider_id: uuid.UUID, status: str, actor: Actor, memo: str | None = None) -> ProviderRead:
    """An admin switches a provider on (``active``) or off (``inactive``)."""
    if status not in ("active", "inactive"):
        raise InvalidInput("The status is active or inactive.", details={"status": "active or inactive"})
    with unit_of_work() as uow:
        provider = ledger.lock_provider(uow, provider_id)
        if status == "active" and provider.balance < 0:
            raise InsufficientBalance(
                f"The balance is {money.format_money(provider.balance)}: the provider can be switched on "
                "once a payment brings it back to zero.",
                details={"balance": money.format_money(provider.balance)},
            )
        before = audit.snapshot(provider)
        provider.status = ProviderStatus(status)
        provider.status_reason = "admin" if status == "inactive" else None
        uow.session.add(provider)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="provider",
            entity_id=provider_id,
            action=f"set_{status}",
            before=before,
            after=audit.snapshot(provider),
            memo=memo,
        )
        if status == "active":
            # An active provider without a subscription it can pay for is auto_deactivated.
            ledger.apply_balance_rules(uow, provider_id)
            outbox.add(uow, jobs.RETRY_WAITING)
        uow.session.refresh(provider)
        return ProviderRead.model_validate(provider, from_attributes=True)


# --------------------------------------------------------------------------- subscriptions


def _lock_subscription(
    uow: UnitOfWork, subscription_id: uuid.UUID, actor: Actor
) -> tuple[ProviderSubscription, CompetitionLevel]:
    sub = uow.session.get(ProviderSubscription, subscription_id)
    if sub is None or (actor.role == "provider" and sub.provider_id != actor.provider_id):
        raise NotFound("No such subscription.", details={"subscription_id": str(subscription_id)})
    level = uow.session.get(CompetitionLevel, sub.competition_level_id)
    assert level is not None  # a foreign key
    lock_niche(uow, level.niche_id)
    sub = uow.session.exec(
        select(ProviderSubscription).where(ProviderSubscription.id == subscription_id).with_for_update()
    ).one()
    uow.session.refresh(sub)
    return sub, level


def _owner(actor: Actor, provider_id: uuid.UUID | None) -> uuid.UUID:
    if actor.role == "provider":
        if provider_id is not None and provider_id != actor.provider_id:
            raise Forbidden("A provider manages only its own subscriptions.")
        assert actor.provider_id is not None  # a provider actor always names its provider
        return actor.provider_id
    if provider_id is None:
        raise InvalidInput("Name the provider.", details={"provider_id": "required"})
    return provider_id


def _clean_controls(schedule: object, caps: object) -> dict[str, Any]:
    """A subscription's schedule and caps as stored; every bad one named at once."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if schedule is not UNSET:
        try:
            clean["schedule"] = controls.validate_schedule(schedule)
        except InvalidInput as exc:
            errors.update(exc.details)
    if caps is not UNSET:
        try:
            clean["caps"] = controls.validate_caps(caps)
        except InvalidInput as exc:
            errors.update(exc.details)
    if errors:
        raise InvalidInput("The subscription is not valid.", details=errors)
    return clean


def _clean_subscription(filters: object, schedule: object, caps: object) -> tuple[Any, dict[str, Any]]:
    """(filters, {schedule, caps}) as stored (filters None when not sent).  Every bad
    value is named at once; bad filters answer ``invalid_filters`` as before."""
    errors: dict[str, str] = {}
    clean: Any = None
    filters_bad = False
    try:
        clean = validate_filters(filters) if filters is not None else None
    except InvalidFilters as exc:
        errors.update(exc.details)
        filters_bad = True
    settings_: dict[str, Any] = {}
    try:
        settings_ = _clean_controls(schedule, caps)
    except InvalidInput as exc:
        errors.update(exc.details)
    if filters_bad:
        raise InvalidFilters(details=errors)
    if errors:
        raise InvalidInput("The subscription is not valid.", details=errors)
    return clean, settings_


def create_subscription(
    *,
    competition_level_id: uuid.UUID,
    filters: object,
    actor: Actor,
    provider_id: uuid.UUID | None = None,
    schedule: object = None,
    caps: object = None,
    take_waiting: object = False,
) -> SubscriptionRead:
    """Subscribe to a level.  By default the subscription takes only leads approved
    from now on (``leads_from`` = its creation time); ``take_waiting=True`` takes
    the approved leads already waiting too (``leads_from`` = null), after the
    provider saw how many and what they cost (:func:`waiting_leads`)."""
    owner = _owner(actor, provider_id)
    if not isinstance(take_waiting, bool):
        raise InvalidInput("take_waiting is true or false.", details={"take_waiting": "true or false"})
    clean, settings_ = _clean_subscription({} if filters is None else filters, schedule, caps)
    assert clean is not None
    with unit_of_work() as uow:
        level = uow.session.get(CompetitionLevel, competition_level_id)
        if level is None:
            raise NotFound("No such competition level.", details={"competition_level_id": str(competition_level_id)})
        niche = uow.session.get(Niche, level.niche_id)
        if not level.active or niche is None or not niche.active:
            raise Conflict("This competition level is not open.", details={"competition_level_id": str(level.id)})
        if uow.session.get(ServiceProvider, owner) is None:
            raise NotFound("No such provider.", details={"provider_id": str(owner)})
        check_fields(clean, niche.fields)  # DOMAIN.md "Which fields a filter may name"
        lock_niche(uow, level.niche_id)
        created = utcnow()
        sub = ProviderSubscription(
            provider_id=owner,
            competition_level_id=level.id,
            filters=clean,
            created_at=created,
            leads_from=None if take_waiting else created,
            **settings_,
        )
        uow.session.add(sub)
        uow.session.flush()
        uow.session.refresh(sub)
        audit.record(
            uow,
            actor=actor,
            entity_type="subscription",
            entity_id=sub.id,
            action="created",
            before=None,
            after=audit.snapshot(sub),
        )
        ledger.apply_balance_rules(uow, owner)
        outbox.add(uow, jobs.RETRY_WAITING, niche_id=str(level.niche_id))
        uow.session.refresh(sub)
        return SubscriptionRead.model_validate(sub, from_attributes=True)


def update_subscription(
    *,
    subscription_id: uuid.UUID,
    actor: Actor,
    filters: object = None,
    active: object = None,
    schedule: object = UNSET,
    caps: object = UNSET,
) -> SubscriptionRead:
    """Edit filters (affects only leads not yet distributed), pause or resume.

    New filters, and the stored ones when resuming, must name only fields a filter may
    name (``domain.filters.check_fields``). A subscription paused as
    ``filter_not_allowed`` whose filters are replaced by allowed ones stays paused, as
    if paused by its provider, who resumes it when ready."""
    if active is not None and not isinstance(active, bool):
        raise InvalidInput("active is true or false.", details={"active": "true or false"})
    clean, settings_ = _clean_subscription(filters, schedule, caps)
    with unit_of_work() as uow:
        sub, level = _lock_subscription(uow, subscription_id, actor)
        if sub.cancelled_at is not None:
            raise Conflict("This subscription was cancelled.", details={"subscription_id": str(sub.id)})
        niche = uow.session.get(Niche, level.niche_id)
        assert niche is not None  # a foreign key
        if clean is not None:
            check_fields(clean, niche.fields)
        elif active is True:
            check_fields(sub.filters, niche.fields)
        before = audit.snapshot(sub)
        if clean is not None:
            sub.filters = clean
            if not sub.active and sub.pause_reason == PauseReason.FILTER_NOT_ALLOWED:
                sub.pause_reason = PauseReason.BY_PROVIDER
        for key, value in settings_.items():  # pausing and resuming never change leads_from
            setattr(sub, key, value)
        if active is False:
            sub.active = False
            sub.pause_reason = PauseReason.BY_PROVIDER
        elif active is True:
            sub.active = True
            sub.pause_reason = None
        uow.session.add(sub)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="subscription",
            entity_id=sub.id,
            action="updated",
            before=before,
            after=audit.snapshot(sub),
        )
        # Resuming a subscription the balance cannot pay for pauses it again at once.
        ledger.apply_balance_rules(uow, sub.provider_id)
        outbox.add(uow, jobs.RETRY_WAITING, niche_id=str(level.niche_id))
        uow.session.refresh(sub)
        return SubscriptionRead.model_validate(sub, from_attributes=True)


def cancel_subscription(*, subscription_id: uuid.UUID, actor: Actor) -> SubscriptionRead:
    with unit_of_work() as uow:
        sub, _level = _lock_subscription(uow, subscription_id, actor)
        if sub.cancelled_at is not None:
            return SubscriptionRead.model_validate(sub, from_attributes=True)
        before = audit.snapshot(sub)
        sub.active = False
        sub.pause_reason = PauseReason.CANCELLED
        sub.cancelled_at = utcnow()
        uow.session.add(sub)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="subscription",
            entity_id=sub.id,
            action="cancelled",
            before=before,
            after=audit.snapshot(sub),
        )
        ledger.apply_balance_rules(uow, sub.provider_id)
        return SubscriptionRead.model_validate(sub, from_attributes=True)


def list_subscriptions(
    actor: Actor, *, provider_id: uuid.UUID | None = None, niche_id: uuid.UUID | None = None
) -> list[SubscriptionRead]:
    """Subscriptions, oldest first: any provider's for an admin; a provider's own only
    (asking for another provider's is ``Forbidden``)."""
    own = _provider_actor(actor)
    if own is not None:
        if provider_id is not None and provider_id != own:
            raise Forbidden("A provider reads only its own subscriptions.", details={"provider_id": str(provider_id)})
        provider_id = own
    with unit_of_work() as uow:
        query = select(ProviderSubscription).order_by(
            col(ProviderSubscription.created_at), col(ProviderSubscription.id)
        )
        if provider_id is not None:
            query = query.where(ProviderSubscription.provider_id == provider_id)
        if niche_id is not None:
            query = query.join(CompetitionLevel).where(CompetitionLevel.niche_id == niche_id)
        return [SubscriptionRead.model_validate(s, from_attributes=True) for s in uow.session.exec(query)]


def waiting_leads(*, competition_level_id: uuid.UUID, actor: Actor, filters: object = None) -> dict[str, Any]:
    """What subscribing with ``take_waiting`` would let the new subscription take:
    how many approved leads of the level's niche are waiting (not distributed yet)
    and match ``filters``, and what they would cost at the level's price
    (DOMAIN.md "A new subscription and the leads already waiting").  An upper bound:
    the engine still applies the schedule, caps and balance when it distributes."""
    clean, _ = _clean_subscription({} if filters is None else filters, UNSET, UNSET)
    with unit_of_work() as uow:
        level = uow.session.get(CompetitionLevel, competition_level_id)
        niche = uow.session.get(Niche, level.niche_id) if level is not None else None
        if level is None or niche is None or (actor.role == "provider" and not (level.active and niche.active)):
            raise NotFound("No such competition level.", details={"competition_level_id": str(competition_level_id)})
        check_fields(clean, niche.fields)
        count = uow.session.execute(
            text("""
            SELECT count(*) FROM leads
             WHERE niche_id = :niche AND status = 'approved'
               AND hotlead_filter_mismatch(CAST(:filters AS jsonb), payload) IS NULL
        """),
            {"niche": niche.id, "filters": json.dumps(clean)},
        ).scalar_one()
    return {
        "competition_level_id": str(level.id),
        "count": int(count),
        "price_per_lead": money.format_money(level.price_per_lead),
        "total_price": money.format_money(level.price_per_lead * int(count)),
    }
