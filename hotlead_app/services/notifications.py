"""Emails the platform composes.  Each is recorded in ``email_messages`` once,
keyed by the business fact it reports, so a job that runs twice writes one email."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.models import EmailMessage, EmailStatus, Lead, LeadStatus, Niche
from hotlead_app.services import tokens
from hotlead_app.settings import get_settings


@dataclass(frozen=True)
class ComposedEmail:
    id: uuid.UUID
    to_address: str
    subject: str
    created: bool


def compose_lead_confirmation(*, lead_id: uuid.UUID, nonce: str) -> ComposedEmail | None:
    """The confirmation email of a lead still waiting for it, or None when the lead
    is gone, already confirmed, or this nonce's token was replaced by a resend."""
    token = tokens.make_token(lead_id, nonce)
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        if (
            lead is None
            or lead.status != LeadStatus.PENDING_CONFIRMATION
            or lead.confirmation_token_hash != tokens.token_hash(token)
        ):
            return None
        niche = uow.session.get(Niche, lead.niche_id)
        link = f"{get_settings().public_url}/confirm?token={token}"
        subject = f"Confirm your {niche.name} request"
        expires = lead.confirmation_expires_at.strftime("%Y-%m-%d %H:%M UTC")
        body = (
            f"Hello,\n\nWe received your {niche.name} request. Please confirm it is yours so that"
            f" local providers can contact you:\n\n{link}\n\nThis link works until {expires}."
            "\nIf you did not make this request, ignore this email and nothing will happen.\n"
        )
        dedupe_key = f"lead:{lead_id}:confirmation:{tokens.token_hash(token)[:16]}"
        stmt = (
            insert(EmailMessage)
            .values(
                id=uuid.uuid4(),
                dedupe_key=dedupe_key,
                kind="lead_confirmation",
                to_address=lead.email,
                subject=subject,
                body_text=body,
                lead_id=lead.id,
                status=EmailStatus.queued,
            )
            .on_conflict_do_nothing(constraint="uq_email_messages_dedupe_key")
            .returning(EmailMessage.id)
        )
        inserted = uow.session.execute(stmt).scalar_one_or_none()
        if inserted is None:
            existing = uow.session.exec(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key)).one()
            return ComposedEmail(existing.id, existing.to_address, existing.subject, created=False)
        return ComposedEmail(inserted, lead.email, subject, created=True)


def list_emails_for_lead(*, lead_id: uuid.UUID) -> list[EmailMessage]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(EmailMessage).where(EmailMessage.lead_id == lead_id)).all())
