"""PayPal deposits through paypal-server-sdk (Orders v2) with a fake ``requests``
adapter at the HTTP boundary; webhooks through the verifier (injected, or the real
verify-webhook-signature call against the fake)."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import httpx
import pytest

from hotlead_app import jobs
from hotlead_app.services import ledger
from hotlead_app.services.payments import paypal_gateway
from tests.integration.payments_helpers import (
    deposit_row,
    ledger_of,
    one,
    payer,
    provider_row,
    rows,
    webhook_outcome,
)
from tests.payments_fakes import paypal_event


@pytest.fixture
def world(db, api_server, fake_paypal):
    return {"api": api_server, "paypal": fake_paypal, "payer": payer(api_server)}


def _deposit(world, amount="30.00") -> dict:
    resp = httpx.post(
        f"{world['api']}/api/v1/provider/deposits",
        json={"method": "paypal", "amount": amount},
        headers=world["payer"].headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _capture(world, deposit: dict) -> httpx.Response:
    return httpx.post(
        f"{world['api']}/api/v1/provider/deposits/{deposit['id']}/capture", headers=world["payer"].headers, timeout=30
    )


def _deliver(world, payload: str, headers: dict | None = None) -> httpx.Response:
    return httpx.post(
        f"{world['api']}/api/v1/webhooks/paypal",
        content=payload.encode(),
        headers=headers if headers is not None else world["paypal"].sign(payload),
        timeout=30,
    )


def test_a_paypal_deposit_creates_an_order_and_redirects_to_approval(world):
    deposit = _deposit(world, "30.00")
    created = world["paypal"].calls("POST", "/v2/checkout/orders")
    assert len(created) == 1
    body = json.loads(created[0].form["body"][0])
    assert body["intent"] == "CAPTURE"
    assert body["purchase_units"][0]["custom_id"] == deposit["id"]
    assert body["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "30.00"}
    assert created[0].headers["PayPal-Request-Id"] == f"deposit-{deposit['id']}-order"
    order_id = deposit_row(deposit["id"]).checkout_id
    assert deposit["redirect_url"] == f"https://www.sandbox.paypal.test/checkoutnow?token={order_id}"
    assert world["paypal"].calls("POST", "/v1/oauth2/token")  # the SDK's own OAuth


def test_capture_on_return_posts_one_deposit_however_often_it_is_called(world):
    deposit = _deposit(world, "30.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    answers = [_capture(world, deposit) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
    assert answers[-1].json()["status"] == "completed" and answers[-1].json()["balance"] == "30.00"
    capture_id = next(iter(world["paypal"].captures))
    assert [(e.type, e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == [
        ("deposit", Decimal("30.00"), f"paypal:capture:{capture_id}")
    ]
    assert deposit_row(deposit["id"]).payment_id == capture_id


def test_an_unapproved_order_is_not_captured_and_stays_pending(world):
    deposit = _deposit(world)
    resp = _capture(world, deposit)
    assert resp.status_code == 409 and "not approved" in resp.json()["error"]["message"]
    assert deposit_row(deposit["id"]).status == "pending"
    assert ledger_of(world["payer"].provider_id) == []


def test_the_capture_webhook_and_the_return_give_one_deposit(world):
    deposit = _deposit(world, "45.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    capture = world["paypal"].capture_now(order_id)
    payload = paypal_event("PAYMENT.CAPTURE.COMPLETED", capture)
    for _ in range(5):
        assert _deliver(world, payload).status_code == 200
    assert _capture(world, deposit).json()["status"] == "completed"
    assert [(e.type, e.amount) for e in ledger_of(world["payer"].provider_id)] == [("deposit", Decimal("45.00"))]
    assert one("SELECT deliveries, outcome FROM webhook_events") == (5, "processed")


def test_the_real_verifier_asks_paypal_and_a_bad_signature_writes_nothing(world):
    deposit = _deposit(world)
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    payload = paypal_event("PAYMENT.CAPTURE.COMPLETED", world["paypal"].capture_now(order_id))
    forged = {**world["paypal"].sign(payload), "PAYPAL-TRANSMISSION-SIG": "forged"}
    resp = _deliver(world, payload, forged)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_signature"
    other_body = _deliver(world, payload.replace(deposit["id"], str(uuid.uuid4())), world["paypal"].sign(payload))
    assert other_body.status_code == 400
    missing = _deliver(world, payload, {"Content-Type": "application/json"})
    assert missing.status_code == 400
    assert rows("SELECT id FROM webhook_events") == [] and ledger_of(world["payer"].provider_id) == []
    verify_calls = world["paypal"].calls("POST", "/v1/notifications/verify-webhook-signature")
    assert verify_calls and json.loads(verify_calls[0].form["body"][0])["webhook_id"] == "WH-TEST"
    assert _deliver(world, payload).status_code == 200
    assert len(ledger_of(world["payer"].provider_id)) == 1


def test_an_injected_verifier_decides(world):
    seen = []
    paypal_gateway.use_verifier(lambda headers, body: seen.append(body) or headers.get("x-test") == "yes")
    payload = paypal_event("CHECKOUT.ORDER.APPROVED", {"id": "ORDER-X"})
    assert _deliver(world, payload, {"X-Test": "no"}).status_code == 400
    ok = _deliver(world, payload, {"X-Test": "yes"})
    assert ok.status_code == 200 and ok.json()["outcome"] == "ignored"
    assert seen == [payload.encode(), payload.encode()]


def test_a_refund_after_spending_goes_negative_and_deactivates(world):
    deposit = _deposit(world, "30.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    _capture(world, deposit)
    capture_id = next(iter(world["paypal"].captures))
    ledger.post(provider_id=world["payer"].provider_id, type="charge", amount="25.00", key=f"t:{uuid.uuid4()}")
    refund = {
        "id": "REFUND-1",
        "status": "COMPLETED",
        "amount": {"value": "30.00", "currency_code": "USD"},
        "links": [{"rel": "up", "href": f"https://api.paypal.test/v2/payments/captures/{capture_id}"}],
    }
    payload = paypal_event("PAYMENT.CAPTURE.REFUNDED", refund)
    _deliver(world, payload)
    _deliver(world, payload)
    provider = provider_row(world["payer"].provider_id)
    assert provider.balance == Decimal("-25.00")
    assert (provider.status, provider.status_reason) == ("inactive", "payment_reversed")
    assert ledger_of(world["payer"].provider_id)[-1].idempotency_key == "paypal:refund:REFUND-1"
    assert len(rows(f"SELECT id FROM outbox WHERE task = '{jobs.EMAIL_ADMIN_ALERT}'")) == 1


def test_a_dispute_debits_the_deposit(world):
    deposit = _deposit(world, "30.00")
    world["paypal"].approve(deposit_row(deposit["id"]).checkout_id)
    _capture(world, deposit)
    capture_id = next(iter(world["paypal"].captures))
    dispute = {
        "dispute_id": "PP-D-1",
        "dispute_amount": {"value": "10.00", "currency_code": "USD"},
        "disputed_transactions": [{"seller_transaction_id": capture_id}],
    }
    _deliver(world, paypal_event("CUSTOMER.DISPUTE.CREATED", dispute))
    assert provider_row(world["payer"].provider_id).balance == Decimal("20.00")
    assert ledger_of(world["payer"].provider_id)[-1].idempotency_key == "paypal:dispute:PP-D-1"


@pytest.mark.parametrize("body", [b"\xff\xfe not text", b"not json", "{}".encode("utf-16"), b'{"no": "id"}'])
def test_garbage_bodies_are_400_and_write_nothing(world, body):
    with_headers = _deliver(world, "x", world["paypal"].sign(body.decode("latin-1")))
    assert with_headers.status_code == 400
    paypal_gateway.use_verifier(lambda headers, raw: True)  # even a verifier that lets everything through
    resp = httpx.post(
        f"{world['api']}/api/v1/webhooks/paypal", content=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400, resp.text
    assert rows("SELECT id FROM webhook_events") == []


# --------------------------------------------------------------------------- an approved order, never returned from


def _approved_event(world, order_id: str) -> str:
    return paypal_event("CHECKOUT.ORDER.APPROVED", world["paypal"].order(order_id), resource_type="checkout-order")


def _event_id(payload: str) -> str:
    return json.loads(payload)["id"]


def test_an_approved_order_is_captured_by_its_webhook_and_the_return_and_capture_event_change_nothing(world):
    deposit = _deposit(world, "40.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    payload = _approved_event(world, order_id)
    resp = _deliver(world, payload)  # the provider closed the tab: no return
    assert resp.status_code == 200 and resp.json()["outcome"] == "processed", resp.text
    assert webhook_outcome(_event_id(payload)) == ("processed", "completed")
    captures = world["paypal"].calls("POST", f"/v2/checkout/orders/{order_id}/capture")
    assert [c.headers["PayPal-Request-Id"] for c in captures] == [f"deposit-{deposit['id']}-capture"]
    capture_id = next(iter(world["paypal"].captures))
    expected = [("deposit", Decimal("40.00"), f"paypal:capture:{capture_id}")]
    assert [(e.type, e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == expected
    assert (deposit_row(deposit["id"]).status, deposit_row(deposit["id"]).payment_id) == ("completed", capture_id)
    # The provider comes back after all, then PayPal's capture event arrives: nothing more.
    back = _capture(world, deposit)
    assert back.status_code == 200 and back.json()["status"] == "completed" and back.json()["balance"] == "40.00"
    late = paypal_event("PAYMENT.CAPTURE.COMPLETED", world["paypal"].captures[capture_id])
    assert _deliver(world, late).status_code == 200
    assert [(e.type, e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == expected
    assert provider_row(world["payer"].provider_id).balance == Decimal("40.00")


def test_the_approved_webhook_delivered_twice_at_once_posts_one_entry(world):
    deposit = _deposit(world, "35.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    payload = _approved_event(world, order_id)
    resent = _approved_event(world, order_id)  # PayPal's own resend: another event id, same order
    barrier = threading.Barrier(4)
    answers: list = []

    def deliver(body: str) -> None:
        barrier.wait()
        answers.append(_deliver(world, body).status_code)

    threads = [threading.Thread(target=deliver, args=(body,)) for body in (payload, payload, resent, resent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert answers == [200, 200, 200, 200]
    assert [(e.type, e.amount) for e in ledger_of(world["payer"].provider_id)] == [("deposit", Decimal("35.00"))]
    assert len(world["paypal"].captures) == 1 and deposit_row(deposit["id"]).status == "completed"
    assert sorted(tuple(r) for r in rows("SELECT deliveries, outcome FROM webhook_events")) == [
        (2, "processed"),
        (2, "processed"),
    ]
    assert provider_row(world["payer"].provider_id).balance == Decimal("35.00")


def test_an_approved_event_for_an_order_not_ours_or_not_capturable_posts_nothing(world):
    stranger = paypal_event(
        "CHECKOUT.ORDER.APPROVED",
        {"id": "ORDER-NOT-OURS", "status": "APPROVED", "purchase_units": [{"custom_id": str(uuid.uuid4())}]},
        resource_type="checkout-order",
    )
    assert _deliver(world, stranger).json()["outcome"] == "ignored"
    assert webhook_outcome(_event_id(stranger)) == ("ignored", "no deposit of ours matches this event")
    assert world["paypal"].calls("POST", "/v2/checkout/orders/ORDER-NOT-OURS/capture") == []
    deposit = _deposit(world)
    order_id = deposit_row(deposit["id"]).checkout_id
    not_approved = _approved_event(world, order_id)  # PayPal refuses the capture: nothing was paid
    assert _deliver(world, not_approved).json()["outcome"] == "processed"
    assert webhook_outcome(_event_id(not_approved)) == ("processed", "not_captured:ORDER_NOT_APPROVED")
    assert deposit_row(deposit["id"]).status == "pending" and ledger_of(world["payer"].provider_id) == []


# --------------------------------------------------------------------------- a dispute resolved


def _paid_deposit(world, amount: str) -> str:
    deposit = _deposit(world, amount)
    world["paypal"].approve(deposit_row(deposit["id"]).checkout_id)
    assert _capture(world, deposit).json()["status"] == "completed"
    return next(iter(world["paypal"].captures))


def _dispute(capture_id: str, amount: str, dispute_id: str = "PP-D-7", outcome: str | None = None) -> dict:
    body = {
        "dispute_id": dispute_id,
        "status": "RESOLVED" if outcome else "OPEN",
        "dispute_amount": {"value": amount, "currency_code": "USD"},
        "disputed_transactions": [{"seller_transaction_id": capture_id}],
    }
    if outcome:
        body["dispute_outcome"] = {"outcome_code": outcome}
    return body


def test_a_dispute_won_after_its_reversal_is_credited_back_once(world):
    capture_id = _paid_deposit(world, "30.00")
    _deliver(world, paypal_event("CUSTOMER.DISPUTE.CREATED", _dispute(capture_id, "10.00")))
    assert provider_row(world["payer"].provider_id).balance == Decimal("20.00")
    won = paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "10.00", outcome="RESOLVED_SELLER_FAVOUR"))
    again = paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "10.00", outcome="RESOLVED_SELLER_FAVOUR"))
    for payload in (won, won, again):
        assert _deliver(world, payload).status_code == 200
    assert webhook_outcome(_event_id(won)) == ("processed", "restored")
    assert webhook_outcome(_event_id(again)) == ("processed", "already_restored")
    assert [(e.type, e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == [
        ("deposit", Decimal("30.00"), f"paypal:capture:{capture_id}"),
        ("debit", Decimal("10.00"), "paypal:dispute:PP-D-7"),
        ("credit", Decimal("10.00"), "paypal:dispute_won:PP-D-7"),
    ]
    assert provider_row(world["payer"].provider_id).balance == Decimal("30.00")


def test_a_won_dispute_gives_back_no_more_than_its_debit_took(world):
    capture_id = _paid_deposit(world, "30.00")
    _deliver(world, paypal_event("CUSTOMER.DISPUTE.CREATED", _dispute(capture_id, "10.00")))
    _deliver(
        world,
        paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "25.00", outcome="RESOLVED_SELLER_FAVOUR")),
    )
    assert ledger_of(world["payer"].provider_id)[-1][:3] == ("credit", Decimal("10.00"), "paypal:dispute_won:PP-D-7")
    assert provider_row(world["payer"].provider_id).balance == Decimal("30.00")


def test_a_dispute_resolved_for_the_buyer_posts_nothing(world):
    capture_id = _paid_deposit(world, "30.00")
    _deliver(world, paypal_event("CUSTOMER.DISPUTE.CREATED", _dispute(capture_id, "10.00")))
    lost = paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "10.00", outcome="RESOLVED_BUYER_FAVOUR"))
    assert _deliver(world, lost).json()["outcome"] == "processed"
    assert webhook_outcome(_event_id(lost)) == ("processed", "dispute_resolved_buyer_favour")
    assert [e.type for e in ledger_of(world["payer"].provider_id)] == ["deposit", "debit"]
    assert provider_row(world["payer"].provider_id).balance == Decimal("20.00")


def test_a_dispute_won_without_an_earlier_reversal_credits_nothing(world):
    # The provider was never debited for it (CUSTOMER.DISPUTE.CREATED never came, or
    # not yet): crediting would give it money it never lost.
    capture_id = _paid_deposit(world, "30.00")
    won = paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "10.00", outcome="RESOLVED_SELLER_FAVOUR"))
    assert _deliver(world, won).json()["outcome"] == "processed"
    assert webhook_outcome(_event_id(won)) == ("processed", "not_reversed")
    assert [e.type for e in ledger_of(world["payer"].provider_id)] == ["deposit"]
    assert provider_row(world["payer"].provider_id).balance == Decimal("30.00")


def test_a_dispute_created_event_arriving_after_the_dispute_was_won_debits_nothing(world):
    # PayPal retried CUSTOMER.DISPUTE.CREATED after the resolution was delivered: the
    # provider must not lose money for a dispute we won.
    capture_id = _paid_deposit(world, "30.00")
    won = paypal_event("CUSTOMER.DISPUTE.RESOLVED", _dispute(capture_id, "10.00", outcome="RESOLVED_SELLER_FAVOUR"))
    _deliver(world, won)
    created = paypal_event("CUSTOMER.DISPUTE.CREATED", _dispute(capture_id, "10.00"))
    assert _deliver(world, created).json()["outcome"] == "processed"
    assert webhook_outcome(_event_id(created)) == ("processed", "already_won")
    other = paypal_event("CUSTOMER.DISPUTE.CREATED", _dispute(capture_id, "5.00", dispute_id="PP-D-8"))
    _deliver(world, other)  # another dispute on the same payment is still debited
    assert [(e.type, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == [
        ("deposit", f"paypal:capture:{capture_id}"),
        ("debit", "paypal:dispute:PP-D-8"),
    ]
    assert provider_row(world["payer"].provider_id).balance == Decimal("25.00")
