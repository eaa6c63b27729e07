"""A real Celery worker: its outbox relay publishes the jobs transactions wrote, and runs them."""

from __future__ import annotations

import time
import uuid

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.devstack.embedded import free_port
from hotlead_app.models import EmailMessage, OutboxMessage
from hotlead_app.services import intake, notifications, outbox
from tests.conftest import point_settings_at, wait_for
from tests.factories import make_niche, unique_email


def _emails(lead_id: uuid.UUID) -> list[EmailMessage]:
    return notifications.list_emails_for_lead(lead_id=lead_id)


def test_worker_composes_the_confirmation_email_after_the_lead_commits(shared_db, celery_worker):
    slug = make_niche()
    email = unique_email()
    lead = intake.submit_lead(niche_slug=slug, email=email, payload={"zip": "30301", "roof_type": "tile"})
    (message,) = wait_for(lambda: _emails(lead.id), timeout=30, message="the confirmation email")
    assert message.to_address == email
    assert message.kind == "lead_confirmation"
    assert "/confirm?token=" in message.body_text
    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead.id))).one()
    assert job.dispatched_at is not None


def test_running_the_job_twice_composes_one_email(shared_db, celery_worker):
    slug = make_niche()
    lead = intake.submit_lead(niche_slug=slug, email=unique_email(), payload={"zip": "30301", "roof_type": "tile"})
    wait_for(lambda: _emails(lead.id), timeout=30, message="the first email")
    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead.id))).one()
    again = notifications.compose_lead_confirmation(lead_id=lead.id, nonce=job.args["nonce"])
    assert again is not None and again.created is False
    assert len(_emails(lead.id)) == 1


def test_the_request_never_touches_the_broker_and_the_workers_relay_sends_the_job(
    shared_db, celery_worker, redis_server
):
    slug = make_niche()
    point_settings_at(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # the web process's broker is down
    try:
        lead = intake.submit_lead(niche_slug=slug, email=unique_email(), payload={"zip": "30301", "roof_type": "flat"})
    finally:
        point_settings_at(redis_url=redis_server.url())
    # The worker's relay publishes the job; the worker composes the email and marks it started.
    wait_for(lambda: _emails(lead.id), timeout=30, message="the email relayed by the worker")

    def row() -> OutboxMessage:
        with unit_of_work() as uow:
            return uow.session.exec(
                select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead.id))
            ).one()

    job = wait_for(lambda: (r := row()).done_at and r, timeout=10, message="the worker marking the job done")
    assert job.published_at is not None and job.dispatched_at is not None and job.attempts == 1
    assert job.id not in _due_ids(), "a job done is never published again"


def _due_ids() -> set:
    """The rows the periodic drain would publish now (without publishing them)."""
    from hotlead_app.models._types import utcnow

    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(OutboxMessage.id).where(
                outbox.redeliverable(utcnow()), OutboxMessage.created_at <= utcnow() - outbox.REPUBLISH_AFTER
            )
        ).all()
    return set(rows)


def test_a_lead_that_fails_validation_queues_no_job(shared_db):
    slug = make_niche()
    with unit_of_work() as uow:
        before = len(uow.session.exec(select(OutboxMessage)).all())
    try:
        intake.submit_lead(niche_slug=slug, email="nope", payload={})
    except Exception as exc:
        assert type(exc).__name__ == "InvalidInput"
    else:
        raise AssertionError("an invalid lead was accepted")
    with unit_of_work() as uow:
        assert len(uow.session.exec(select(OutboxMessage)).all()) == before


def test_a_database_error_while_composing_loses_no_email(shared_db, celery_worker, smtp_sink):
    """The job is done when its task succeeds: the first attempt dies on a real
    database error (its statement cancelled while it waits for a lock), the job runs
    again, and the email arrives exactly once."""
    import psycopg

    from hotlead_app.settings import get_settings

    slug = make_niche()
    email = unique_email("dberror")
    dsn = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    waiting_sql = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        "AND query ILIKE 'INSERT INTO email_messages%'"
    )
    with psycopg.connect(dsn) as blocker, psycopg.connect(dsn, autocommit=True) as admin:
        blocker.execute("LOCK TABLE email_messages IN EXCLUSIVE MODE")  # reads go on, inserts wait
        lead = intake.submit_lead(niche_slug=slug, email=email, payload={"zip": "30301", "roof_type": "tile"})
        waiting = wait_for(
            lambda: admin.execute(waiting_sql).fetchall(),
            timeout=30,
            message="the worker composing, waiting for the lock",
        )
        for (pid,) in waiting:
            admin.execute("SELECT pg_cancel_backend(%s)", (pid,))  # QueryCanceled in the worker's transaction
        wait_for(lambda: not admin.execute(waiting_sql).fetchall(), timeout=10, message="the statement cancelled")
        time.sleep(1)  # the task fails and reports it
        assert _emails(lead.id) == []
        blocker.rollback()

    # The periodic drain (called here rather than waited for) sends the job again.
    def delivered() -> list:
        outbox.drain(older_than_seconds=0)
        return smtp_sink.to(email)

    (message,) = wait_for(delivered, timeout=30, interval=1, message="the email after the second attempt")
    assert message["To"] == email
    job = wait_for(lambda: (j := _job_of(lead.id)).done_at and j, timeout=10, message="the job marked done on success")
    assert job.attempts >= 2
    assert job.id not in _due_ids(), "a job done is never published again"
    outbox.drain(older_than_seconds=0)
    time.sleep(1)
    assert len(_emails(lead.id)) == 1 and len(smtp_sink.to(email)) == 1


def _job_of(lead_id: uuid.UUID) -> OutboxMessage:
    with unit_of_work() as uow:
        return uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead_id))).one()
