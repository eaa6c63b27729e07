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

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from hotlead_app import routes
from hotlead_app.db import referenced, unit_of_work
from hotlead_app.domain.phones import display_phone
from hotlead_app.infra import metrics
from hotlead_app.infra.logging import bind
from hotlead_app.models import (
    EmailEvent,
    EmailMessage,
    EmailStatus,
    Lead,
    LeadAssignment,
    LeadNotice,
    LeadStatus,
    Niche,
    NotificationSettings,
    ServiceProvider,
)
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
    with unit_of_work() as uow:
        return _insert_in(
            uow.session, dedupe_key=dedupe_key, kind=kind, to_address=to_address, rendered=rendered, lead_id=lead_id
        )


def _insert_in(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    to_address: str,
    rendered: email_templates.Rendered,
    lead_id: uuid.UUID | None = None,
) -> ComposedEmail:
    """The email composed in the caller's transaction (once per ``dedupe_key``)."""
    email_id = uuid.uuid4()
    html = rendered.html.replace("{PIXEL}", f'<img src="{pixel_url(email_id)}" width="1" height="1" alt="">')
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
    inserted = session.execute(stmt).scalar_one_or_none()
    if inserted is None:
        existing = session.exec(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key)).one()
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
    lines = [] if filters_only else [f"Your balance is now {email_templates.money(balance)}."]
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


def lead_link(lead_id: uuid.UUID) -> str:
    """The lead's page in the provider's dashboard (where its notes, outcome and return are)."""
    return f"{get_settings().public_url}{routes.PROVIDER_LEADS}/{lead_id}"


def _lead_summary(lead: Lead, niche: Niche, assignment: LeadAssignment) -> email_templates.DigestLead:
    contact = ", ".join(x for x in (lead.name, lead.email, display_phone(lead.phone)) if x)
    return email_templates.DigestLead(
        title=f"{niche.name} lead, {email_templates.money(assignment.charged_amount)}",
        lines=[f"Contact: {contact}", *email_templates.answer_lines(niche.fields, lead.payload)],
        link=lead_link(lead.id),
    )


def _claim(session: Session, provider_id: uuid.UUID, assignment_ids: list[uuid.UUID], kind: str) -> list[uuid.UUID]:
    """Claim the notice of these assignments for one email; the ones another email
    already claimed (or is claiming right now: the insert waits for it) are left out."""
    if not assignment_ids:
        return []
    stmt = (
        insert(LeadNotice)
        .values([{"assignment_id": a, "provider_id": provider_id, "kind": kind} for a in assignment_ids])
        .on_conflict_do_nothing(index_elements=["assignment_id"])
        .returning(col(LeadNotice.assignment_id))
    )
    return list(session.execute(stmt).scalars().all())


def compose_new_lead(*, assignment_id: uuid.UUID) -> ComposedEmail | None:
    """The provider's notice that it received a lead, with the contact details and a
    link to the lead's page; None when the digest already told it about this lead.
    The notice is claimed in the email's own transaction: exactly one email per lead."""
    with unit_of_work() as uow:
        session = uow.session
        assignment = session.get(LeadAssignment, assignment_id)
        if assignment is None:
            return None
        notice = session.get(LeadNotice, assignment_id)
        if notice is not None and notice.kind != "instant":
            return None  # told by a digest (or before notices existed)
        if notice is None and not _claim(session, assignment.provider_id, [assignment_id], "instant"):
            return None  # a digest claimed it a moment ago
        lead = referenced(session, Lead, assignment.lead_id)
        niche = referenced(session, Niche, lead.niche_id)
        provider = referenced(session, ServiceProvider, assignment.provider_id)
        summary = _lead_summary(lead, niche, assignment)
        rendered = email_templates.provider_notice(
            name=provider.name,
            title=f"New {niche.name} lead",
            lines=[
                f"You received a new {niche.name} lead for {email_templates.money(assignment.charged_amount)}.",
                *summary.lines,
            ],
            link=summary.link,
            link_label="Open this lead",
        )
        composed = _insert_in(
            session,
            dedupe_key=f"new-lead:{assignment_id}",
            kind="new_lead",
            to_address=provider.email,
            rendered=rendered,
            lead_id=lead.id,
        )
        session.execute(
            update(LeadNotice).where(col(LeadNotice.assignment_id) == assignment_id).values(email_id=composed.id)
        )
        return composed


def lead_emails_mode(provider_id: uuid.UUID) -> str:
    with unit_of_work() as uow:
        row = uow.session.get(NotificationSettings, provider_id)
        return row.lead_emails if row is not None else "instant"


