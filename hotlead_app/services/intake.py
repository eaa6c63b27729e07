"""Public lead intake: a person submits a service request through a niche's form."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import func
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, raw_transaction, unit_of_work
from hotlead_app.domain.actors import BUYER
from hotlead_app.domain.consent import CONSENT_VERSION, ClientInfo
from hotlead_app.domain.controls import consumer_email, consumer_phone
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.forms import normalize_email, validate_submission
from hotlead_app.infra import metrics
from hotlead_app.models import CompetitionLevel, Lead, LeadStatus, Niche, NicheRead
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, outbox, ratelimit, tokens
from hotlead_app.settings import get_settings


@dataclass(frozen=True)
class SubmittedLead:
    id: uuid.UUID
    status: LeadStatus


def list_active_niches() -> list[NicheRead]:
    with unit_of_work() as uow:
        niches = uow.session.exec(select(Niche).where(Niche.active).order_by(Niche.name)).all()
        return [NicheRead.model_validate(n, from_attributes=True) for n in niches]


@dataclass(frozen=True)
class OpenNiche:
    slug: str
    name: str
    max_providers: int  # the most providers one lead of it can go to (0: no active level)


def _reach_query() -> Any:
    return (
        select(col(CompetitionLevel.niche_id), func.coalesce(func.sum(CompetitionLevel.max_providers), 0))
        .where(col(CompetitionLevel.active))
        .group_by(col(CompetitionLevel.niche_id))
    )


def max_providers_per_lead(*, niche_id: uuid.UUID) -> int:
    """The most providers one lead of the niche can go to: the engine walks every active
    level and takes up to its ``max_providers`` at each, a provider at most once, so
    this is the sum of ``max_providers`` over the niche's active levels (the home page
    and the form say "up to N pros contact you")."""
    with unit_of_work() as uow:
        total = uow.session.exec(
            select(func.coalesce(func.sum(CompetitionLevel.max_providers), 0)).where(
                col(CompetitionLevel.niche_id) == niche_id, col(CompetitionLevel.active)
            )
        ).one()
        return int(total or 0)


def list_open_niches() -> list[OpenNiche]:
    """The active niches by name, each with ``max_providers_per_lead`` (one query)."""
    with unit_of_work() as uow:
        reach = {niche_id: int(total) for niche_id, total in uow.session.exec(_reach_query()).all()}
        niches = uow.session.exec(select(Niche).where(Niche.active).order_by(Niche.name)).all()
        return [OpenNiche(slug=n.slug, name=n.name, max_providers=reach.get(n.id, 0)) for n in niches]


def get_niche(*, slug: str) -> NicheRead:
    with unit_of_work() as uow:
        niche = uow.session.exec(select(Niche).where(Niche.slug == slug, Niche.active)).first()
        if niche is None:
            raise NotFound(f"There is no service called {slug!r}.", details={"niche": slug})
        return NicheRead.model_validate(niche, from_attributes=True)


def _clean_attribution(referrer_url: object, utm_params: object) -> tuple[str | None, dict[str, str] | None]:
    errors: dict[str, str] = {}
    ref = None
    if referrer_url not in (None, ""):
        if not isinstance(referrer_url, str) or len(referrer_url) > 2000:
            errors["referrer_url"] = "must be a URL of at most 2000 characters"
        else:
            parsed = urlparse(referrer_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                errors["referrer_url"] = "must be an http(s) URL"
            else:
                ref = referrer_url
    utm = None
    if utm_params not in (None, {}):
        if (
            not isinstance(utm_params, dict)
            or len(utm_params) > 20
            or not all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 500
                for k, v in utm_params.items()
            )
        ):
            errors["utm_params"] = "must be an object of at most 20 short string values"
        else:
            utm = dict(utm_params)
    if errors:
        raise InvalidInput("Some attribution values are not valid.", details=errors)
    return ref, utm


def _partner_code(code: object) -> str | None:
    """The partner code as stored (trimmed, lower case); a malformed one is no partner.
    An unknown code is no partner either: the submission's statement looks it up."""
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        return None
    return code.strip().lower()


