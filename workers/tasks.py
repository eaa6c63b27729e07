"""Every Celery task.  Each is safe to run twice and passes ids, never objects."""

from __future__ import annotations

import logging
import uuid

from celery.signals import task_failure, task_prerun, task_success

from hotlead_app import jobs
from hotlead_app.infra.queue import get_celery
from hotlead_app.services import distribution, notifications, outbox, webhooks

log = logging.getLogger(__name__)
app = get_celery()


@task_prerun.connect
def _outbox_job_started(task_id=None, task=None, args=None, kwargs=None, **_):
    """A job from the outbox is in a worker's hands (again): the drain leaves it alone."""
    outbox.mark_dispatched((kwargs or {}).get("outbox_id"))


@task_success.connect
def _outbox_job_done(sender=None, result=None, **_):
    """The task succeeded (its use case committed): the job is done."""
    outbox.mark_done((getattr(getattr(sender, "request", None), "kwargs", None) or {}).get("outbox_id"))


@task_failure.connect
def _outbox_job_failed(sender=None, task_id=None, exception=None, args=None, kwargs=None, **_):
    """The task failed for good (no Celery retry left): the drain sends the job again."""
    outbox.release((kwargs or {}).get("outbox_id"), f"{type(exception).__name__}: {exception}")


# What each retry policy of the catalogue retries on.
_RETRY_ON: dict[str, tuple[type[BaseException], ...]] = {
    "smtp_unavailable": (notifications.SmtpUnavailable,),
    "any": (Exception,),
}


def _options(name: str) -> dict:
    """Celery's task options for a job of the catalogue (hotlead_app/jobs.py)."""
    job = jobs.job(name)
    options: dict = {"name": job.name, "acks_late": job.acks_late}
    if job.retry is not None:
        options.update(
            autoretry_for=_RETRY_ON[job.retry.on],
            retry_backoff=job.retry.backoff,
            retry_backoff_max=job.retry.backoff_max,
            retry_jitter=job.retry.jitter,
            max_retries=job.retry.max_retries,
        )
    return options


def _send(composed: notifications.ComposedEmail | None) -> str:
    if composed is None:
        return "skipped"
    notifications.send(email_id=composed.id)
    return "sent"


@app.task(**_options(jobs.EMAIL_LEAD_CONFIRMATION))
def send_lead_confirmation(lead_id: str, nonce: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_lead_confirmation(lead_id=uuid.UUID(lead_id), nonce=nonce))


@app.task(**_options(jobs.EMAIL_PROVIDER_BALANCE_RULES))
def provider_balance_rules_email(provider_id: str, changes: list, outbox_id: str | None = None) -> str:
    return _send(
        notifications.compose_provider_balance_rules(
            provider_id=uuid.UUID(provider_id), changes=changes, key=outbox_id or provider_id
        )
    )


@app.task(**_options(jobs.EMAIL_ADMIN_ALERT))
def admin_alert_email(subject: str, outbox_id: str | None = None, **details) -> str:
    return _send(notifications.compose_admin_alert(subject=subject, details=details, key=outbox_id or subject))


@app.task(**_options(jobs.EMAIL_NEW_LEADS))
def new_leads_email(assignment_ids: list, outbox_id: str | None = None) -> str:
    """Each assignment's instant email (when its provider chose them; the digest tells
    the others), then the charged providers' low-balance alerts."""
    for composed in notifications.new_leads(assignment_ids=[uuid.UUID(a) for a in assignment_ids]):
        _send(composed)
    return "sent"


@app.task(**_options(jobs.EMAIL_DEPOSIT_RECEIVED))
def deposit_received_email(entry_id: str, outbox_id: str | None = None) -> str:
    _send(notifications.rearm_low_balance_after(entry_id=uuid.UUID(entry_id)))
    return _send(notifications.compose_deposit_received(entry_id=uuid.UUID(entry_id)))


@app.task(**_options(jobs.EMAIL_RETURN_REQUEST))
def return_request_email(request_id: str, event: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_return_request(request_id=uuid.UUID(request_id), event=event))


@app.task(**_options(jobs.EMAIL_WEBHOOK_DISABLED))
def webhook_disabled_email(endpoint_id: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_webhook_disabled(endpoint_id=uuid.UUID(endpoint_id)))


