"""Stripe deposits: checkout, verified webhooks applied exactly once, reversals.

Stripe itself is the only fake: a ``stripe.HTTPClient`` subclass behind the real
``StripeClient`` (tests/payments_fakes.py); webhooks are signed with
``stripe.WebhookSignature.generate_signature_header`` and sent over real HTTP."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from hotlead_app import jobs
from hotlead_app.services import ledger
from tests.conftest import STRIPE_TEST_SECRET
from tests.integration.payments_helpers import (
    deposit_row,
    ledger_of,
    one,
    outbox_tasks,
    payer,
    provider_row,
    rows,
)
from tests.payments_fakes import signed, stripe_event


@pytest.fixture
def world(db, api_server, fake_stripe):
    return {"api": api_server, "stripe": fake_stripe, "payer": payer(api_server)}


def _deposit(world, amount="25.00", who=None) -> dict:
    who = who or world["payer"]
    resp = httpx.post(
        f"{world['api']}/api/v1/provider/deposits", json={"method": "stripe", "amount": amount}, headers=who.headers
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _session_of(world, deposit: dict) -> str:
    return deposit_row(deposit["id"]).checkout_id


def _deliver(world, payload: str, **sign) -> httpx.Response:
    return httpx.post(
        f"{world['api']}/api/v1/webhooks/stripe",
        content=payload.encode(),
        headers=signed(payload, STRIPE_TEST_SECRET, **sign),
        timeout=30,
    )


def test_a_deposit_sends_the_provider_to_a_stripe_checkout_session(world):
    deposit = _deposit(world, "25.00")
    created = world["stripe"].calls("POST", "/v1/checkout/sessions")
    assert len(created) == 1
    form = created[0].form
    assert form["mode"] == ["payment"]
    assert form["client_reference_id"] == [deposit["id"]]
    assert form["line_items[0][price_data][unit_amount]"] == ["2500"]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["metadata[deposit_id]"] == [deposit["id"]]
    assert created[0].headers["Idempotency-Key"] == f"deposit-{deposit['id']}-checkout"
    session_id = _session_of(world, deposit)
    assert deposit["redirect_url"] == world["stripe"].sessions[session_id]["url"]
    assert deposit["status"] == "pending" and deposit["amount"] == "25.00"
    polled = httpx.get(f"{world['api']}/api/v1/provider/deposits/{deposit['id']}", headers=world["payer"].headers)
    assert polled.json()["status"] == "pending"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"method": "stripe", "amount": "5.00"}, "amount"),
        ({"method": "stripe", "amount": "10000.01"}, "amount"),
        ({"method": "stripe", "amount": 12.5}, "amount"),
        ({"method": "stripe", "amount": "12.345"}, "amount"),
        ({"method": "stripe", "amount": "lots"}, "amount"),
        ({"method": "stripe"}, "amount"),
        ({"method": "bitcoin", "amount": "25.00"}, "method"),
    ],
)
def test_a_bad_deposit_request_is_refused_and_writes_nothing(world, body, field):
    resp = httpx.post(f"{world['api']}/api/v1/provider/deposits", json=body, headers=world["payer"].headers)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_input"
    assert field in resp.json()["error"]["details"]
    assert rows("SELECT id FROM deposits") == []
    assert world["stripe"].requests == []


def test_an_amount_outside_the_limits_names_them(world):
    resp = httpx.post(
        f"{world['api']}/api/v1/provider/deposits",
        json={"method": "stripe", "amount": "1.00"},
        headers=world["payer"].headers,
    )
    assert "between $10.00 and $10,000.00" in resp.json()["error"]["details"]["amount"]


def test_stripe_down_gives_503_and_the_deposit_is_marked_failed(world):
    world["stripe"].fail_with = 500
    resp = httpx.post(
        f"{world['api']}/api/v1/provider/deposits",
        json={"method": "stripe", "amount": "25.00"},
        headers=world["payer"].headers,
        timeout=30,
    )
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "payment_processor_unavailable"
    assert one("SELECT status, failure_reason FROM deposits") == ("failed", "processor_unavailable")


def test_another_providers_deposit_is_not_found(world):
    deposit = _deposit(world)
    other = payer(world["api"], "Other")
    resp = httpx.get(f"{world['api']}/api/v1/provider/deposits/{deposit['id']}", headers=other.headers)
    assert resp.status_code == 404


def test_a_webhook_delivered_five_times_and_twice_at_once_posts_one_deposit(world):
    deposit = _deposit(world, "25.00")
    session_id = _session_of(world, deposit)
    session = world["stripe"].pay(session_id)
    payload = stripe_event("checkout.session.completed", session)
    with ThreadPoolExecutor(2) as pool:
        concurrent = list(pool.map(lambda _: _deliver(world, payload), range(2)))
    sequential = [_deliver(world, payload) for _ in range(5)]
    assert [r.status_code for r in concurrent + sequential] == [200] * 7
    outcomes = sorted(r.json()["outcome"] for r in concurrent + sequential)
    assert outcomes == ["duplicate"] * 6 + ["processed"]
    entries = ledger_of(world["payer"].provider_id)
    assert [(e.type, e.amount, e.idempotency_key) for e in entries] == [
        ("deposit", Decimal("25.00"), f"stripe:checkout:{session_id}")
    ]
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")
    stored = one("SELECT deliveries, outcome, processed_at IS NOT NULL AS done, raw_body FROM webhook_events")
    assert stored.deliveries == 7 and stored.outcome == "processed" and stored.done and stored.raw_body == payload
    row = deposit_row(deposit["id"])
    assert row.status == "completed" and row.payment_id == session["payment_intent"] and row.ledger_entry_id
    # One receipt, one redistribution of waiting leads: the ledger's own path for money coming in.
    assert len(outbox_tasks(jobs.EMAIL_DEPOSIT_RECEIVED)) == 1
    assert len(outbox_tasks(jobs.RETRY_WAITING)) == 1
    polled = httpx.get(
        f"{world['api']}/api/v1/provider/deposits/{deposit['id']}", headers=world["payer"].headers
    ).json()
    assert polled["status"] == "completed" and polled["balance"] == "25.00"


@pytest.mark.parametrize("how", ["wrong secret", "stale", "no header", "body changed"])
def test_a_forged_or_stale_signature_is_refused_and_writes_nothing(world, how):
    deposit = _deposit(world)
    payload = stripe_event("checkout.session.completed", world["stripe"].pay(_session_of(world, deposit)))
    url = f"{world['api']}/api/v1/webhooks/stripe"
    if how == "wrong secret":
        resp = httpx.post(url, content=payload, headers=signed(payload, "whsec_forged"))
    elif how == "stale":
        resp = httpx.post(
            url, content=payload, headers=signed(payload, STRIPE_TEST_SECRET, timestamp=int(time.time()) - 301)
        )
    elif how == "no header":
        resp = httpx.post(url, content=payload, headers={"Content-Type": "application/json"})
    else:
        resp = httpx.post(
            url,
            content=payload.replace('"amount_total": 2500', '"amount_total": 999900'),
            headers=signed(payload, STRIPE_TEST_SECRET),
        )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_signature"
    assert rows("SELECT id FROM webhook_events") == []
    assert ledger_of(world["payer"].provider_id) == []
    assert deposit_row(deposit["id"]).status == "pending"


def test_an_unknown_event_type_is_acknowledged_and_ignored(world):
    payload = stripe_event("customer.created", {"id": "cus_123", "object": "customer"})
    resp = _deliver(world, payload)
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored"
    assert one("SELECT event_type, outcome FROM webhook_events") == ("customer.created", "ignored")
    assert rows("SELECT id FROM ledger_entries") == []


def test_a_body_that_is_not_an_event_is_a_clear_400(world):
    payload = '{"no": "id"}'
    resp = _deliver(world, payload)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_input"
    assert rows("SELECT id FROM webhook_events") == []


def test_async_payment_succeeded_before_completed_gives_one_deposit(world):
    deposit = _deposit(world, "40.00")
    session_id = _session_of(world, deposit)
    pending = world["stripe"].pay(session_id, asynchronous=True)
    settled = world["stripe"].settle(session_id)
    # Stripe sends "completed" (unpaid, at the time) and later "async_payment_succeeded";
    # they arrive the other way round.
    first = _deliver(world, stripe_event("checkout.session.async_payment_succeeded", settled))
    second = _deliver(world, stripe_event("checkout.session.completed", pending))
    assert first.json()["outcome"] == "processed" and second.json()["outcome"] == "processed"
    assert [(e.type, e.amount) for e in ledger_of(world["payer"].provider_id)] == [("deposit", Decimal("40.00"))]
    assert deposit_row(deposit["id"]).status == "completed"


def test_an_unpaid_async_session_waits_and_a_late_expiry_never_undoes_a_deposit(world):
    deposit = _deposit(world, "30.00")
    session_id = _session_of(world, deposit)
    pending = world["stripe"].pay(session_id, asynchronous=True)
    assert _deliver(world, stripe_event("checkout.session.completed", pending)).status_code == 200
    assert deposit_row(deposit["id"]).status == "pending"
    assert ledger_of(world["payer"].provider_id) == []
    settled = world["stripe"].settle(session_id)
    _deliver(world, stripe_event("checkout.session.async_payment_succeeded", settled))
    _deliver(world, stripe_event("checkout.session.expired", {**settled, "status": "expired"}))
    assert deposit_row(deposit["id"]).status == "completed"
    assert len(ledger_of(world["payer"].provider_id)) == 1


def test_an_expired_or_failed_session_closes_the_pending_deposit(world):
    expiring, failing = _deposit(world), _deposit(world)
    _deliver(world, stripe_event("checkout.session.expired", world["stripe"].expire(_session_of(world, expiring))))
    failing_session = world["stripe"].pay(_session_of(world, failing), asynchronous=True)
    _deliver(world, stripe_event("checkout.session.async_payment_failed", failing_session))
    assert deposit_row(expiring["id"]).status == "expired"
    assert deposit_row(failing["id"]).status == "failed"
    assert ledger_of(world["payer"].provider_id) == []


def test_a_payment_for_a_different_amount_is_not_posted_but_recorded(world):
    deposit = _deposit(world, "25.00")
    session = world["stripe"].pay(_session_of(world, deposit), amount_cents=2000)
    resp = _deliver(world, stripe_event("checkout.session.completed", session))
    assert resp.status_code == 200
    assert ledger_of(world["payer"].provider_id) == []
    issue = one("SELECT kind, expected_amount, actual_amount, status FROM reconciliation_issues")
    assert tuple(issue) == ("amount_mismatch", Decimal("25.00"), Decimal("20.00"), "open")


def test_a_refund_after_the_money_was_spent_goes_negative_deactivates_and_alerts(world):
    from hotlead_app.infra import metrics

    alerts_before = metrics.ADMIN_ALERTS.labels("payment_reversed")._value.get()
    reversals_before = metrics.PAYMENT_REVERSALS.labels("stripe", "refund")._value.get()
    deposit = _deposit(world, "25.00")
    session_id = _session_of(world, deposit)
    _deliver(world, stripe_event("checkout.session.completed", world["stripe"].pay(session_id)))
    provider_id = world["payer"].provider_id
    ledger.post(provider_id=provider_id, type="charge", amount="20.00", key=f"test:spent:{uuid.uuid4()}")
    charge = world["stripe"].refund(session_id, 2500)
    payload = stripe_event("charge.refunded", charge)
    for _ in range(3):
        assert _deliver(world, payload).status_code == 200
    refund_id = world["stripe"].refunds[charge["id"]][0]["id"]
    entries = ledger_of(provider_id)
    assert [(e.type, e.amount, e.idempotency_key, e.is_reversal) for e in entries][-1] == (
        "debit",
        Decimal("25.00"),
        f"stripe:refund:{refund_id}",
        True,
    )
    assert len(entries) == 3
    provider = provider_row(provider_id)
    assert provider.balance == Decimal("-20.00")
    assert (provider.status, provider.status_reason) == ("inactive", "payment_reversed")
    assert deposit_row(deposit["id"]).reversed_amount == Decimal("25.00")
    alerts = outbox_tasks(jobs.EMAIL_ADMIN_ALERT)
    assert len(alerts) == 1 and alerts[0].args["provider_id"] == str(provider_id)
    assert metrics.ADMIN_ALERTS.labels("payment_reversed")._value.get() == alerts_before + 1
    assert metrics.PAYMENT_REVERSALS.labels("stripe", "refund")._value.get() == reversals_before + 1
    audited = rows(
        "SELECT action FROM audit_logs WHERE entity_id IN (:p, :d) ORDER BY seq",
        p=provider_id,
        d=uuid.UUID(deposit["id"]),
    )
    assert ("deactivated_payment_reversed",) in audited and ("deposit_refund",) in audited


def test_a_partial_refund_while_funded_debits_without_deactivating(world):
    deposit = _deposit(world, "50.00")
    session_id = _session_of(world, deposit)
    _deliver(world, stripe_event("checkout.session.completed", world["stripe"].pay(session_id)))
    _deliver(world, stripe_event("charge.refunded", world["stripe"].refund(session_id, 1000)))
    _deliver(world, stripe_event("charge.refunded", world["stripe"].refund(session_id, 500)))
    provider = provider_row(world["payer"].provider_id)
    assert provider.balance == Decimal("35.00") and provider.status == "active"
    assert deposit_row(deposit["id"]).reversed_amount == Decimal("15.00")
    assert outbox_tasks(jobs.EMAIL_ADMIN_ALERT) == []


def _paid(world, amount="25.00") -> str:
    session_id = _session_of(world, _deposit(world, amount))
    _deliver(world, stripe_event("checkout.session.completed", world["stripe"].pay(session_id)))
    return session_id


def _dispute_event(world, kind: str, dispute_id: str, status: str | None = None) -> httpx.Response:
    if status:
        world["stripe"].disputes[dispute_id]["status"] = status
    resp = _deliver(world, stripe_event(f"charge.dispute.{kind}", world["stripe"].disputes[dispute_id]))
    assert resp.status_code == 200, resp.text
    return resp


def _entries(world) -> list[tuple[str, str, Decimal]]:
    return [(e.type, e.idempotency_key, e.amount) for e in ledger_of(world["payer"].provider_id)]


def test_an_inquiry_opened_and_closed_moves_no_money(world):
    """An inquiry (or a dispute Stripe has not charged back) withdraws nothing: no
    debit on ``charge.dispute.created``, no credit on ``closed``."""
    session_id = _paid(world)
    dispute = world["stripe"].dispute(session_id, 2500, status="warning_needs_response")
    _dispute_event(world, "created", dispute["id"])
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")
    _dispute_event(world, "closed", dispute["id"], status="warning_closed")
    assert _entries(world) == [("deposit", f"stripe:checkout:{session_id}", Decimal("25.00"))]
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")


def test_a_dispute_debits_when_funds_are_withdrawn_and_credits_when_reinstated(world):
    session_id = _paid(world)
    dispute = world["stripe"].dispute(session_id, 2500)
    dp = dispute["id"]
    _dispute_event(world, "created", dp)
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")
    _dispute_event(world, "funds_withdrawn", dp)
    _dispute_event(world, "funds_withdrawn", dp)  # a second event of the same kind: one debit
    assert provider_row(world["payer"].provider_id).balance == Decimal("0.00")
    _dispute_event(world, "closed", dp, status="won")  # closing moves nothing by itself
    assert provider_row(world["payer"].provider_id).balance == Decimal("0.00")
    _dispute_event(world, "funds_reinstated", dp)
    _dispute_event(world, "funds_reinstated", dp)
    assert _entries(world) == [
        ("deposit", f"stripe:checkout:{session_id}", Decimal("25.00")),
        ("debit", f"stripe:dispute.funds_withdrawn:{dp}", Decimal("25.00")),
        ("credit", f"stripe:dispute.funds_reinstated:{dp}", Decimal("25.00")),
    ]
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")


def test_a_lost_dispute_keeps_its_debit(world):
    session_id = _paid(world)
    dp = world["stripe"].dispute(session_id, 1000)["id"]
    _dispute_event(world, "funds_withdrawn", dp)
    _dispute_event(world, "closed", dp, status="lost")
    assert provider_row(world["payer"].provider_id).balance == Decimal("15.00")
    assert [e[0] for e in _entries(world)] == ["deposit", "debit"]


def test_reinstated_funds_without_a_posted_debit_credit_nothing(world):
    """The provider never lost the money: a won dispute gives nothing back (as PayPal);
    and a withdrawal delivered after the reinstatement posts nothing either."""
    session_id = _paid(world)
    dp = world["stripe"].dispute(session_id, 2500, status="won")["id"]
    resp = _dispute_event(world, "funds_reinstated", dp)
    assert resp.json()["outcome"] == "processed"
    assert one("SELECT outcome, error FROM webhook_events WHERE event_type = 'charge.dispute.funds_reinstated'") == (
        "processed",
        "not_reversed",
    )
    _dispute_event(world, "funds_withdrawn", dp)
    assert _entries(world) == [("deposit", f"stripe:checkout:{session_id}", Decimal("25.00"))]


def test_a_dispute_debited_by_an_earlier_release_is_neither_debited_again_nor_lost(world):
    """Debits posted on ``charge.dispute.created`` before this release (key
    ``stripe:dispute:<id>``) count as the dispute's withdrawal."""
    from hotlead_app.services.payments import deposits

    session_id = _paid(world)
    dispute = world["stripe"].dispute(session_id, 2500)
    dp = dispute["id"]
    legacy = deposits.reverse(
        method="stripe",
        kind="dispute",
        key=f"stripe:dispute:{dp}",
        amount=Decimal("25.00"),
        payment_id=dispute["payment_intent"],
        reference=dp,
    )
    assert legacy == "reversed"
    _dispute_event(world, "funds_withdrawn", dp)
    _dispute_event(world, "funds_reinstated", dp, status="won")
    assert _entries(world) == [
        ("deposit", f"stripe:checkout:{session_id}", Decimal("25.00")),
        ("debit", f"stripe:dispute:{dp}", Decimal("25.00")),
        ("credit", f"stripe:dispute.funds_reinstated:{dp}", Decimal("25.00")),
    ]


