"""Every Celery task.  Each is safe to run twice and passes ids, never objects."""

from __future__ import annotations

import logging
import uuid

from celery.signals import task_prerun

from hotlead_app.infra.queue import get_celery
from hotlead_app.services import distribution, notifications, outbox

log = logging.getLogger(__name__)
app = get_celery()


@task_prerun.connect
def _mark_outbox_dispatched(task_id=None, task=None, args=None, kwargs=None, **_):
    """A job from the outbox is now in a worker's hands: the drain stops re-sending it."""
    outbox.mark_dispatched((kwargs or {}).get("outbox_id"))


EMAIL_RETRY = {
    "acks_late": True,
    "autoretry_for": (notifications.SmtpUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
}


def _send(composed: notifications.ComposedEmail | None) -> str:
    if composed is None:
        return "skipped"
    notifications.send(email_id=composed.id)
    return "sent"


@app.task(name="email.send_lead_confirmation", **EMAIL_RETRY)
def send_lead_confirmation(lead_id: str, nonce: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_lead_confirmation(lead_id=uuid.UUID(lead_id), nonce=nonce))


@app.task(name="email.provider_balance_rules", **EMAIL_RETRY)
def provider_balance_rules_email(provider_id: str, changes: list, outbox_id: str | None = None) -> str:
    return _send(
        notifications.compose_provider_balance_rules(
            provider_id=uuid.UUID(provider_id), changes=changes, key=outbox_id or provider_id
        )
    )


@app.task(name="email.admin_alert", **EMAIL_RETRY)
def admin_alert_email(subject: str, outbox_id: str | None = None, **details) -> str:
    return _send(notifications.compose_admin_alert(subject=subject, details=details, key=outbox_id or subject))


@app.task(name="email.new_leads", **EMAIL_RETRY)
def new_leads_email(assignment_ids: list, outbox_id: str | None = None) -> str:
    for assignment_id in assignment_ids:
        _send(notifications.compose_new_lead(assignment_id=uuid.UUID(assignment_id)))
    return "sent"


@app.task(name="email.deposit_received", **EMAIL_RETRY)
def deposit_received_email(entry_id: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_deposit_received(entry_id=uuid.UUID(entry_id)))


@app.task(name="email.send_pending", acks_late=True)
def send_pending_emails() -> dict:
    return notifications.send_pending()


@app.task(
    name="distribution.distribute_lead",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
)
def distribute_lead_task(lead_id: str, outbox_id: str | None = None) -> str:
    return distribution.distribute_lead(lead_id=uuid.UUID(lead_id)).outcome


@app.task(name="distribution.retry_waiting", acks_late=True)
def retry_waiting_task(niche_id: str | None = None, outbox_id: str | None = None) -> dict:
    return distribution.retry_waiting(niche_id=uuid.UUID(niche_id) if niche_id else None)


@app.task(name="outbox.drain", acks_late=True)
def drain_outbox() -> int:
    return outbox.drain()


@app.task(name="backup.run", acks_late=False)
def backup_task() -> dict:
    """Daily: encrypted pg_dump to HOTLEAD_BACKUP_LOCATION, then retention.  Not acked
    late: a long dump must not be redelivered to a second worker mid-way."""
    from hotlead_app.services import backup
    from hotlead_app.settings import get_settings

    if not get_settings().backup_key:
        log.warning("backup skipped: HOTLEAD_BACKUP_KEY is not set")
        return {"skipped": "HOTLEAD_BACKUP_KEY is not set"}
    result = backup.create_backup()
    return {"backup": result.location, "bytes": result.size, "deleted": result.deleted}


@app.task(name="backup.restore_check", acks_late=False)
def restore_check_task() -> dict:
    """Weekly: restore the latest backup into the scratch database and verify it."""
    from hotlead_app.services import backup
    from hotlead_app.settings import get_settings

    if not get_settings().backup_key:
        log.warning("restore check skipped: HOTLEAD_BACKUP_KEY is not set")
        return {"skipped": "HOTLEAD_BACKUP_KEY is not set"}
    return backup.restore_check()


@app.task(name="payments.reconcile", acks_late=True)
def reconcile_payments() -> dict:
    """Events stored but never processed, then the processors against the deposits."""
    from hotlead_app.services.payments import reconciliation, webhooks

    webhooks.retry_unprocessed()
    return reconciliation.run().as_dict()


@app.task(name="reports.roll_up", acks_late=True)
def roll_up_reports() -> dict:
    """Nightly: the ledger totals of the days that closed, so the overview never sums them again."""
    from hotlead_app.services import ledger_totals

    return {"days_written": ledger_totals.roll_up_closed_days()}
