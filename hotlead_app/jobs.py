"""One catalogue of background jobs: every Celery task name, its queue, its retry
policy, and the periodic (beat) schedule.

Services queue jobs by these names (``services.outbox.add``, which refuses a name
not listed here), ``workers/tasks.py`` registers one function per job with the
options below, ``infra/queue.py`` builds the routes and the beat schedule from
``JOBS`` and ``SCHEDULE``, and tests import the names from here.  No other module
spells a task name.

Who writes which job
====================

=================================  ===============================================
job                                written by
=================================  ===============================================
``email.send_lead_confirmation``   ``services/intake.py`` (a lead is submitted or
                                   its confirmation resent)
``email.provider_balance_rules``   SQL: ``hotlead_apply_balance_rules``
                                   (``engine/apply_balance_rules.sql``), after a
                                   provider's subscriptions or status changed
``email.new_leads``                SQL: ``hotlead_distribute_lead``
                                   (``engine/distribute_lead.sql``), one job per
                                   distribution with its assignments
``email.admin_alert``              ``services/ledger.py`` (balance drift), payments
``email.deposit_received``         ``services/ledger.py`` (a deposit is credited)
``email.return_request``           ``services/returns.py`` (a return is requested,
                                   denied), ``services/refunds.py`` (approved)
``email.webhook_disabled``         ``services/webhooks.py`` (an endpoint failed 20 times
                                   in a row)
``webhooks.deliver``               SQL: ``hotlead_webhook_enqueue``
                                   (``engine/webhook_enqueue.sql``), one job per delivery;
                                   ``services/webhooks.py`` (test event, redeliver)
``webhooks.sweep``                 beat only (deliveries due for a retry)
``distribution.distribute_lead``   ``services/leads.py`` (a lead is approved)
``distribution.retry_waiting``     ``services/ledger.py`` (money arrived),
                                   ``services/catalog.py`` (levels, subscriptions,
                                   their schedule or caps, a provider's zone or
                                   spend caps, a niche's duplicate window changed);
                                   and beat every minute (a schedule window opens,
                                   a cap period starts)
``email.send_pending``             beat only (emails composed but not yet sent)
``email.lead_digest``              beat only, hourly (leads of providers who chose
                                   the digest, and any lead no email announced
                                   within an hour)
``email.low_balance``              beat only (a balance on the other side of its
                                   provider's alert threshold); ``email.new_leads``
                                   and ``email.deposit_received`` check at once too
``outbox.drain``                   beat only (outbox rows published but not started)
``payments.reconcile``             beat only
``payments.recharge``              SQL: ``hotlead_start_recharge``
                                   (``engine/start_recharge.sql``), one job per
                                   recharge started after a balance decrease
``email.recharge_failed``          ``services/payments/recharge.py`` (a recharge was
                                   declined or needs the cardholder)
``reports.roll_up``                beat only
``statements.email_monthly``       beat only (hourly; each provider's last month's
                                   statement, once, in the first days of its month)
``backup.run``                     beat only
``backup.restore_check``           beat only
=================================  ===============================================

``SQL_WRITERS`` keeps the SQL half of this table as data; a unit test reads the
engine files' ``INSERT INTO outbox`` statements and checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --------------------------------------------------------------------------- names

EMAIL_LEAD_CONFIRMATION = "email.send_lead_confirmation"
EMAIL_PROVIDER_BALANCE_RULES = "email.provider_balance_rules"
EMAIL_ADMIN_ALERT = "email.admin_alert"
EMAIL_NEW_LEADS = "email.new_leads"
EMAIL_DEPOSIT_RECEIVED = "email.deposit_received"
EMAIL_RETURN_REQUEST = "email.return_request"
EMAIL_SEND_PENDING = "email.send_pending"
EMAIL_LEAD_DIGEST = "email.lead_digest"
EMAIL_LOW_BALANCE = "email.low_balance"
DISTRIBUTE_LEAD = "distribution.distribute_lead"
RETRY_WAITING = "distribution.retry_waiting"
OUTBOX_DRAIN = "outbox.drain"
PAYMENTS_RECONCILE = "payments.reconcile"
PAYMENTS_RECHARGE = "payments.recharge"
EMAIL_RECHARGE_FAILED = "email.recharge_failed"
REPORTS_ROLL_UP = "reports.roll_up"
BACKUP_RUN = "backup.run"
BACKUP_RESTORE_CHECK = "backup.restore_check"
EMAIL_WEBHOOK_DISABLED = "email.webhook_disabled"
WEBHOOK_DELIVER = "webhooks.deliver"
WEBHOOK_SWEEP = "webhooks.sweep"
STATEMENTS_EMAIL = "statements.email_monthly"

# --------------------------------------------------------------------------- queues

#: The jobs whose commit wakes the outbox relay at once (engine/outbox_notify.sql names
#: the same tasks; test_outbox_relay checks it): the two relay hops of speed to lead,
#: approval -> distribution -> webhook delivery.  Every other job waits for the relay's
#: next poll (0.2 s), since a NOTIFY serialises commits.
WAKE_RELAY = (DISTRIBUTE_LEAD, WEBHOOK_DELIVER)

QUEUE_DEFAULT = "celery"
QUEUE_DISTRIBUTION = "distribution"
QUEUE_EMAIL = "email"  # emails wait on SMTP: their own queue never holds up distribution
# POSTs to providers' receivers (up to the webhook timeout each): a slow CRM waits here,
# never in front of a distribution or an email.
QUEUE_WEBHOOKS = "webhooks"
QUEUES = (QUEUE_DEFAULT, QUEUE_DISTRIBUTION, QUEUE_EMAIL, QUEUE_WEBHOOKS)


@dataclass(frozen=True)
class Retry:
    """Celery's automatic retry: on which failures, how often, how far apart."""

    on: Literal["smtp_unavailable", "any"]  # workers/tasks.py maps these to exception classes
    max_retries: int
    backoff: int | bool  # Celery's retry_backoff: True = 1 s, else the first delay in seconds
    backoff_max: int
    jitter: bool = True


