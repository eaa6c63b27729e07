"""No processor HTTP call runs inside a database transaction (issue 13 item 9).

The Stripe and PayPal stand-ins record, at the moment each request reaches them,
whether any backend of the test database is inside a transaction or holds a row or
transaction lock (``pg_stat_activity`` / ``pg_locks``, read on a connection of their
own).  Webhook processing and the capture of an approved order must fetch first and
open the transaction after."""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest

from hotlead_app.services import backup
from tests.conftest import STRIPE_TEST_SECRET
from tests.integration.payments_helpers import deposit_row, payer
from tests.payments_fakes import paypal_event, signed, stripe_event


class TransactionWatch:
    """Called by a stand-in on each request: what the database holds right then."""

    def __init__(self, url: str) -> None:
        self.conninfo = backup.pg_target(url).conninfo
        self.seen: list[tuple[str, str, list]] = []
        self.lock = threading.Lock()

    def __call__(self, method: str, path: str) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            open_ = conn.execute(
                "SELECT a.pid, a.state, a.query FROM pg_stat_activity a "
                "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() "
                "AND (a.state LIKE 'idle in transaction%' OR a.xact_start IS NOT NULL "
                "     OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid "
                "                AND l.locktype IN ('tuple', 'transactionid')))"
            ).fetchall()
        with self.lock:
            self.seen.append((method, path, open_))

    def during(self, fragment: str) -> list[tuple[str, str, list]]:
        return [s for s in self.seen if fragment in s[1]]


@pytest.fixture
def watch(db):
    return TransactionWatch(db)


def _stripe_deliver(api: str, payload: str) -> httpx.Response:
    resp = httpx.post(
        f"{api}/api/v1/webhooks/stripe",
        content=payload.encode(),
        headers=signed(payload, STRIPE_TEST_SECRET),
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp


def test_stripe_webhooks_fetch_from_stripe_before_opening_a_transaction(db, api_server, fake_stripe, watch):
    who = payer(api_server)
    resp = httpx.post(
        f"{api_server}/api/v1/provider/deposits", json={"method": "stripe", "amount": "40.00"}, headers=who.headers
    )
    assert resp.status_code == 201, resp.text
    session_id = deposit_row(resp.json()["id"]).checkout_id
    fake_stripe.on_request = watch
    _stripe_deliver(api_server, stripe_event("checkout.session.completed", fake_stripe.pay(session_id)))
    _stripe_deliver(api_server, stripe_event("charge.refunded", fake_stripe.refund(session_id, 500)))
    dispute = fake_stripe.dispute(session_id, 1000)
    _stripe_deliver(api_server, stripe_event("charge.dispute.funds_withdrawn", dispute))
    fake_stripe.on_request = None
    for fragment in ("/v1/checkout/sessions/", "/v1/refunds", "/v1/disputes/"):
        calls = watch.during(fragment)
        assert calls, f"no call to {fragment}"
        assert all(not open_ for _, _, open_ in calls), f"{fragment} called inside a transaction: {calls}"
    assert who.provider_id is not None


def test_paypal_approval_capture_and_capture_event_call_paypal_outside_any_transaction(
    db, api_server, fake_paypal, watch
):
    who = payer(api_server)
    resp = httpx.post(
        f"{api_server}/api/v1/provider/deposits", json={"method": "paypal", "amount": "30.00"}, headers=who.headers
    )
    assert resp.status_code == 201, resp.text
    deposit_id = resp.json()["id"]
    order_id = deposit_row(deposit_id).checkout_id
    fake_paypal.approve(order_id)
    fake_paypal.on_request = watch
    payload = paypal_event("CHECKOUT.ORDER.APPROVED", fake_paypal.order(order_id), resource_type="checkout-order")
    answer = httpx.post(
        f"{api_server}/api/v1/webhooks/paypal", content=payload.encode(), headers=fake_paypal.sign(payload), timeout=30
    )
    assert answer.status_code == 200 and answer.json()["outcome"] == "processed", answer.text
    capture_id = next(iter(fake_paypal.captures))
    late = paypal_event("PAYMENT.CAPTURE.COMPLETED", fake_paypal.captures[capture_id])
    answer = httpx.post(
        f"{api_server}/api/v1/webhooks/paypal", content=late.encode(), headers=fake_paypal.sign(late), timeout=30
    )
    assert answer.status_code == 200, answer.text
    fake_paypal.on_request = None
    assert deposit_row(deposit_id).status == "completed"
    for fragment in (f"/v2/checkout/orders/{order_id}/capture", f"/v2/payments/captures/{capture_id}"):
        calls = watch.during(fragment)
        assert calls, f"no call to {fragment}: {[s[:2] for s in watch.seen]}"
        assert all(not open_ for _, _, open_ in calls), f"{fragment} called inside a transaction: {calls}"


def test_a_slow_stripe_fails_fast_with_processor_unavailable(monkeypatch):
    """The processor's HTTP calls time out after HOTLEAD_PAYMENT_HTTP_TIMEOUT_SECONDS
    (the default is 10 s, not the client library's 80 s), retried once."""
    import time

    from hotlead_app.infra.pgserver import free_port
    from hotlead_app.services.payments import stripe_gateway
    from hotlead_app.services.payments.errors import ProcessorUnavailable
    from hotlead_app.settings import Settings, get_settings
    from tests.payments_fakes import FakeStripe

    assert Settings.model_fields["payment_http_timeout_seconds"].default == 10.0
    fake = FakeStripe()
    fake.on_request = lambda method, path: time.sleep(3)
    port = free_port()
    stand_in = fake.serve(port)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_slow")
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HOTLEAD_PAYMENT_HTTP_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    stripe_gateway.use_client(None)
    try:
        started = time.monotonic()
        with pytest.raises(ProcessorUnavailable):
            stripe_gateway.retrieve_session("cs_test_slow")
        assert time.monotonic() - started < 2.9, "a call outlived the timeout"
    finally:
        stand_in.close()
        get_settings.cache_clear()