def _token_fields(lead_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    """A fresh token's nonce and the lead columns that go with it (only its hash)."""
    nonce = tokens.new_nonce()
    return nonce, {
        "confirmation_token_hash": tokens.token_hash(tokens.make_token(lead_id, nonce)),
        "confirmation_expires_at": utcnow() + timedelta(hours=get_settings().confirmation_ttl_hours),
    }


def _queue_confirmation(uow: UnitOfWork, lead: Lead) -> None:
    """A fresh token (its hash replaces any older one) and the email carrying it."""
    nonce, fields = _token_fields(lead.id)
    for key, value in fields.items():
        setattr(lead, key, value)
    uow.session.add(lead)
    outbox.add(uow, jobs.EMAIL_LEAD_CONFIRMATION, lead_id=str(lead.id), nonce=nonce)


# The lead, its audit row and its email job: one statement, one round trip, on a raw
# psycopg cursor (``db.raw_transaction``; this is the public hot path, see
# bench/intake.py).  A partner code that matches no partner leaves ``partner_id`` NULL.
_INSERT_SUBMISSION = """
    WITH lead AS (
      INSERT INTO leads (id, niche_id, status, payload, name, email, phone, referrer_url, utm_params, partner_id,
                         consent_version, consent_ip, consent_user_agent, confirmation_token_hash,
                         confirmation_expires_at, consumer_email, consumer_phone_e164, created_at)
      VALUES (%(id)s, %(niche_id)s, 'pending_confirmation', CAST(%(payload)s AS jsonb), %(name)s, %(email)s,
              %(phone)s,
              %(referrer_url)s, CAST(%(utm_params)s AS jsonb),
              (SELECT partners.id FROM partners WHERE partners.code = %(partner_code)s),
              %(consent_version)s, %(consent_ip)s, %(consent_user_agent)s,
              %(token_hash)s, %(expires_at)s, %(consumer_email)s, %(consumer_phone)s, now())
      RETURNING id
    ), audit AS (
      INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, after_state, created_at)
      SELECT %(audit_id)s, 'buyer', 'lead', lead.id, 'submitted', CAST(%(audit_after)s AS jsonb), now() FROM lead
    )
    INSERT INTO outbox (id, task, args, attempts, created_at)
    SELECT %(outbox_id)s, %(task)s, CAST(%(outbox_args)s AS jsonb), 0, now() FROM lead
"""

# Active niches by slug, kept a few seconds: every submission needs its form.
_NICHE_TTL = 5.0
_niche_cache: dict[str, tuple[float, uuid.UUID, str, list[dict[str, Any]], bool]] = {}


def _active_niche(slug: str) -> tuple[uuid.UUID, str, list[dict[str, Any]], bool] | None:
    """The niche's id, slug, form and whether it requires the consumer's name, read at
    most every few seconds (a catalogue read of its own, like the cached answer it refreshes)."""
    now = time.monotonic()
    cached = _niche_cache.get(slug)
    if cached is not None and cached[0] > now:
        return cached[1:]
    with unit_of_work() as uow:
        niche = uow.session.exec(select(Niche).where(Niche.slug == slug, Niche.active)).first()
        if niche is None:
            _niche_cache.pop(slug, None)
            return None
        _niche_cache[slug] = (now + _NICHE_TTL, niche.id, niche.slug, niche.fields, niche.name_required)
        return niche.id, niche.slug, niche.fields, niche.name_required


def submit_lead(
    *,
    niche_slug: str,
    email: object,
    name: object = None,
    phone: object = None,
    payload: object = None,
    referrer_url: object = None,
    utm_params: object = None,
    partner_code: object = None,
    honeypot: object = None,
    client: ClientInfo = ClientInfo(),
) -> SubmittedLead:
    """Validate against the niche's form, store a ``pending_confirmation`` lead and
    queue its confirmation email (in the outbox, relayed once the lead has committed).

    A filled honeypot field (a bot) gets the same answer as a person, and nothing
    is stored."""
    ratelimit.hit("submit", client.ip)
    niche = _active_niche(niche_slug) if isinstance(niche_slug, str) else None
    if niche is None:
        raise NotFound("We don't offer that service.", details={"niche": "unknown niche"})
    niche_id, slug, fields, name_required = niche
    submission = validate_submission(
        fields, name=name, name_required=name_required, email=email, phone=phone, payload=payload
    )
    ref, utm = _clean_attribution(referrer_url, utm_params)
    if isinstance(honeypot, str) and honeypot.strip():
        return SubmittedLead(id=uuid.uuid4(), status=LeadStatus.PENDING_CONFIRMATION)
    lead_id = uuid.uuid4()
    nonce, token_fields = _token_fields(lead_id)
    params = {
        "id": lead_id,
        "niche_id": niche_id,
        "payload": json.dumps(submission.payload),
        "name": submission.name or None,
        "email": submission.email,
        "phone": submission.phone,
        # DOMAIN.md "The same consumer twice": who this lead is about, from the start.
        "consumer_email": consumer_email(submission.email),
        "consumer_phone": consumer_phone(submission.phone),
        "referrer_url": ref,
        "utm_params": json.dumps(utm) if utm is not None else None,
        "partner_code": _partner_code(partner_code),
        "consent_version": CONSENT_VERSION,
        "consent_ip": client.ip[:64],
        "consent_user_agent": (client.user_agent or "")[:500] or None,
        "token_hash": token_fields["confirmation_token_hash"],
        "expires_at": token_fields["confirmation_expires_at"],
        "audit_id": uuid.uuid4(),
        "audit_after": json.dumps({"status": LeadStatus.PENDING_CONFIRMATION.value, "niche": slug}),
        "outbox_id": uuid.uuid4(),
        "task": jobs.EMAIL_LEAD_CONFIRMATION,
        "outbox_args": json.dumps({"lead_id": str(lead_id), "nonce": nonce}),
    }
    with raw_transaction() as cursor:
        cursor.execute(_INSERT_SUBMISSION, params)
    metrics.lead_transition(slug, "new", LeadStatus.PENDING_CONFIRMATION.value)
    return SubmittedLead(id=lead_id, status=LeadStatus.PENDING_CONFIRMATION)


def resend_confirmation(*, email: object, lead_id: object, client: ClientInfo = ClientInfo()) -> None:
    """A new confirmation link for a lead still waiting for it; the old link stops
    working.  Says nothing about whether such a lead exists."""
    ratelimit.hit("resend", client.ip)
    try:
        clean_email = normalize_email(email)
        lead_uuid = lead_id if isinstance(lead_id, uuid.UUID) else uuid.UUID(str(lead_id))
    except (ValueError, TypeError):
        return
    with unit_of_work() as uow:
        lead = uow.session.exec(select(Lead).where(Lead.id == lead_uuid).with_for_update()).first()
        if lead is None or lead.email.lower() != clean_email.lower():
            return
        if lead.status != LeadStatus.PENDING_CONFIRMATION:
            return
        _queue_confirmation(uow, lead)
        audit.record(
            uow,
            actor=BUYER,
            entity_type="lead",
            entity_id=lead.id,
            action="confirmation_resent",
            before=None,
            after={"status": lead.status.value},
        )


@dataclass(frozen=True)
class Recap:
    """What the person asked for, shown back on the confirmation page."""

    niche_name: str
    name: str
    email: str
    phone: str | None  # E.164
    fields: list[dict[str, Any]]  # the niche's form, for the answers' labels and order
    payload: dict[str, Any]
    max_providers: int  # "up to N pros contact you"


@dataclass(frozen=True)
class Confirmed:
    id: uuid.UUID
    status: LeadStatus
    already: bool  # the link had been used before
    recap: Recap | None = None


def _recap(lead_id: uuid.UUID) -> Recap | None:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        niche = uow.session.get(Niche, lead.niche_id) if lead is not None else None
        if lead is None or niche is None:
            return None
        recap = Recap(
            niche_name=niche.name,
            name=lead.name or "",
            email=lead.email,
            phone=lead.phone,
            fields=list(niche.fields),
            payload=dict(lead.payload or {}),
            max_providers=0,
        )
    return Recap(**{**recap.__dict__, "max_providers": max_providers_per_lead(niche_id=niche.id)})


def confirm(*, token: object, client: ClientInfo = ClientInfo()) -> Confirmed:
    """The confirmation link, rate limited per client (see ``leads.confirm_lead``),
    with the recap of the request (only the holder of the link sees it)."""
    from hotlead_app.services import leads

    ratelimit.hit("confirm", client.ip)
    if not isinstance(token, str):
        raise InvalidInput("This confirmation link is not valid.", details={"token": "invalid"})
    state = leads.confirm_lead(token=token)
    return Confirmed(state.id, state.status, state.already_confirmed, recap=_recap(state.id))