@dataclass(frozen=True)
class Job:
    name: str
    queue: str
    retry: Retry | None = None
    # Acknowledged after the task ran (redelivered if the worker dies); off for long
    # jobs that must not run twice at once.
    acks_late: bool = True


EMAIL_RETRY = Retry(on="smtp_unavailable", max_retries=10, backoff=2, backoff_max=300)
DISTRIBUTION_RETRY = Retry(on="any", max_retries=10, backoff=True, backoff_max=60, jitter=True)
# A recharge's PaymentIntent is created with an idempotency key naming the recharge:
# retrying after a Stripe outage charges at most once.
RECHARGE_RETRY = Retry(on="any", max_retries=8, backoff=5, backoff_max=300)

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(EMAIL_LEAD_CONFIRMATION, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_PROVIDER_BALANCE_RULES, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_ADMIN_ALERT, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_NEW_LEADS, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_DEPOSIT_RECEIVED, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_RETURN_REQUEST, QUEUE_EMAIL, EMAIL_RETRY),
        Job(EMAIL_SEND_PENDING, QUEUE_EMAIL),
        Job(EMAIL_LEAD_DIGEST, QUEUE_EMAIL),
        Job(EMAIL_LOW_BALANCE, QUEUE_EMAIL),
        Job(EMAIL_WEBHOOK_DISABLED, QUEUE_EMAIL, EMAIL_RETRY),
        # Retries are the delivery's own (backoff over 24 h, services/webhooks.py), not Celery's.
        Job(WEBHOOK_DELIVER, QUEUE_WEBHOOKS),
        Job(WEBHOOK_SWEEP, QUEUE_WEBHOOKS),
        Job(DISTRIBUTE_LEAD, QUEUE_DISTRIBUTION, DISTRIBUTION_RETRY),
        Job(RETRY_WAITING, QUEUE_DISTRIBUTION),
        Job(OUTBOX_DRAIN, QUEUE_DEFAULT),
        Job(PAYMENTS_RECONCILE, QUEUE_DEFAULT),
        Job(PAYMENTS_RECHARGE, QUEUE_DEFAULT, RECHARGE_RETRY),
        Job(EMAIL_RECHARGE_FAILED, QUEUE_EMAIL, EMAIL_RETRY),
        Job(REPORTS_ROLL_UP, QUEUE_DEFAULT),
        Job(STATEMENTS_EMAIL, QUEUE_EMAIL),
        Job(BACKUP_RUN, QUEUE_DEFAULT, acks_late=False),  # a long dump is never redelivered mid-way
        Job(BACKUP_RESTORE_CHECK, QUEUE_DEFAULT, acks_late=False),
    )
}

