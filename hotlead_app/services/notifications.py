"""Emails: composed once per business fact (a dedupe key), then sent through SMTP.

Jobs arrive through the outbox (written in the fact's own transaction), so an email
is never lost when Redis or the worker is down.  Composing is idempotent; sending
marks the row ``sent`` and a failure leaves it for the retry and the periodic
``send_pending`` sweep.  Opens are recorded by a tracking pixel, for information only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlparse

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from hotlead_app import routes
from hotlead_app.db import referenced, unit_of_work
from hotlead_app.domain import money
from hotlead_app.infra import metrics
from hotlead_app.infra.logging import bind
from hotlead_app.models import EmailEvent, EmailMessage, EmailStatus, Lead, LeadStatus, Niche, ServiceProvider
from hotlead_app.models._types import utcnow
from hotlead_app.services import email_templates, tokens
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class ComposedEmail:
    id: uuid.UUID
    to_address: str
    subject: str
    created: bool


@dataclass(frozen=True)
class EmailRead:
    id: uuid.UUID
    kind: str
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    status: EmailStatus
    attempts: int


# --------------------------------------------------------------------------- tracking


def _pixel_token(email_id: uuid.UUID) -> str:
    mac = hmac.new(get_settings().secret_key.encode(), b"email-open:" + email_id.bytes, hashlib.sha256)
    return f"{email_id.hex}.{base64.urlsafe_b64encode(mac.digest()[:12]).decode().rstrip('=')}"


def pixel_url(email_id: uuid.UUID) -> str:
    return f"{get_settings().public_url}/e/o/{_pixel_token(email_id)}.gif"


def record_open(*, token: str, ip: str | None, user_agent: str | None) -> bool:
    """An open of a genuine email (information only); False for anything forged."""
    hex_id, _, _sig = token.partition(".")
    try:
        email_id = uuid.UUID(hex=hex_id)
    except ValueError:
        return False
    if not hmac.compare_digest(token, _pixel_token(email_id)):
        return False
    with unit_of_work() as uow:
        if uow.session.get(EmailMessage, email_id) is None:
            return False
        uow.session.add(
            EmailEvent(
                email_id=email_id, kind="open", ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:500] or None
            )
        )
    return True


# --------------------------------------------------------------------------- composing


def _insert(
    *, dedupe_key: str, kind: str, to_address: str, rendered: email_templates.Rendered, lead_id: uuid.UUID | None = None
) -> ComposedEmail:
    email_id = uuid.uuid4()
    html = rendered.html.replace("{PIXEL}", f'<img src="{pixel_url(email_id)}" width="1" height="1" alt="">')
    with unit_of_work() as uow:
        stmt = (
            insert(EmailMessage)
            .values(
                id=email_id,
                dedupe_key=dedupe_key,
                kind=kind,
                to_address=to_address,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=html,
                lead_id=lead_id,
                status=EmailStatus.queued,
                attempts=0,
            )
            .on_conflict_do_nothing(constraint="uq_email_messages_dedupe_key")
            .returning(col(EmailMessage.id))
        )
        inserted = uow.session.execute(stmt).scalar_one_or_none()
        if inserted is None:
            existing = uow.session.exec(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key)).one()
            return ComposedEmail(existing.id, existing.to_address, existing.subject, created=False)
        return ComposedEmail(inserted, to_address, rendered.subject, created=True)


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
        niche = referenced(uow.session, Niche, lead.niche_id)
        to_address, niche_name = lead.email, niche.name
        expires_at = lead.confirmation_expires_at
        assert expires_at is not None  # set with the token checked above
        expires = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    rendered = email_templates.lead_confirmation(
        niche_name=niche_name, link=f"{get_settings().public_url}/confirm?token={token}", expires=expires
    )
    return _insert(
        dedupe_key=f"lead:{lead_id}:confirmation:{tokens.token_hash(token)[:16]}",
        kind="lead_confirmation",
        to_address=to_address,
        rendered=rendered,
        lead_id=lead_id,
    )


CHANGE_TEXT = {
    "auto_paused": "is paused: your balance no longer covers its price per lead",
    "auto_resumed": "is active again: your balance covers its price per lead",
    "auto_deactivated": "Your account is paused until you add funds: no subscription can be paid for.",
    "active": "Your account is active again.",
    "filter_not_allowed": "is paused: its filters name a field a filter may not use (only select, ZIP and "
    "number fields); edit its filters, then resume it",
}


def compose_provider_balance_rules(*, provider_id: uuid.UUID, changes: list[dict], key: str) -> ComposedEmail | None:
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            return None
        to_address, name, balance = provider.email, provider.name, provider.balance
    filters_only = bool(changes) and all(change["change"] == "filter_not_allowed" for change in changes)
    lines = [] if filters_only else [f"Your balance is now {balance}."]
    for change in changes:
        text = CHANGE_TEXT.get(change["change"], change["change"])
        lines.append(
            f"Subscription {str(change['subscription_id'])[:8]} {text}." if "subscription_id" in change else text
        )
    rendered = email_templates.provider_notice(
        name=name,
        title="Your lead subscriptions changed",
        lines=lines,
        link=f"{get_settings().public_url}{routes.PROVIDER_SUBSCRIPTIONS if filters_only else routes.PROVIDER_HOME}",
        link_label="Edit your subscriptions" if filters_only else "Add funds",
    )
    return _insert(
        dedupe_key=f"balance-rules:{key}", kind="provider_balance_rules", to_address=to_address, rendered=rendered
    )


def compose_new_lead(*, assignment_id: uuid.UUID) -> ComposedEmail | None:
    """The provider's notice that it received a lead, with the contact details."""
    from hotlead_app.models import LeadAssignment

    with unit_of_work() as uow:
        assignment = uow.session.get(LeadAssignment, assignment_id)
        if assignment is None:
            return None
        lead = referenced(uow.session, Lead, assignment.lead_id)
        niche = referenced(uow.session, Niche, lead.niche_id)
        provider = referenced(uow.session, ServiceProvider, assignment.provider_id)
        lines = [
            f"You received a new {niche.name} lead for {assignment.charged_amount}.",
            f"Contact: {lead.email}" + (f", {lead.phone}" if lead.phone else ""),
            *[f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in sorted(lead.payload.items())],
        ]
        to_address, name = provider.email, provider.name
    rendered = email_templates.provider_notice(
        name=name,
        title=f"New {niche.name} lead",
        lines=lines,
        link=f"{get_settings().public_url}/provider",
        link_label="See your leads",
    )
    return _insert(
        dedupe_key=f"new-lead:{assignment_id}",
        kind="new_lead",
        to_address=to_address,
        rendered=rendered,
        lead_id=lead.id,
    )


