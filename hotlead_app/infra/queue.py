"""The Celery application object: broker settings and the periodic schedule.

Services publish work by task *name* (``send_task``, names in ``hotlead_app/jobs.py``),
so they never import the worker modules; ``workers/`` registers the task functions on
this same app.
Celery keeps nothing in the app database: the broker is Redis, results are off.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery
from celery.schedules import crontab

from hotlead_app import jobs
from hotlead_app.settings import get_settings

QUEUES = ",".join(jobs.QUEUES)


def _beat_entry(entry: jobs.Periodic) -> dict[str, Any]:
    schedule: Any
    if entry.cron:
        schedule = crontab(**entry.cron)
    elif entry.seconds_setting:
        schedule = float(getattr(get_settings(), entry.seconds_setting))
    else:
        schedule = entry.seconds
    return {"task": entry.job, "schedule": schedule}


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
        # Every job's queue and the periodic schedule: hotlead_app/jobs.py.  Workers
        # name the queues they serve (`-Q`); QUEUES is all of them.
        task_routes={job.name: {"queue": job.queue} for job in jobs.JOBS.values()},
        task_default_queue=jobs.QUEUE_DEFAULT,
        beat_schedule={entry.entry: _beat_entry(entry) for entry in jobs.SCHEDULE},
    )
    return app


def reset_celery() -> None:
    get_celery.cache_clear()