def new_leads(*, assignment_ids: list[uuid.UUID]) -> list[ComposedEmail]:
    """After a distribution: the instant email of each assignment whose provider wants
    one (a digest provider hears at the next hourly digest); then each charged
    provider's low-balance check."""
    composed: list[ComposedEmail] = []
    providers: dict[uuid.UUID, str] = {}
    with unit_of_work() as uow:
        owners = dict(
            uow.session.exec(
                select(LeadAssignment.id, LeadAssignment.provider_id).where(col(LeadAssignment.id).in_(assignment_ids))
            ).all()
        )
    for assignment_id in assignment_ids:
        provider_id = owners.get(assignment_id)
        if provider_id is None:
            continue
        if provider_id not in providers:
            providers[provider_id] = lead_emails_mode(provider_id)
        if providers[provider_id] == "instant":
            email = compose_new_lead(assignment_id=assignment_id)
            if email is not None:
                composed.append(email)
    for provider_id in sorted(providers):
        alert = check_low_balance(provider_id=provider_id)
        if alert is not None:
            composed.append(alert)
    return composed


#: An assignment still unannounced this long after it was made is put in the next
#: digest whatever the provider's choice (its provider switched from digest to
#: instant meanwhile, or its instant job was lost).
DIGEST_CATCH_UP = timedelta(hours=1)
DIGEST_MAX_LEADS = 200
#: How far back a digest looks: an assignment no email announced within a week is
#: left alone (the hourly query stays on the recent assignments only).
DIGEST_LOOKBACK = timedelta(days=7)


def _digest_candidates(session: Session, provider_id: uuid.UUID | None) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(provider_id, assignment_id) of the assignments no email announced yet that a
    digest takes now: all of a digest provider's, any provider's after DIGEST_CATCH_UP."""
    digest_mode = (
        select(NotificationSettings.provider_id)
        .where(
            NotificationSettings.provider_id == LeadAssignment.provider_id, NotificationSettings.lead_emails == "digest"
        )
        .exists()
    )
    announced = select(LeadNotice.assignment_id).where(LeadNotice.assignment_id == LeadAssignment.id).exists()
    now = utcnow()
    query = select(LeadAssignment.provider_id, LeadAssignment.id).where(
        col(LeadAssignment.assigned_at) >= now - DIGEST_LOOKBACK,
        ~announced,
        or_(digest_mode, col(LeadAssignment.assigned_at) < now - DIGEST_CATCH_UP),
    )
    if provider_id is not None:
        query = query.where(LeadAssignment.provider_id == provider_id)
    return list(session.exec(query.order_by(col(LeadAssignment.assigned_at), col(LeadAssignment.id))).all())


def compose_lead_digest(*, provider_id: uuid.UUID) -> ComposedEmail | None:
    """One email listing every lead of the provider no email announced yet (up to
    DIGEST_MAX_LEADS, the rest in the next one), each with a link to its page; None
    when there is none.  The notices are claimed in the email's own transaction."""
    with unit_of_work() as uow:
        session = uow.session
        candidates = [a for _p, a in _digest_candidates(session, provider_id)][:DIGEST_MAX_LEADS]
        claimed = set(_claim(session, provider_id, candidates, "digest"))
        if not claimed:
            return None
        rows = session.exec(
            select(LeadAssignment, Lead, Niche)
            .join(Lead, col(Lead.id) == LeadAssignment.lead_id)
            .join(Niche, col(Niche.id) == Lead.niche_id)
            .where(col(LeadAssignment.id).in_(claimed))
            .order_by(col(LeadAssignment.assigned_at), col(LeadAssignment.id))
        ).all()
        provider = referenced(session, ServiceProvider, provider_id)
        rendered = email_templates.lead_digest(
            name=provider.name,
            leads=[_lead_summary(lead, niche, a) for a, lead, niche in rows],
            link=f"{get_settings().public_url}{routes.PROVIDER_LEADS}",
        )
        key = hashlib.sha256(",".join(sorted(str(a) for a in claimed)).encode()).hexdigest()[:32]
        composed = _insert_in(
            session,
            dedupe_key=f"lead-digest:{provider_id}:{key}",
            kind="lead_digest",
            to_address=provider.email,
            rendered=rendered,
        )
        session.execute(
            update(LeadNotice).where(col(LeadNotice.assignment_id).in_(claimed)).values(email_id=composed.id)
        )
        return composed


def send_lead_digests() -> dict[str, int]:
    """The hourly beat: one digest per provider with leads to announce, then sent; one
    provider's failure does not stop the others.  Safe to run twice: a second run finds
    every lead already claimed."""
    with unit_of_work() as uow:
        providers = sorted({p for p, _a in _digest_candidates(uow.session, None)})
    counts = {"digests": 0, "failed": 0}
    for provider_id in providers:
        try:
            composed = compose_lead_digest(provider_id=provider_id)
            if composed is not None:
                counts["digests"] += 1
                send(email_id=composed.id)
        except SmtpUnavailable:
            counts["failed"] += 1  # composed and claimed: the send_pending sweep retries it
        except Exception:
            log.exception("lead digest of provider %s failed", provider_id)
            counts["failed"] += 1
    return counts


# --------------------------------------------------------------------------- low balance


