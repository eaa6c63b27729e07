"""Public lead intake: a person submits a service request through a niche's form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.domain.forms import validate_submission
from hotlead_app.models import Lead, LeadStatus, Niche, NicheRead
from hotlead_app.models._types import utcnow
from hotlead_app.services import outbox, tokens
from hotlead_app.settings import get_settings

SEND_CONFIRMATION_TASK = "email.send_lead_confirmation"


@dataclass(frozen=True)
class SubmittedLead:
    id: uuid.UUID
    status: LeadStatus


def list_active_niches() -> list[NicheRead]:
    with unit_of_work() as uow:
        niches = uow.session.exec(select(Niche).where(Niche.active).order_by(Niche.name)).all()
        return [NicheRead.model_validate(n, from_attributes=True) for n in niches]


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
            or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 500
                       for k, v in utm_params.items())
        ):
            errors["utm_params"] = "must be an object of at most 20 short string values"
        else:
            utm = dict(utm_params)
    if errors:
        raise InvalidInput("Some attribution values are not valid.", details=errors)
    return ref, utm


def submit_lead(
    *,
    niche_slug: str,
    email: object,
    phone: object = None,
    payload: object = None,
    referrer_url: object = None,
    utm_params: object = None,
) -> SubmittedLead:
    """Validate against the niche's form, store a ``pending_confirmation`` lead and
    queue its confirmation email (published only once the lead has committed)."""
    with unit_of_work() as uow:
        niche = uow.session.exec(select(Niche).where(Niche.slug == niche_slug, Niche.active)).first()
        if niche is None:
            raise InvalidInput("Choose a service we offer.", details={"niche": "unknown niche"})
        submission = validate_submission(niche.fields, email=email, phone=phone, payload=payload)
        ref, utm = _clean_attribution(referrer_url, utm_params)
        lead_id = uuid.uuid4()
        nonce = tokens.new_nonce()
        lead = Lead(
            id=lead_id,
            niche_id=niche.id,
            status=LeadStatus.PENDING_CONFIRMATION,
            payload=submission.payload,
            email=submission.email,
            phone=submission.phone,
            referrer_url=ref,
            utm_params=utm,
            confirmation_token_hash=tokens.token_hash(tokens.make_token(lead_id, nonce)),
            confirmation_expires_at=utcnow() + timedelta(hours=get_settings().confirmation_ttl_hours),
        )
        uow.session.add(lead)
        uow.session.flush()
        outbox.add(uow, SEND_CONFIRMATION_TASK, lead_id=str(lead_id), nonce=nonce)
        return SubmittedLead(id=lead_id, status=lead.status)


def get_lead_status(*, lead_id: uuid.UUID) -> LeadStatus:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        if lead is None:
            raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
        return lead.status