def compose_deposit_received(*, entry_id: uuid.UUID) -> ComposedEmail | None:
    """A receipt for a deposit, with the balance after it."""
    from hotlead_app.models import LedgerEntry

    with unit_of_work() as uow:
        entry = uow.session.get(LedgerEntry, entry_id)
        if entry is None:
            return None
        provider = referenced(uow.session, ServiceProvider, entry.provider_id)
        lines = [
            f"We received your deposit of {entry.amount}.",
            f"Your balance after it: {entry.balance_after}.",
            f"Reference: {entry.idempotency_key}",
        ]
        to_address, name = provider.email, provider.name
    rendered = email_templates.provider_notice(
        name=name,
        title="Deposit received",
        lines=lines,
        link=f"{get_settings().public_url}/provider",
        link_label="See your ledger",
    )
    return _insert(dedupe_key=f"deposit:{entry_id}", kind="deposit_received", to_address=to_address, rendered=rendered)


def compose_return_request(*, request_id: uuid.UUID, event: str) -> ComposedEmail | None:
    """The provider's notice that its return request was received, approved or denied."""
    from hotlead_app.models import LeadAssignment, ReturnRequest

    with unit_of_work() as uow:
        request = uow.session.get(ReturnRequest, request_id)
        if request is None:
            return None
        assignment = referenced(uow.session, LeadAssignment, request.assignment_id)
        niche = referenced(uow.session, Niche, request.niche_id)
        provider = referenced(uow.session, ServiceProvider, request.provider_id)
        label = next((r["label"] for r in niche.return_reasons if r.get("code") == request.reason), request.reason)
        rendered = email_templates.return_update(
            name=provider.name,
            event=event,
            niche_name=niche.name,
            lead_ref=str(assignment.lead_id)[:8],
            reason_label=label,
            amount=str(assignment.charged_amount),
            deny_reason=request.deny_reason,
            link=f"{get_settings().public_url}{routes.PROVIDER_LEADS}",
        )
        to_address, lead_id = provider.email, assignment.lead_id
    return _insert(
        dedupe_key=f"return:{request_id}:{event}",
        kind=f"return_{event}",
        to_address=to_address,
        rendered=rendered,
        lead_id=lead_id,
    )


