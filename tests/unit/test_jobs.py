"""The one catalogue of jobs: every task registered from it, every name queued known."""

from __future__ import annotations

import re

import pytest

from hotlead_app import jobs
from hotlead_app.engine import definitions
from hotlead_app.services import outbox


def test_outbox_refuses_a_job_name_not_in_the_catalogue():
    with pytest.raises(ValueError, match="unknown job"):
        outbox.add(None, "email.no_such_job", lead_id="x")  # type: ignore[arg-type]  # refused before any use


def test_every_job_is_a_registered_task_with_the_catalogues_queue_and_retry():
    import workers.celery_app  # noqa: F401  (registers every task)
    from hotlead_app.infra.queue import get_celery

    app = get_celery()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(jobs.JOBS)
    routes = app.conf.task_routes
    for job in jobs.JOBS.values():
        task = app.tasks[job.name]
        assert routes[job.name] == {"queue": job.queue}
        assert task.acks_late is job.acks_late
        if job.retry is not None:
            assert task.max_retries == job.retry.max_retries
            assert task.retry_backoff_max == job.retry.backoff_max
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} == {p.job for p in jobs.SCHEDULE}
    assert {p.job for p in jobs.SCHEDULE} <= set(jobs.JOBS)


def test_the_jobs_the_engine_writes_in_sql_are_the_catalogues():
    written: dict[str, set[str]] = {}
    for engine_file in definitions.FILES:
        sql = engine_file.sql()
        for match in re.finditer(r"INSERT INTO outbox\b[^;]*?VALUES\s*\([^,]+,\s*'([a-z_.]+)'", sql, re.S):
            (function,) = [o.name for o in engine_file.objects if o.kind == "function"]
            written.setdefault(function, set()).add(match.group(1))
    assert written == {function: set(names) for function, names in jobs.SQL_WRITERS.items()}
    assert all(name in jobs.JOBS for names in written.values() for name in names)
    for function, names in jobs.SQL_WRITERS.items():  # the module's table says so too
        for name in names:
            assert re.search(rf"``{re.escape(name)}``\s+SQL: ``{function}``", jobs.__doc__ or "")
