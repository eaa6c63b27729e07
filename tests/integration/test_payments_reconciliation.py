"""Reconciliation: the processors' completed payments against the deposits."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

import httpx
import pytest

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.services.payments import reconciliation
from tests.conftest import STRIPE_TEST_SECRET
from tests.integration.payments_helpers import (
    PASSWORD,
    age_deposit,
    deposit_row,
    ledger_of,
    one,
    payer,
    provider_row,
    rows,
)
from tests.payments_fakes import signed, stripe_event


@pytest.fixture
def world(db, api_server, fake_stripe, fake_paypal):
    return {"api": api_server, "stripe": fake_stripe, "paypal": fake_paypal, "payer": payer(api_server)}


def _deposit(world, method="stripe", amount="25.00") -> dict:
    resp = httpx.post(
        f"{world['api']}/api/v1/provider/deposits",
        json={"method": method, "amount": amount},
        headers=world["payer"].headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def _issues(kind: str | None = None) -> list:
    sql = (
        "SELECT kind, processor, processor_reference, expected_amount, actual_amount, status FROM reconciliation_issues"
    )
    return rows(sql + (" WHERE kind = :k" if kind else ""), k=kind)


def test_a_stripe_payment_whose_webhook_never_came_is_applied_once(world):
    deposit = _deposit(world, amount="25.00")
    session_id = deposit_row(deposit["id"]).checkout_id
    session = world["stripe"].pay(session_id)
    first = reconciliation.run()
    second = reconciliation.run()
    assert first.applied == [f"stripe:{session_id}"] and second.applied == []
    assert [(e.type, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == [
        ("deposit", f"stripe:checkout:{session_id}")
    ]
    assert deposit_row(deposit["id"]).status == "completed"
    # The webhook arriving late changes nothing.
    payload = stripe_event("checkout.session.completed", session)
    httpx.post(f"{world['api']}/api/v1/webhooks/stripe", content=payload, headers=signed(payload, STRIPE_TEST_SECRET))
    assert len(ledger_of(world["payer"].provider_id)) == 1
    assert _issues() == []


def test_a_paypal_capture_whose_webhook_never_came_is_applied_once(world):
    deposit = _deposit(world, method="paypal", amount="60.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    capture = world["paypal"].capture_now(order_id)
    assert reconciliation.run().applied == [f"paypal:{capture['id']}"]
    assert reconciliation.run().applied == []
    assert [(e.type, e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)] == [
        ("deposit", Decimal("60.00"), f"paypal:capture:{capture['id']}")
    ]


def test_pending_paypal_orders_are_read_and_an_approved_or_missed_one_completed(world):
    fake = world["paypal"]

    def pending(amount: str, *, age: int | None = 11) -> tuple[str, str]:
        deposit = _deposit(world, method="paypal", amount=amount)
        if age:
            age_deposit(deposit["id"], age)
        return deposit["id"], deposit_row(deposit["id"]).checkout_id

    approved, approved_order = pending("21.00")  # approved, the provider never came back
    fake.approve(approved_order)
    fresh, fresh_order = pending("22.00", age=None)  # approved seconds ago: its return may still come
    fake.approve(fresh_order)
    created, created_order = pending("23.00")
    fake.orders[created_order]["status"] = "CREATED"  # never approved
    waiting, _ = pending("24.00")  # PAYER_ACTION_REQUIRED
    missed, missed_order = pending("26.00")  # captured at PayPal, we missed it and Search lags
    fake.approve(missed_order)
    missed_capture = fake.capture_now(missed_order)["id"]
    fake.search_lag.add(missed_capture)

    report = reconciliation.run()
    approved_capture = next(
        c for c, cap in fake.captures.items() if cap["supplementary_data"]["related_ids"]["order_id"] == approved_order
    )
    assert sorted(report.applied) == sorted([f"paypal:{approved_capture}", f"paypal:{missed_capture}"])
    assert report.failures == [] and _issues() == []
    assert [c.headers["PayPal-Request-Id"] for c in fake.requests if c.path.endswith("/capture")] == [
        f"deposit-{approved}-capture"
    ]
    assert [deposit_row(d).status for d in (approved, fresh, created, waiting, missed)] == [
        "completed",
        "pending",
        "pending",
        "pending",
        "completed",
    ]
    assert sorted((e.amount, e.idempotency_key) for e in ledger_of(world["payer"].provider_id)) == [
        (Decimal("21.00"), f"paypal:capture:{approved_capture}"),
        (Decimal("26.00"), f"paypal:capture:{missed_capture}"),
    ]
    # Run again, and the provider's return arriving late: nothing more.
    assert reconciliation.run().applied == []
    late = httpx.post(f"{world['api']}/api/v1/provider/deposits/{approved}/capture", headers=world["payer"].headers)
    assert late.status_code == 200 and late.json()["status"] == "completed"
    assert len(ledger_of(world["payer"].provider_id)) == 2
    assert provider_row(world["payer"].provider_id).balance == Decimal("47.00")


def test_a_pending_paypal_order_that_cannot_be_read_is_logged_and_the_run_goes_on(world, caplog):
    broken = _deposit(world, method="paypal", amount="20.00")
    good = _deposit(world, method="paypal", amount="30.00")
    for deposit in (broken, good):
        world["paypal"].approve(deposit_row(deposit["id"]).checkout_id)
        age_deposit(deposit["id"], 30)
    broken_order = deposit_row(broken["id"]).checkout_id
    world["paypal"].failing_orders.add(broken_order)
    with caplog.at_level(logging.ERROR):
        report = reconciliation.run()
    assert len(report.failures) == 1 and broken_order in report.failures[0]
    assert any(broken_order in r.getMessage() for r in caplog.records)
    assert len(report.applied) == 1 and deposit_row(good["id"]).status == "completed"
    assert deposit_row(broken["id"]).status == "pending"
    world["paypal"].failing_orders.clear()
    assert len(reconciliation.run().applied) == 1 and deposit_row(broken["id"]).status == "completed"
    assert provider_row(world["payer"].provider_id).balance == Decimal("50.00")


def test_mismatches_are_recorded_once_and_nothing_is_posted(world):
    wrong = _deposit(world, amount="25.00")
    world["stripe"].pay(deposit_row(wrong["id"]).checkout_id, amount_cents=2400)
    stranger = world["stripe"].pay(
        world["stripe"]._create_session(
            {
                "client_reference_id": [str(uuid.uuid4())],
                "line_items[0][price_data][unit_amount]": ["1500"],
                "line_items[0][price_data][currency]": ["usd"],
            },
            {},
        )["id"]
    )
    pp = _deposit(world, method="paypal", amount="30.00")
    pp_order = deposit_row(pp["id"]).checkout_id
    world["paypal"].approve(pp_order)
    world["paypal"].capture_now(pp_order, value="35.00")
    for _ in range(2):
        reconciliation.run()
    found = sorted((i.kind, i.processor, i.expected_amount, i.actual_amount) for i in _issues())
    assert found == [
        ("amount_mismatch", "paypal", Decimal("30.00"), Decimal("35.00")),
        ("amount_mismatch", "stripe", Decimal("25.00"), Decimal("24.00")),
        ("missing_deposit", "stripe", None, Decimal("15.00")),
    ]
    assert (
        one("SELECT processor_reference FROM reconciliation_issues WHERE kind = 'missing_deposit'")[0] == stranger["id"]
    )
    assert ledger_of(world["payer"].provider_id) == []
    assert deposit_row(wrong["id"]).status == "pending"


def test_a_completed_deposit_the_processor_does_not_list_is_reported(world):
    deposit = _deposit(world, amount="25.00")
    session_id = deposit_row(deposit["id"]).checkout_id
    reconciliation.run()  # nothing paid yet: nothing to say
    assert _issues() == []
    world["stripe"].pay(session_id)
    reconciliation.run()
    del world["stripe"].sessions[session_id]  # Stripe no longer lists it
    reconciliation.run()
    assert [(i.kind, i.processor_reference, i.expected_amount) for i in _issues()] == [
        ("missing_processor_record", session_id, Decimal("25.00"))
    ]


def test_one_failing_item_is_logged_and_the_run_goes_on(world, caplog):
    good, bad = _deposit(world), _deposit(world)
    world["stripe"].pay(deposit_row(good["id"]).checkout_id)
    bad_session = deposit_row(bad["id"]).checkout_id
    world["stripe"].pay(bad_session)
    world["stripe"].sessions[bad_session]["amount_total"] = "not cents"
    with caplog.at_level(logging.ERROR):
        report = reconciliation.run()
    assert report.applied == [f"stripe:{deposit_row(good['id']).checkout_id}"]
    assert len(report.failures) == 1 and bad_session in report.failures[0]
    assert any(bad_session in r.getMessage() for r in caplog.records)
    assert deposit_row(good["id"]).status == "completed"


def test_a_processor_that_cannot_be_listed_does_not_stop_the_other(world):
    deposit = _deposit(world, method="paypal", amount="20.00")
    order_id = deposit_row(deposit["id"]).checkout_id
    world["paypal"].approve(order_id)
    world["paypal"].capture_now(order_id)
    world["stripe"].fail_with = 500
    report = reconciliation.run()
    assert report.failures and report.failures[0].startswith("stripe")
    assert len(report.applied) == 1 and report.applied[0].startswith("paypal:")


def test_admins_list_and_resolve_issues_over_the_api(world):
    from hotlead_app.models import UserRole
    from hotlead_app.services import accounts
    from tests.factories import unique_email

    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    token = httpx.post(f"{world['api']}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for cents in (1100, 1200, 1300):
        world["stripe"].pay(
            world["stripe"]._create_session(
                {
                    "client_reference_id": [str(uuid.uuid4())],
                    "line_items[0][price_data][unit_amount]": [str(cents)],
                    "line_items[0][price_data][currency]": ["usd"],
                },
                {},
            )["id"]
        )
    reconciliation.run()
    url = f"{world['api']}/api/v1/admin/reconciliation-issues"
    first = httpx.get(url, params={"limit": 2}, headers=headers).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = httpx.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    issue = first["items"][0]
    assert issue["kind"] == "missing_deposit" and issue["status"] == "open"
    done = httpx.post(f"{url}/{issue['id']}/resolve", json={"note": "refunded by hand"}, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    again = httpx.post(f"{url}/{issue['id']}/resolve", json={}, headers=headers)
    assert again.status_code == 409
    assert len(httpx.get(url, headers=headers).json()["items"]) == 2
    assert len(httpx.get(url, params={"status": "resolved"}, headers=headers).json()["items"]) == 1
    assert httpx.get(url, params={"cursor": "garbage"}, headers=headers).status_code == 400
    malformed = httpx.get(url, params={"cursor": "WyJub3QgYSB0aW1lIiwieCJd"}, headers=headers)  # ["not a time","x"]
    assert malformed.status_code == 400 and malformed.json()["error"]["details"] == {"cursor": "invalid"}
    assert httpx.get(url, headers=world["payer"].headers).status_code == 403
    audit = one("SELECT action, admin_only_memo FROM audit_logs WHERE entity_type = 'reconciliation_issue'")
    assert tuple(audit) == ("resolved", "refunded by hand")


def test_the_beat_schedule_runs_reconciliation_hourly_by_default():
    from hotlead_app.infra.queue import get_celery

    entry = get_celery().conf.beat_schedule["payments-reconcile"]
    assert entry["task"] == jobs.PAYMENTS_RECONCILE and entry["schedule"] == 3600.0
