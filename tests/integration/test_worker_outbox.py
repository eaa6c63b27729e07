"""A real Celery worker: its outbox relay publishes the jobs transactions wrote, and runs them."""

from __future__ import annotations

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

    job = wait_for(lambda: (r := row()).dispatched_at and r, timeout=10, message="the worker marking the job started")
    assert job.published_at is not None and job.attempts == 1
    assert job.id not in _due_ids(), "a started job is never published again"


def _due_ids() -> set:
    """The rows the periodic drain would publish now (without publishing them)."""
    from hotlead_app.models._types import utcnow

    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.dispatched_at.is_(None), OutboxMessage.created_at <= utcnow() - outbox.REPUBLISH_AFTER
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
