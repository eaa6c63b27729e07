"""Emails leave through real SMTP, survive an SMTP outage and a stopped worker."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.devstack.embedded import EmbeddedRedis, free_port
from hotlead_app.models import EmailEvent, EmailStatus
from hotlead_app.services import email_templates, intake, notifications
from tests.conftest import point_settings_at, start_worker, stop_process_group, wait_for
from tests.factories import make_niche, unique_email

LINK = re.compile(r"(https?://\S+/confirm\?token=[\w.\-]+)")


def _submit(slug: str, email: str):
    return intake.submit_lead(niche_slug=slug, email=email, payload={"zip": "30301", "roof_type": "tile"})


def test_the_confirmation_email_arrives_with_text_html_and_a_working_link(shared_db, celery_worker, smtp_sink):
    slug = make_niche()
    email = unique_email("mail")
    _submit(slug, email)
    (message,) = wait_for(lambda: smtp_sink.to(email), timeout=30, message="the email at the SMTP sink")
    assert message["Subject"].startswith("Confirm your")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert LINK.search(text) and LINK.search(html)
    assert "/e/o/" in html  # the open-tracking pixel
    (stored,) = list(notifications.list_emails_for_lead(lead_id=_lead_id_for(email)))
    assert stored.status == EmailStatus.sent


def _lead_id_for(email: str) -> uuid.UUID:
    from hotlead_app.models import Lead

    with unit_of_work() as uow:
        return uow.session.exec(select(Lead.id).where(Lead.email == email)).one()


def test_an_smtp_outage_is_retried_until_the_email_is_delivered_once(shared_db, celery_worker, smtp_sink):
    slug = make_niche()
    email = unique_email("outage")
    smtp_sink.stop()
    try:
        _submit(slug, email)
        lead_id = wait_for(lambda: _lead_id_for(email), timeout=10, message="the lead")
        failed = wait_for(
            lambda: [e for e in notifications.list_emails_for_lead(lead_id=lead_id) if e.status == EmailStatus.failed],
            timeout=30,
            message="a failed first attempt",
        )
        assert failed[0].attempts >= 1
    finally:
        smtp_sink.start()
    wait_for(lambda: smtp_sink.to(email), timeout=90, message="delivery after SMTP came back")
    (stored,) = notifications.list_emails_for_lead(lead_id=lead_id)
    assert stored.status == EmailStatus.sent
    assert len(smtp_sink.to(email)) == 1


def test_a_lead_submitted_while_no_worker_runs_gets_its_email_when_one_starts(
    shared_db, smtp_sink, tmp_path, redis_server
):
    private = EmbeddedRedis(tmp_path / "redis", free_port(), persistent=False, reap_with_owner=True)
    private.start()
    worker = None
    try:
        point_settings_at(redis_url=private.url())
        slug = make_niche()
        email = unique_email("later")
        _submit(slug, email)
        lead_id = _lead_id_for(email)
        assert notifications.list_emails_for_lead(lead_id=lead_id) == []
        worker = start_worker(shared_db, private.url(), smtp_sink.url, tmp_path / "worker.log")
        wait_for(lambda: smtp_sink.to(email), timeout=60, message="the email once a worker runs")
    finally:
        if worker is not None:
            stop_process_group(worker)
        private.stop()
        point_settings_at(redis_url=redis_server.url())


def test_the_pixel_records_an_open_and_ignores_forgeries(db, api_server):
    slug = make_niche()
    email = unique_email("pixel")
    lead = _submit(slug, email)
    from hotlead_app.models import OutboxMessage

    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage)).one()
    composed = notifications.compose_lead_confirmation(lead_id=lead.id, nonce=job.args["nonce"])
    url = notifications.pixel_url(composed.id).replace("http://localhost:3000", api_server)
    resp = httpx.get(url, headers={"user-agent": "MailClient/1.0"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/gif"
    forged = httpx.get(f"{api_server}/e/o/{composed.id.hex}.AAAAAAAAAAAAAAAA.gif")
    assert forged.status_code == 200
    with unit_of_work() as uow:
        events = uow.session.exec(select(EmailEvent)).all()
    assert [(e.email_id, e.kind, e.user_agent) for e in events] == [(composed.id, "open", "MailClient/1.0")]


def test_a_deposit_sends_the_provider_a_receipt(shared_db, celery_worker, smtp_sink):
    from hotlead_app.domain.actors import SYSTEM
    from hotlead_app.services import catalog, ledger

    email = unique_email("receipt")
    provider = catalog.create_provider(name="Receipt Roofing", email=email, actor=SYSTEM)
    ledger.post(provider_id=provider.id, type="deposit", amount="75.00", key=f"test:{provider.id}:deposit")
    (message,) = wait_for(lambda: smtp_sink.to(email), timeout=30, message="the deposit receipt")
    assert message["Subject"] == "Deposit received"
    text = message.get_body(preferencelist=("plain",)).get_content()
    shown = email_templates.money("75.00")
    assert f"deposit of {shown}" in text and f"balance after it: {shown}" in text


def test_a_provider_that_receives_a_lead_gets_its_contact_details_by_email(shared_db, celery_worker, smtp_sink):
    from hotlead_app.models import Lead, LeadStatus
    from hotlead_app.services import distribution
    from tests.factories import approved_lead, make_market

    market = make_market(providers=1, balance="100.00")
    (provider,) = market.providers
    lead_id = approved_lead(market.niche.slug, {"zip": "30301", "roof_type": "metal"})
    distribution.distribute_lead(lead_id=lead_id)  # the worker may have been first: either way

    def distributed() -> bool:
        with unit_of_work() as uow:
            return uow.session.get(Lead, lead_id).status == LeadStatus.DISTRIBUTED

    wait_for(distributed, timeout=30, message="the distribution")
    (message,) = wait_for(
        lambda: [m for m in smtp_sink.to(provider.email) if m["Subject"].startswith("New ")],
        timeout=30,
        message="the new-lead notice",
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert message["Subject"].startswith("New "), message["Subject"]
    assert "Contact:" in text and "30301" in text, text


def test_a_message_that_cannot_be_built_counts_its_attempts_and_stops(db, smtp_sink):
    """A Subject with a line break (text stored before names were checked) cannot be
    written as a header: each try counts, and after the limit nobody tries again."""
    composed = notifications.compose_admin_alert(
        subject="Drift at Acme\r\nBcc: victim@example.com", details={}, key="x"
    )
    before = len(smtp_sink.messages)
    results = [notifications.send_pending(older_than_seconds=0) for _ in range(notifications.MAX_ATTEMPTS + 3)]
    assert results[0] == {"sent": 0, "failed": 1}
    assert results[-1] == {"sent": 0, "failed": 0}, "given up: the sweep no longer picks it"
    assert notifications.send(email_id=composed.id) is False  # nor does a task
    with unit_of_work() as uow:
        from hotlead_app.models import EmailMessage

        stored = uow.session.get(EmailMessage, composed.id)
        assert stored is not None
        assert stored.attempts == notifications.MAX_ATTEMPTS
        assert stored.status == EmailStatus.failed and stored.last_error.startswith("cannot build the message")
    assert len(smtp_sink.messages) == before