def compose_webhook_disabled(*, endpoint_id: uuid.UUID) -> ComposedEmail | None:
    """A provider's webhook endpoint was turned off after failing too often in a row."""
    from hotlead_app.models import WebhookEndpoint

    with unit_of_work() as uow:
        endpoint = uow.session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.disabled_at is None:
            return None
        provider = referenced(uow.session, ServiceProvider, endpoint.provider_id)
        lines = [
            f"Your webhook endpoint {endpoint.url} failed {endpoint.consecutive_failures} times in a row, "
            "so we stopped sending to it.",
            "Fix the receiver, then turn the endpoint on again: its pending deliveries resume, "
            "and you can redeliver any failed one from the delivery log.",
        ]
        to_address, name, key = provider.email, provider.name, f"webhook-disabled:{endpoint.id}:{endpoint.disabled_at}"
    rendered = email_templates.provider_notice(
        name=name,
        title="Webhook endpoint disabled",
        lines=lines,
        link=f"{get_settings().public_url}/provider",
        link_label="See your integrations",
    )
    return _insert(dedupe_key=key, kind="webhook_disabled", to_address=to_address, rendered=rendered)


def compose_statement(
    *,
    provider_id: uuid.UUID,
    key: str,
    month_key: str,
    month_label: str,
    opening: Decimal,
    closing: Decimal,
    entries: int,
) -> ComposedEmail | None:
    """A provider's monthly statement is ready (``services/statements.py``, on the 1st):
    the figures, and links to the PDF and the CSV (the email system sends no attachments;
    the links open after sign-in).  ``key`` makes it one email per provider and month."""
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            return None
        to_address, name = provider.email, provider.name
    files = f"{get_settings().public_url}/api/v1/provider/statements/{month_key}"
    noun = "entry" if entries == 1 else "entries"
    lines = [
        f"Your statement for {month_label} is ready.",
        f"Opening balance: {money.format_money(opening)}. Closing balance: {money.format_money(closing)} "
        f"({entries} {noun}).",
        f"PDF: {files}.pdf",
        f"CSV: {files}.csv",
    ]
    rendered = email_templates.provider_notice(
        name=name,
        title=f"Your statement for {month_label}",
        lines=lines,
        link=f"{get_settings().public_url}{routes.PROVIDER_LEDGER}",
        link_label="See your statements",
    )
    return _insert(dedupe_key=key, kind="monthly_statement", to_address=to_address, rendered=rendered)


def compose_admin_alert(*, subject: str, details: dict, key: str) -> ComposedEmail:
    rendered = email_templates.admin_alert(subject=subject, details=details)
    return _insert(
        dedupe_key=f"admin-alert:{key}",
        kind="admin_alert",
        to_address=get_settings().bootstrap_admin_email,
        rendered=rendered,
    )