@app.task(**_options(jobs.WEBHOOK_DELIVER))
def deliver_webhook(delivery_id: str, outbox_id: str | None = None) -> str:
    """One attempt of a webhook delivery, if due: claimed here, POSTed on a sender
    thread of this process (services/webhooks.py), so the task ends at once."""
    return webhooks.deliver_soon(delivery_id=uuid.UUID(delivery_id))


@app.task(**_options(jobs.WEBHOOK_SWEEP))
def sweep_webhooks() -> dict:
    return webhooks.sweep()


@app.task(**_options(jobs.EMAIL_LEAD_DIGEST))
def lead_digest_task() -> dict:
    return notifications.send_lead_digests()


@app.task(**_options(jobs.EMAIL_LOW_BALANCE))
def low_balance_task() -> dict:
    return notifications.low_balance_sweep()


@app.task(**_options(jobs.EMAIL_SEND_PENDING))
def send_pending_emails() -> dict:
    return notifications.send_pending()


@app.task(**_options(jobs.DISTRIBUTE_LEAD))
def distribute_lead_task(lead_id: str, outbox_id: str | None = None) -> str:
    return distribution.distribute_lead(lead_id=uuid.UUID(lead_id)).outcome


@app.task(**_options(jobs.RETRY_WAITING))
def retry_waiting_task(niche_id: str | None = None, outbox_id: str | None = None) -> dict:
    return distribution.retry_waiting(niche_id=uuid.UUID(niche_id) if niche_id else None)


@app.task(**_options(jobs.OUTBOX_DRAIN))
def drain_outbox() -> int:
    return outbox.drain()


@app.task(**_options(jobs.BACKUP_RUN))
def backup_task() -> dict:
    """Daily: encrypted pg_dump to HOTLEAD_BACKUP_LOCATION, then retention (not acked
    late, see the catalogue)."""
    from hotlead_app.services import backup
    from hotlead_app.settings import get_settings

    if not get_settings().backup_key:
        log.warning("backup skipped: HOTLEAD_BACKUP_KEY is not set")
        return {"skipped": "HOTLEAD_BACKUP_KEY is not set"}
    result = backup.create_backup()
    return {"backup": result.location, "bytes": result.size, "deleted": result.deleted}


@app.task(**_options(jobs.BACKUP_RESTORE_CHECK))
def restore_check_task() -> dict:
    """Weekly: restore the latest backup into the scratch database and verify it."""
    from hotlead_app.services import backup
    from hotlead_app.settings import get_settings

    if not get_settings().backup_key:
        log.warning("restore check skipped: HOTLEAD_BACKUP_KEY is not set")
        return {"skipped": "HOTLEAD_BACKUP_KEY is not set"}
    return backup.restore_check()


@app.task(**_options(jobs.PAYMENTS_RECONCILE))
def reconcile_payments() -> dict:
    """Events stored but never processed, then the processors against the deposits."""
    from hotlead_app.services.payments import reconciliation, webhooks

    webhooks.retry_unprocessed()
    return reconciliation.run().as_dict()


@app.task(**_options(jobs.PAYMENTS_RECHARGE))
def recharge_task(recharge_id: str, outbox_id: str | None = None) -> str:
    """Charge the saved card off-session for one recharge (idempotent: the
    PaymentIntent's key names the recharge)."""
    from hotlead_app.services.payments import recharge

    return recharge.charge(recharge_id=uuid.UUID(recharge_id))


@app.task(**_options(jobs.EMAIL_RECHARGE_FAILED))
def recharge_failed_email(recharge_id: str, outbox_id: str | None = None) -> str:
    return _send(notifications.compose_recharge_failed(recharge_id=uuid.UUID(recharge_id)))


@app.task(**_options(jobs.REPORTS_ROLL_UP))
def roll_up_reports() -> dict:
    """Nightly: the ledger totals of the days that closed, so the overview never sums them again."""
    from hotlead_app.services import ledger_totals

    return {"days_written": ledger_totals.roll_up_closed_days()}


@app.task(**_options(jobs.STATEMENTS_EMAIL))
def email_monthly_statements() -> dict:
    """Hourly: each provider's last month's statement, emailed once when its month is over."""
    from hotlead_app.services import statements

    return statements.email_statements()