def test_a_processor_outage_while_processing_gives_503_and_a_retry_applies_it(world):
    deposit = _deposit(world, "25.00")
    session_id = _session_of(world, deposit)
    payload = stripe_event("checkout.session.completed", world["stripe"].pay(session_id))
    world["stripe"].fail_with = 503
    resp = _deliver(world, payload)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "payment_processor_unavailable"
    assert one("SELECT outcome, processed_at FROM webhook_events") == ("error", None)
    world["stripe"].fail_with = None
    assert _deliver(world, payload).json()["outcome"] == "processed"
    assert len(ledger_of(world["payer"].provider_id)) == 1


def test_completing_a_deposit_resumes_auto_paused_subscriptions(world):
    from hotlead_app.domain.actors import admin
    from hotlead_app.services import catalog

    provider_id = world["payer"].provider_id
    niche = catalog.create_niche(
        slug=f"pay-{uuid.uuid4().hex[:6]}",
        name="Pay",
        fields=[{"name": "zip", "type": "zip", "required": True}],
        actor=admin(),
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="15.00", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider_id, type="deposit", amount="20.00", key=f"test:seed:{uuid.uuid4()}")
    sub = catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider_id)
    ledger.post(provider_id=provider_id, type="charge", amount="10.00", key=f"test:spend:{uuid.uuid4()}")
    assert one("SELECT active, pause_reason FROM provider_subscriptions WHERE id = :s", s=sub.id) == (
        False,
        "insufficient_balance",
    )
    deposit = _deposit(world, "25.00")
    _deliver(world, stripe_event("checkout.session.completed", world["stripe"].pay(_session_of(world, deposit))))
    assert one("SELECT active FROM provider_subscriptions WHERE id = :s", s=sub.id) == (True,)


def test_a_large_event_is_accepted_while_other_api_bodies_keep_their_limit(world):
    deposit = _deposit(world, "25.00")
    session = world["stripe"].pay(_session_of(world, deposit))
    session["metadata"] = {**session["metadata"], **{f"k{i}": "x" * 400 for i in range(50)}}  # ~20 KB
    payload = stripe_event("checkout.session.completed", session)
    assert len(payload) > 16 * 1024
    assert _deliver(world, payload).json()["outcome"] == "processed"
    big = httpx.post(
        f"{world['api']}/api/v1/provider/deposits",
        headers=world["payer"].headers,
        json={"method": "stripe", "amount": "25.00", "pad": "x" * 20_000},
    )
    assert big.status_code == 413
