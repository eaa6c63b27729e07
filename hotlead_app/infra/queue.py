"""The Celery application object: broker settings and the periodic schedule.

Services publish work by task *name* (``send_task``), so they never import the
worker modules; ``workers/`` registers the task functions on this same app.
Celery keeps nothing in the app database: the broker is Redis, results are off.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery
from celery.schedules import crontab

from hotlead_app.settings import get_settings

OUTBOX_DRAIN_SECONDS = 5.0
QUEUES = "celery,distribution,email"
RETRY_WAITING_SECONDS = 60.0
EMAIL_SWEEP_SECONDS = 30.0


@lru_cache(maxsize=1)
def get_celery() -> Celery:
    settings = get_settings()
    app = Celery("hotlead", broker=settings.redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        # Publishing happens right after a commit in a web request: fail fast and
        # leave the outbox row for the periodic drain rather than hang the request.
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        # Emails wait on SMTP; they get their own queue so that they never hold up
        # distribution.  Workers name the queues they serve (`-Q`); QUEUES is all of them.
        task_routes={"email.*": {"queue": "email"}, "distribution.*": {"queue": "distribution"}},
        task_default_queue="celery",
        beat_schedule={
            "outbox-drain": {
                "task": "outbox.drain",
                "schedule": OUTBOX_DRAIN_SECONDS,
            },
            "email-send-pending": {
                "task": "email.send_pending",
                "schedule": EMAIL_SWEEP_SECONDS,
            },
            "distribution-retry-waiting": {
                "task": "distribution.retry_waiting",
                "schedule": RETRY_WAITING_SECONDS,
            },
            # Payments: compare the processors with the deposits (hourly by default).
            "payments-reconcile": {
                "task": "payments.reconcile",
                "schedule": settings.reconciliation_interval_seconds,
            },
            # The ledger totals of yesterday (and any day missed) for the admin overview.
            "reports-roll-up": {"task": "reports.roll_up", "schedule": crontab(hour=1, minute=30)},
            # Encrypted backup every day; restore drill of the latest one every week.
            "backup-daily": {"task": "backup.run", "schedule": crontab(hour=3, minute=15)},
            "backup-restore-check-weekly": {
                "task": "backup.restore_check",
                "schedule": crontab(hour=4, minute=30, day_of_week="sun"),
            },
        },
    )
    return app


def reset_celery() -> None:
    get_celery.cache_clear()