# The engine's SQL functions that insert outbox rows, and the job each writes.
SQL_WRITERS: dict[str, tuple[str, ...]] = {
    "hotlead_apply_balance_rules": (EMAIL_PROVIDER_BALANCE_RULES,),
    "hotlead_distribute_lead": (EMAIL_NEW_LEADS,),
    "hotlead_webhook_enqueue": (WEBHOOK_DELIVER,),
    "hotlead_start_recharge": (PAYMENTS_RECHARGE,),
}


def job(name: str) -> Job:
    """The job of this name; ValueError for a name not in the catalogue."""
    try:
        return JOBS[name]
    except KeyError:
        raise ValueError(f"unknown job {name!r}: not in hotlead_app/jobs.py") from None


# --------------------------------------------------------------------------- beat

OUTBOX_DRAIN_SECONDS = 5.0
EMAIL_SWEEP_SECONDS = 30.0
RETRY_WAITING_SECONDS = 60.0
WEBHOOK_SWEEP_SECONDS = 15.0
LOW_BALANCE_SECONDS = 60.0


@dataclass(frozen=True)
class Periodic:
    """One beat entry: every ``seconds``, every ``seconds_setting`` (a Settings field),
    or on a ``cron`` (celery.schedules.crontab's arguments)."""

    entry: str
    job: str
    seconds: float | None = None
    seconds_setting: str | None = None
    cron: dict[str, Any] = field(default_factory=dict)


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("outbox-drain", OUTBOX_DRAIN, seconds=OUTBOX_DRAIN_SECONDS),
    Periodic("email-send-pending", EMAIL_SEND_PENDING, seconds=EMAIL_SWEEP_SECONDS),
    Periodic("distribution-retry-waiting", RETRY_WAITING, seconds=RETRY_WAITING_SECONDS),
    # The hourly lead digest (providers who chose it), at the top of every hour.
    Periodic("email-lead-digest", EMAIL_LEAD_DIGEST, cron={"minute": 0}),
    # Low-balance alerts and their re-arming that no charge or deposit job saw.
    Periodic("email-low-balance", EMAIL_LOW_BALANCE, seconds=LOW_BALANCE_SECONDS),
    # Webhook deliveries due for a retry (or whose worker died mid-POST); expired ones fail.
    Periodic("webhooks-sweep", WEBHOOK_SWEEP, seconds=WEBHOOK_SWEEP_SECONDS),
    # Payments: compare the processors with the deposits (hourly by default).
    Periodic("payments-reconcile", PAYMENTS_RECONCILE, seconds_setting="reconciliation_interval_seconds"),
    # The ledger totals of yesterday (and any day missed) for the admin overview.
    Periodic("reports-roll-up", REPORTS_ROLL_UP, cron={"hour": 1, "minute": 30}),
    # Monthly statements: hourly, so that each provider's month has ended in its own time
    # zone; a provider's statement email is composed once (services/statements.py).
    Periodic("statements-email-monthly", STATEMENTS_EMAIL, cron={"minute": 20}),
    # Encrypted backup every day; restore drill of the latest one every week.
    Periodic("backup-daily", BACKUP_RUN, cron={"hour": 3, "minute": 15}),
    Periodic("backup-restore-check-weekly", BACKUP_RESTORE_CHECK, cron={"hour": 4, "minute": 30, "day_of_week": "sun"}),
)
