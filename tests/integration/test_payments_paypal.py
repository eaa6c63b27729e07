"""PayPal deposits through paypal-server-sdk (Orders v2) with a fake ``requests``
adapter at the HTTP boundary; webhooks through the verifier (injected, or the real
verify-webhook-signature call against the fake)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import httpx
import pytest

from hotlead_app.services import ledger
from hotlead_app.services.payments import paypal_gateway
from tests.integration.payments_helpers import deposit_row, ledger_of, one, payer, provider_row, rows
from tests.payments_fakes import paypal_event


@pytest.fixture
def world(db, api_server, fake_paypal):
    return {"api": api_server, "paypal": fake_paypal, "payer": payer(api_server)}


def _deposit(world, amount="30.00") -> dict:
    resp = httpx.post(f"{world['api']}/api/v1/provider/deposits", json={"method": "paypal", "amount": amount},
                      headers=world["payer"].headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _capture(world, deposit: dict) -> httpx.Response:
    return httpx.post(f"{world['api']}/api/v1/provider/deposits/{deposit['id']}/capture",
                      headers=world["payer"].headers, timeout=30)


def _deliver(world, payload: str, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{world['api']}/api/v1/webhooks/paypal", content=payload.encode(),
                      headers=headers if headers is not None else world["paypal"].sign(payload), timeout=30)


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
        ("deposit", Decimal("30.00"), f"paypal:capture:{capture_id}")]
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
    refund = {"id": "REFUND-1", "status": "COMPLETED", "amount": {"value": "30.00", "currency_code": "USD"},
              "links": [{"rel": "up", "href": f"https://api.paypal.test/v2/payments/captures/{capture_id}"}]}
    payload = paypal_event("PAYMENT.CAPTURE.REFUNDED", refund)
    _deliver(world, payload)
    _deliver(world, payload)
    provider = provider_row(world["payer"].provider_id)
    assert provider.balance == Decimal("-25.00")
    assert (provider.status, provider.status_reason) == ("inactive", "payment_reversed")
    assert ledger_of(world["payer"].provider_id)[-1].idempotency_key == "paypal:refund:REFUND-1"
    assert len(rows("SELECT id FROM outbox WHERE task = 'email.admin_alert'")) == 1


def test_a_dispute_debits_the_deposit(world):
    deposit = _deposit(world, "30.00")
    world["paypal"].approve(deposit_row(deposit["id"]).checkout_id)
    _capture(world, deposit)
    capture_id = next(iter(world["paypal"].captures))
    dispute = {"dispute_id": "PP-D-1", "dispute_amount": {"value": "10.00", "currency_code": "USD"},
               "disputed_transactions": [{"seller_transaction_id": capture_id}]}
    _deliver(world, paypal_event("CUSTOMER.DISPUTE.CREATED", dispute))
    assert provider_row(world["payer"].provider_id).balance == Decimal("20.00")
    assert ledger_of(world["payer"].provider_id)[-1].idempotency_key == "paypal:dispute:PP-D-1"


@pytest.mark.parametrize("body", [b"\xff\xfe not text", b"not json", "{}".encode("utf-16"), b'{"no": "id"}'])
def test_garbage_bodies_are_400_and_write_nothing(world, body):
    with_headers = _deliver(world, "x", world["paypal"].sign(body.decode("latin-1")))
    assert with_headers.status_code == 400
    paypal_gateway.use_verifier(lambda headers, raw: True)  # even a verifier that lets everything through
    resp = httpx.post(f"{world['api']}/api/v1/webhooks/paypal", content=body,
                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert rows("SELECT id FROM webhook_events") == []