def check_low_balance(*, provider_id: uuid.UUID) -> ComposedEmail | None:
    """The low-balance alert: one email when the balance is below the provider's
    threshold and it was not alerted since the balance was last at or above it; at or
    above the threshold the alert is armed again.  Locks the settings row, so two
    checks at the same moment write one email."""
    with unit_of_work() as uow:
        session = uow.session
        settings_row = session.exec(
            select(NotificationSettings).where(NotificationSettings.provider_id == provider_id).with_for_update()
        ).first()
        if settings_row is None or settings_row.low_balance_threshold is None:
            return None
        provider = referenced(session, ServiceProvider, provider_id)
        threshold = settings_row.low_balance_threshold
        below = provider.balance < threshold
        if not below:
            if settings_row.low_balance_alerted:
                settings_row.low_balance_alerted = False
                session.add(settings_row)
            return None
        if settings_row.low_balance_alerted:
            return None
        settings_row.low_balance_alerted = True
        settings_row.low_balance_alerts += 1
        session.add(settings_row)
        rendered = email_templates.provider_notice(
            name=provider.name,
            title="Your balance is low",
            lines=[
                f"Your balance is {email_templates.money(provider.balance)}, below the {email_templates.money(threshold)} "
                "you asked us to warn you about.",
                "Subscriptions whose price per lead the balance no longer covers stop receiving leads.",
            ],
            link=f"{get_settings().public_url}{routes.PROVIDER_FUNDS}",
            link_label="Add funds",
        )
        return _insert_in(
            session,
            dedupe_key=f"low-balance:{provider_id}:{settings_row.low_balance_alerts}",
            kind="low_balance",
            to_address=provider.email,
            rendered=rendered,
        )


def rearm_low_balance_after(*, entry_id: uuid.UUID) -> ComposedEmail | None:
    """After a ledger entry (a deposit): its provider's low-balance check at once."""
    from hotlead_app.models import LedgerEntry

    with unit_of_work() as uow:
        entry = uow.session.get(LedgerEntry, entry_id)
        provider_id = entry.provider_id if entry is not None else None
    return check_low_balance(provider_id=provider_id) if provider_id is not None else None


def low_balance_sweep() -> dict[str, int]:
    """The beat: check every provider whose balance is on the other side of its
    threshold than its alert state says (a deposit re-arms, a charge alerts)."""
    with unit_of_work() as uow:
        providers = list(
            uow.session.exec(
                select(NotificationSettings.provider_id)
                .join(ServiceProvider, col(ServiceProvider.id) == NotificationSettings.provider_id)
                .where(
                    col(NotificationSettings.low_balance_threshold).is_not(None),
                    (col(ServiceProvider.balance) < NotificationSettings.low_balance_threshold)
                    != col(NotificationSettings.low_balance_alerted),
                )
            ).all()
        )
    counts = {"alerts": 0, "failed": 0}
    for provider_id in providers:
        try:
            composed = check_low_balance(provider_id=provider_id)
            if composed is not None:
                counts["alerts"] += 1
                send(email_id=composed.id)
        except SmtpUnavailable:
            counts["failed"] += 1
        except Exception:
            log.exception("low-balance check of provider %s failed", provider_id)
            counts["failed"] += 1
    return counts


def compose_deposit_received(*, entry_id: uuid.UUID) -> ComposedEmail | None:
    """A receipt for a deposit, with the balance after it."""
    from hotlead_app.models import LedgerEntry

    with unit_of_work() as uow:
        entry = uow.session.get(LedgerEntry, entry_id)
        if entry is None:
            return None
        provider = referenced(uow.session, ServiceProvider, entry.provider_id)
        lines = [
            f"We received your deposit of {email_templates.money(entry.amount)}.",
            *([f"Your balance after it: {email_templates.money(entry.balance_after)}."] if entry.balance_after else []),
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
            amount=email_templates.money(assignment.charged_amount),
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


def compose_recharge_failed(*, recharge_id: uuid.UUID) -> ComposedEmail | None:
    """Auto-recharge was declined (or needs the cardholder) and is now off: the
    provider is sent to "Add funds" to pay on-session."""
    from hotlead_app.models import Recharge

    with unit_of_work() as uow:
        recharge = uow.session.get(Recharge, recharge_id)
        if recharge is None or recharge.status != "failed":
            return None
        provider = referenced(uow.session, ServiceProvider, recharge.provider_id)
        why = (
            "your bank asks you to confirm the payment yourself"
            if recharge.failure_code == "authentication_required"
            else "your card was declined"
        )
        lines = [
            f"We tried to add {email_templates.money(recharge.amount)} to your balance "
            f"(auto-recharge #{recharge.seq}), but {why}. Nothing was charged.",
            "Auto-recharge is now off. Add funds yourself to keep receiving leads, then "
            "turn auto-recharge on again (or save another card).",
        ]
        to_address, name = provider.email, provider.name
    rendered = email_templates.provider_notice(
        name=name,
        title="Auto-recharge failed",
        lines=lines,
        link=f"{get_settings().public_url}{routes.PROVIDER_FUNDS}",
        link_label="Add funds",
    )
    return _insert(
        dedupe_key=f"recharge-failed:{recharge_id}", kind="recharge_failed", to_address=to_address, rendered=rendered
    )


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
        f"Opening balance: {email_templates.money(opening)}. Closing balance: {email_templates.money(closing)} "
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
