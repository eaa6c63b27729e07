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


def _record_email(*, dedupe_key: str, kind: str, to_address: str, subject: str, body: str,
                  lead_id: uuid.UUID | None = None) -> bool:
    with unit_of_work() as uow:
        stmt = (
            insert(EmailMessage)
            .values(id=uuid.uuid4(), dedupe_key=dedupe_key, kind=kind, to_address=to_address,
                    subject=subject, body_text=body, lead_id=lead_id, status=EmailStatus.queued)
            .on_conflict_do_nothing(constraint="uq_email_messages_dedupe_key")
            .returning(EmailMessage.id)
        )
        return uow.session.execute(stmt).scalar_one_or_none() is not None


CHANGE_TEXT = {
    "auto_paused": "paused: your balance no longer covers its price per lead",
    "auto_resumed": "active again: your balance covers its price per lead",
    "auto_deactivated": "Your account is paused until you add funds: no subscription can be paid for.",
    "active": "Your account is active again.",
}


def compose_provider_balance_rules(*, provider_id: uuid.UUID, changes: list[dict], key: str) -> bool:
    from hotlead_app.models import ServiceProvider

    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            return False
        to_address, name, balance = provider.email, provider.name, provider.balance
    lines = []
    for change in changes:
        if "subscription_id" in change:
            lines.append(f"- Subscription {change['subscription_id']}: {CHANGE_TEXT.get(change['change'], change['change'])}")
        else:
            lines.append(f"- {CHANGE_TEXT.get(change['change'], change['change'])}")
    body = (f"Hello {name},\n\nYour balance is now {balance}. Because of that:\n" + "\n".join(lines)
            + f"\n\nAdd funds at {get_settings().public_url}/provider to keep receiving leads.\n")
    return _record_email(dedupe_key=f"balance-rules:{key}", kind="provider_balance_rules",
                         to_address=to_address, subject="Your lead subscriptions changed", body=body)


def compose_admin_alert(*, subject: str, details: dict, key: str) -> bool:
    settings = get_settings()
    body = "\n".join(f"{k}: {v}" for k, v in sorted(details.items()))
    return _record_email(dedupe_key=f"admin-alert:{key}", kind="admin_alert",
                         to_address=settings.bootstrap_admin_email, subject=f"[hotlead] {subject}", body=body)