# --------------------------------------------------------------------------- sending


class SmtpUnavailable(RuntimeError):
    """The SMTP server refused or could not be reached; the send is retried."""


def _smtp_send(message: MimeMessage) -> None:
    url = urlparse(get_settings().smtp_url)
    host, port = url.hostname or "127.0.0.1", url.port or (465 if url.scheme == "smtps" else 25)
    try:
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=10, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=10)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _build(email: EmailMessage) -> MimeMessage:
    """The MIME message of a stored email; ValueError when a header cannot be written."""
    message = MimeMessage()
    message["From"] = get_settings().email_from
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(idstring=email.id.hex, domain="hotlead.local")
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    return message


def send(*, email_id: uuid.UUID) -> bool:
    """Send one composed email unless it already left or was given up (``MAX_ATTEMPTS``,
    counted whether SMTP refused it or the message could not even be built); True
    when it is sent."""
    with unit_of_work() as uow:
        email = uow.session.exec(
            select(EmailMessage).where(EmailMessage.id == email_id).with_for_update(skip_locked=True)
        ).first()
        if email is None:
            return False
        if email.status == EmailStatus.sent:
            return True
        if email.attempts >= MAX_ATTEMPTS:
            return False  # given up (see last_error); the sweep no longer picks it either
        email.attempts += 1
        try:
            message = _build(email)
        except (ValueError, TypeError) as exc:  # e.g. a line break in a header: retrying cannot help
            email.status = EmailStatus.failed
            email.last_error = f"cannot build the message: {exc}"[:1000]
            uow.session.add(email)
            kind = email.kind
            uow.after_commit(lambda: metrics.EMAILS.labels(kind, "failed").inc())
            with bind(lead_id=email.lead_id):
                log.error("email %s (%s) cannot be built (attempt %d): %s", email.id, email.kind, email.attempts, exc)
            return False
        try:
            _smtp_send(message)
        except SmtpUnavailable as exc:
            email.status = EmailStatus.failed
            email.last_error = str(exc)[:1000]
            uow.session.add(email)
            uow.session.commit()
            metrics.EMAILS.labels(email.kind, "failed").inc()
            with bind(lead_id=email.lead_id):
                log.warning("email %s (%s) not sent: %s", email.id, email.kind, type(exc.__cause__).__name__)
            raise
        email.status = EmailStatus.sent
        email.sent_at = utcnow()
        email.last_error = None
        uow.session.add(email)
        kind = email.kind
        uow.after_commit(lambda: metrics.EMAILS.labels(kind, "sent").inc())
        return True


def send_pending(*, older_than_seconds: float = 30.0, limit: int = 200) -> dict[str, int]:
    """The sweep: send every email still queued or failed; one failure does not stop it."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    with unit_of_work() as uow:
        ids = list(
            uow.session.exec(
                select(EmailMessage.id)
                .where(
                    EmailMessage.status != EmailStatus.sent,
                    EmailMessage.attempts < MAX_ATTEMPTS,
                    EmailMessage.created_at <= cutoff,
                )
                .order_by(col(EmailMessage.created_at))
                .limit(limit)
            ).all()
        )
    counts = {"sent": 0, "failed": 0}
    for email_id in ids:
        try:
            counts["sent" if send(email_id=email_id) else "failed"] += 1
        except SmtpUnavailable:
            counts["failed"] += 1
        except Exception:
            log.exception("sending email %s failed", email_id)
            counts["failed"] += 1
    return counts


def _read(email: EmailMessage) -> EmailRead:
    return EmailRead(
        email.id,
        email.kind,
        email.to_address,
        email.subject,
        email.body_text,
        email.body_html,
        email.status,
        email.attempts,
    )


def list_emails_for_lead(*, lead_id: uuid.UUID) -> list[EmailRead]:
    with unit_of_work() as uow:
        return [_read(e) for e in uow.session.exec(select(EmailMessage).where(EmailMessage.lead_id == lead_id))]
