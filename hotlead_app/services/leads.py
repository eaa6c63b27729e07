"""A lead's life after intake: confirm, approve, reject, Global Bad Lead.

Every change of status goes through :func:`_transition`, which asks the state
table in ``domain/leads.py`` and refuses anything else (``IllegalTransition``),
and writes one audit row in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.actors import BUYER, Actor
from hotlead_app.domain.controls import consumer_email, consumer_phone
from hotlead_app.domain.errors import Expired, InvalidInput, NotFound
from hotlead_app.domain.leads import LeadStatus, check_transition
from hotlead_app.infra import metrics
from hotlead_app.infra.logging import bind
from hotlead_app.models import Lead, LeadAssignment, Niche
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, outbox, refunds, tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeadState:
    id: uuid.UUID
    status: LeadStatus
    confirmed_at: datetime | None = None
    already_confirmed: bool = False  # confirm_lead: the link had been used before


def _lock(uow: UnitOfWork, lead_id: uuid.UUID) -> Lead:
    lead = uow.session.exec(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
    if lead is None:
        raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
    uow.session.refresh(lead)
    return lead


def _has_assignments(uow: UnitOfWork, lead_id: uuid.UUID) -> bool:
    count = uow.session.exec(
        select(func.count()).select_from(LeadAssignment).where(LeadAssignment.lead_id == lead_id)
    ).one()
    return count > 0


def _transition(
    uow: UnitOfWork,
    lead: Lead,
    target: LeadStatus,
    *,
    actor: Actor,
    action: str,
    memo: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    check_transition(
        lead.status,
        target,
        confirmed=lead.confirmed_at is not None,
        has_assignments=_has_assignments(uow, lead.id),
    )
    before = {"status": lead.status.value}
    lead.status = target
    uow.session.add(lead)
    uow.session.flush()
    niche_id, from_state, to_state, counted_id = lead.niche_id, before["status"], target.value, lead.id
    uow.after_commit(lambda: _counted(niche_id, from_state, to_state, counted_id))
    audit.record(
        uow,
        actor=actor,
        entity_type="lead",
        entity_id=lead.id,
        action=action,
        before=before,
        after={"status": target.value, **(extra or {})},
        memo=memo,
    )


def _counted(niche_id: uuid.UUID, from_state: str, to_state: str, lead_id: uuid.UUID) -> None:
    metrics.lead_transition(metrics.niche_label(niche_id), from_state, to_state)
    with bind(lead_id=lead_id):
        log.info("lead %s -> %s", from_state, to_state)


def confirm_lead(*, token: str) -> LeadState:
    """The person clicked the link in the confirmation email."""
    lead_id = tokens.read_token(token)
    if lead_id is None:
        raise InvalidInput("This confirmation link is not valid.", details={"token": "invalid"})
    with unit_of_work() as uow:
        lead = uow.session.exec(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
        if lead is None:
            raise InvalidInput("This confirmation link is not valid.", details={"token": "invalid"})
        if lead.confirmed_at is not None:
            return LeadState(lead.id, lead.status, lead.confirmed_at, already_confirmed=True)
        if lead.confirmation_token_hash != tokens.token_hash(token):
            raise InvalidInput("This confirmation link was replaced by a newer one.", details={"token": "superseded"})
        if lead.status != LeadStatus.PENDING_CONFIRMATION:
            return LeadState(lead.id, lead.status, lead.confirmed_at)
        if lead.confirmation_expires_at is not None and lead.confirmation_expires_at < utcnow():
            raise Expired("This confirmation link has expired; ask for a new one.", details={"token": "expired"})
        lead.confirmed_at = utcnow()
        mark_consumer(uow, lead)
        _transition(
            uow,
            lead,
            LeadStatus.PENDING_APPROVAL,
            actor=BUYER,
            action="confirmed",
            extra={"duplicate_of": str(lead.duplicate_of)} if lead.duplicate_of else None,
        )
        return LeadState(lead.id, lead.status, lead.confirmed_at)


def mark_consumer(uow: UnitOfWork, lead: Lead) -> None:
    """DOMAIN.md "The same consumer twice", at confirmation: the lead's consumer
    (email trimmed and lower-cased, phone in E.164 with region US) and
    ``duplicate_of``, the latest earlier lead of the same niche and consumer, not
    rejected, created within the niche's ``duplicate_window_days`` (0: off).  Nothing
    is rejected for it: the admin decides."""
    lead.consumer_email = consumer_email(lead.email)
    lead.consumer_phone_e164 = consumer_phone(lead.phone)
    niche = uow.session.get(Niche, lead.niche_id)
    window = niche.duplicate_window_days if niche is not None else 0
    if window <= 0 or (lead.consumer_email is None and lead.consumer_phone_e164 is None):
        return
    same = []
    if lead.consumer_email is not None:
        same.append(col(Lead.consumer_email) == lead.consumer_email)
    if lead.consumer_phone_e164 is not None:
        same.append(col(Lead.consumer_phone_e164) == lead.consumer_phone_e164)
    since = lead.created_at - timedelta(days=window)
    lead.duplicate_of = uow.session.exec(
        select(Lead.id)
        .where(
            Lead.niche_id == lead.niche_id,
            Lead.id != lead.id,
            or_(*same),
            col(Lead.created_at) >= since,
            col(Lead.created_at) <= lead.created_at,
            Lead.status != LeadStatus.REJECTED,
        )
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .limit(1)
    ).first()


def approve_lead(*, lead_id: uuid.UUID, actor: Actor, memo: str | None = None) -> LeadState:
    """Approve; the distribution job is queued only once this commits."""
    with unit_of_work() as uow:
        lead = _lock(uow, lead_id)
        lead.approved_at = utcnow()  # a subscription takes leads approved from its leads_from
        if lead.consumer_email is None and lead.consumer_phone_e164 is None:
            lead.consumer_email = consumer_email(lead.email)
            lead.consumer_phone_e164 = consumer_phone(lead.phone)
        _transition(uow, lead, LeadStatus.APPROVED, actor=actor, action="approved", memo=memo)
        outbox.add(uow, jobs.DISTRIBUTE_LEAD, lead_id=str(lead_id))
        return LeadState(lead.id, lead.status, lead.confirmed_at)


def reject_lead(*, lead_id: uuid.UUID, actor: Actor, reason: str, memo: str | None = None) -> LeadState:
    if not reason or not reason.strip():
        raise InvalidInput("Say why the lead is rejected.", details={"reason": "required"})
    with unit_of_work() as uow:
        lead = _lock(uow, lead_id)
        _transition(
            uow, lead, LeadStatus.REJECTED, actor=actor, action="rejected", memo=memo, extra={"reason": reason.strip()}
        )
        return LeadState(lead.id, lead.status, lead.confirmed_at)


def mark_bad_lead(*, lead_id: uuid.UUID, actor: Actor, reason: str, memo: str | None = None) -> LeadState:
    """Global Bad Lead: every unrefunded assignment is refunded in the same transaction."""
    if not reason or not reason.strip():
        raise InvalidInput("Say why the lead is bad.", details={"reason": "required"})
    with unit_of_work() as uow:
        lead = _lock(uow, lead_id)
        _transition(
            uow,
            lead,
            LeadStatus.BAD_LEAD,
            actor=actor,
            action="marked_bad_lead",
            memo=memo,
            extra={"reason": reason.strip()},
        )
        # Locked: an assignment refunded by a transaction this one waited for is
        # re-read and drops out, instead of failing the whole Bad Lead.
        assignment_ids = uow.session.exec(
            select(LeadAssignment.id)
            .where(LeadAssignment.lead_id == lead_id, col(LeadAssignment.is_refunded).is_(False))
            .order_by(col(LeadAssignment.provider_id))
            .with_for_update()
        ).all()
        for assignment_id in assignment_ids:
            refunds.refund_in(
                uow, assignment_id=assignment_id, actor=actor, reason=f"Global Bad Lead: {reason.strip()}", memo=memo
            )
        return LeadState(lead.id, lead.status, lead.confirmed_at)


def waiting_lead_ids(*, niche_id: uuid.UUID | None = None, limit: int = 500) -> list[uuid.UUID]:
    """Leads still ``approved`` (none eligible yet), oldest first."""
    with unit_of_work() as uow:
        query = select(Lead.id).where(Lead.status == LeadStatus.APPROVED).order_by(col(Lead.created_at)).limit(limit)
        if niche_id is not None:
            query = query.where(Lead.niche_id == niche_id)
        return list(uow.session.exec(query).all())
