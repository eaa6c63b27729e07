"""Payments through the real Celery worker and SMTP: the reconciliation task, the
receipt and the admin alert.  The worker reaches "Stripe" at the HTTP stand-in
(STRIPE_API_BASE, set for every process the tests start)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx

from hotlead_app import jobs
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.infra.queue import get_celery
from hotlead_app.services import ledger
from hotlead_app.services.payments import deposits
from hotlead_app.settings import get_settings
from tests.conftest import STRIPE_TEST_SECRET, wait_for
from tests.factories import make_provider
from tests.integration.payments_helpers import deposit_row, ledger_of, provider_row
from tests.payments_fakes import signed, stripe_event


def _subjects(sink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in sink.to(address)]


def test_the_reconciliation_task_applies_a_missed_payment_and_the_receipt_is_emailed(
    shared_db, celery_worker, smtp_sink, stripe_standin
):
    provider = make_provider()
    made = deposits.create(actor=provider_actor(provider.id), method="stripe", amount="35.00")
    assert made.redirect_url.startswith(stripe_standin.page_base)
    stripe_standin.pay(deposit_row(made.id).checkout_id)
    get_celery().send_task(jobs.PAYMENTS_RECONCILE)
    wait_for(lambda: deposit_row(made.id).status == "completed", timeout=60, message="reconciliation by the worker")
    assert [(e.type, e.amount) for e in ledger_of(provider.id)] == [("deposit", Decimal("35.00"))]
    wait_for(
        lambda: any("Deposit received" in s for s in _subjects(smtp_sink, provider.email)),
        timeout=60,
        message="the deposit receipt",
    )
    receipt = next(m for m in smtp_sink.to(provider.email) if "Deposit received" in str(m["Subject"]))
    assert "35.00" in receipt.get_body(("plain",)).get_content()


def test_a_refund_of_spent_money_emails_the_admins(shared_db, api_server, celery_worker, smtp_sink, stripe_standin):
    provider = make_provider()
    made = deposits.create(actor=provider_actor(provider.id), method="stripe", amount="25.00")
    session_id = deposit_row(made.id).checkout_id
    for event in (stripe_event("checkout.session.completed", stripe_standin.pay(session_id)),):
        resp = httpx.post(
            f"{api_server}/api/v1/webhooks/stripe", content=event, headers=signed(event, STRIPE_TEST_SECRET), timeout=30
        )
        assert resp.status_code == 200, resp.text
    ledger.post(provider_id=provider.id, type="charge", amount="20.00", key=f"test:spent:{uuid.uuid4()}")
    refund = stripe_event("charge.refunded", stripe_standin.refund(session_id, 2500))
    assert (
        httpx.post(
            f"{api_server}/api/v1/webhooks/stripe",
            content=refund,
            headers=signed(refund, STRIPE_TEST_SECRET),
            timeout=30,
        ).status_code
        == 200
    )
    assert provider_row(provider.id).status == "inactive"
    admin_email = get_settings().bootstrap_admin_email

    def alert_for_this_provider():
        # Other tests' alerts reach the same worker and inbox: look for this provider's.
        return [
            m
            for m in smtp_sink.to(admin_email)
            if "Payment reversed" in str(m["Subject"]) and str(provider.id) in m.get_body(("plain",)).get_content()
        ]

    wait_for(alert_for_this_provider, timeout=60, message="the admin alert email")
    assert len(alert_for_this_provider()) == 1
