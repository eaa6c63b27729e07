"""Saved card and auto-recharge (issue 17 items 1 and 2), offline against Stripe's formats.

Stripe is the only fake (tests/payments_fakes.py: the recording ``stripe.HTTPClient``
behind the real ``StripeClient``, with customers, setup-mode Checkout, SetupIntents,
PaymentMethods and off-session PaymentIntents answering as Stripe's test cards do);
webhooks are signed with ``stripe.WebhookSignature`` and sent over real HTTP.  The
balance goes down the two ways it can: the engine charging leads
(``hotlead_distribute_lead``) and a service-level debit (``ledger.adjust``)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.infra import metrics
from hotlead_app.services import catalog, ledger, notifications
from hotlead_app.services.payments import recharge, reconciliation
from tests.conftest import STRIPE_TEST_SECRET
from tests.factories import ROOFING_FIELDS, approved_lead, deposit, subscribe
from tests.integration.distribution_scenarios import QUIET_REDIS_DB
from tests.integration.payments_helpers import (
    Payer,
    ledger_of,
    one,
    outbox_tasks,
    payer,
    provider_row,
    rows,
)
from tests.integration.test_distribution_concurrency import run_in_parallel
from tests.payments_fakes import signed, stripe_event

ADMIN = admin()


@pytest.fixture
def world(db, api_server, fake_stripe):
    return {"api": api_server, "stripe": fake_stripe, "payer": payer(api_server)}


def _deliver(world, payload: str) -> httpx.Response:
    return httpx.post(
        f"{world['api']}/api/v1/webhooks/stripe",
        content=payload.encode(),
        headers=signed(payload, STRIPE_TEST_SECRET),
        timeout=30,
    )


def _save_card(world, who: Payer | None = None, card: str = "visa") -> dict:
    who = who or world["payer"]
    resp = httpx.post(f"{world['api']}/api/v1/provider/payment-methods/setup", headers=who.headers, timeout=30)
    assert resp.status_code == 200, resp.text
    session = world["stripe"].save_card(resp.json()["redirect_url"].rsplit("/", 1)[-1], card)
    delivered = _deliver(world, stripe_event("checkout.session.completed", session))
    assert delivered.status_code == 200 and delivered.json()["outcome"] == "processed", delivered.text
    return session


def _put(world, body: dict, who: Payer | None = None) -> httpx.Response:
    who = who or world["payer"]
    return httpx.put(f"{world['api']}/api/v1/provider/auto-recharge", json=body, headers=who.headers, timeout=30)


def _turn_on(world, threshold: str, amount: str, card: str = "visa") -> None:
    _save_card(world, card=card)
    resp = _put(world, {"enabled": True, "threshold": threshold, "amount": amount})
    assert resp.status_code == 200, resp.text


def _debit(provider_id: uuid.UUID, amount: str) -> None:
    ledger.adjust(provider_id=provider_id, type="debit", amount=amount, actor=ADMIN, memo="test spend")


def _recharges(provider_id: uuid.UUID) -> list:
    return rows(
        "SELECT id, seq, status, amount, payment_intent_id, failure_code, deposit_id FROM recharges "
        "WHERE provider_id = :p ORDER BY seq",
        p=provider_id,
    )


def _run_recharge_jobs() -> list[str]:
    """What the worker does with each payments.recharge job in the outbox."""
    return [recharge.charge(recharge_id=uuid.UUID(r.args["recharge_id"])) for r in outbox_tasks(jobs.PAYMENTS_RECHARGE)]


# --------------------------------------------------------------------------- saved card


def test_a_card_is_saved_through_setup_checkout_and_shown_by_brand_and_last_four(world):
    pid = world["payer"].provider_id
    session = _save_card(world)
    created = world["stripe"].calls("POST", "/v1/customers")
    assert len(created) == 1 and created[0].headers["Idempotency-Key"] == f"customer:{pid}"
    setup = world["stripe"].calls("POST", "/v1/checkout/sessions")[0].form
    assert setup["mode"] == ["setup"] and setup["customer"] == [session["customer"]]
    assert setup["payment_method_types[0]"] == ["card"]
    body = httpx.get(f"{world['api']}/api/v1/provider/auto-recharge", headers=world["payer"].headers).json()
    assert (body["brand"], body["last4"], body["enabled"]) == ("visa", "4242", False)
    assert body["card"]["exp_year"] == 2034 and body["max_recharges_per_day"] == 3
    # The card itself was read from Stripe (SetupIntent, then PaymentMethod), not from the event.
    assert world["stripe"].calls("GET", f"/v1/setup_intents/{session['setup_intent']}")
    # A second card setup reuses the customer: Stripe is asked for one customer per provider.
    again = httpx.post(f"{world['api']}/api/v1/provider/payment-methods/setup", headers=world["payer"].headers)
    assert again.status_code == 200
    assert len(world["stripe"].calls("POST", "/v1/customers")) == 1
    assert (
        one("SELECT stripe_customer_id FROM billing_profiles WHERE provider_id = :p", p=pid)[0] == (session["customer"])
    )


def test_a_new_card_replaces_the_saved_one_which_is_detached(world):
    _save_card(world)
    first = one("SELECT card_payment_method_id FROM billing_profiles")[0]
    _save_card(world, card="needs_auth")
    body = httpx.get(f"{world['api']}/api/v1/provider/auto-recharge", headers=world["payer"].headers).json()
    assert body["last4"] == "3184"
    assert world["stripe"].calls("POST", f"/v1/payment_methods/{first}/detach")
    assert world["stripe"].payment_methods[first]["customer"] is None


def test_setup_and_payment_intent_events_that_are_not_ours_are_ignored(world):
    world["stripe"].payment_methods["pm_x"] = {
        "id": "pm_x",
        "object": "payment_method",
        "type": "card",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 1, "exp_year": 2030},
        "customer": "cus_nobody",
    }
    stranger = {"id": "seti_x", "object": "setup_intent", "status": "succeeded", "customer": "cus_nobody"}
    world["stripe"].setup_intents["seti_x"] = {**stranger, "payment_method": "pm_x"}
    resp = _deliver(world, stripe_event("setup_intent.succeeded", stranger))
    assert resp.json()["outcome"] == "ignored"
    intent = {"id": "pi_checkout", "object": "payment_intent", "status": "succeeded", "metadata": {}}
    world["stripe"].intents["pi_checkout"] = intent
    resp = _deliver(world, stripe_event("payment_intent.succeeded", intent))
    assert resp.json()["outcome"] == "ignored"
    assert rows("SELECT provider_id FROM billing_profiles WHERE card_payment_method_id IS NOT NULL") == []
    assert rows("SELECT id FROM ledger_entries") == []


@pytest.mark.parametrize(
    "body,field",
    [
        ({"enabled": True, "threshold": "-1.00", "amount": "50.00"}, "threshold"),
        ({"enabled": True, "threshold": "20.00", "amount": "5.00"}, "amount"),
        ({"enabled": True, "threshold": "20.00", "amount": "10000.01"}, "amount"),
        ({"enabled": True, "threshold": "20.00", "amount": 50.5}, "amount"),
        ({"enabled": True, "threshold": "20.00"}, "amount"),
        ({"enabled": True, "amount": "50.00"}, "threshold"),
        ({"enabled": "yes", "threshold": "20.00", "amount": "50.00"}, "enabled"),
    ],
)
def test_bad_auto_recharge_settings_are_refused_naming_the_field(world, body, field):
    _save_card(world)
    before = rows("SELECT recharge_enabled, recharge_threshold, recharge_amount FROM billing_profiles")
    resp = _put(world, body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "invalid_input" and field in resp.json()["error"]["details"]
    assert rows("SELECT recharge_enabled, recharge_threshold, recharge_amount FROM billing_profiles") == before


def test_auto_recharge_needs_a_saved_card(world):
    resp = _put(world, {"enabled": True, "threshold": "20.00", "amount": "50.00"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "card_required"
    assert rows("SELECT provider_id FROM billing_profiles") == []


def test_removing_the_card_turns_auto_recharge_off_and_detaches_it_at_stripe(world):
    _turn_on(world, "20.00", "50.00")
    method_id = one("SELECT card_payment_method_id FROM billing_profiles")[0]
    resp = httpx.delete(f"{world['api']}/api/v1/provider/payment-methods", headers=world["payer"].headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["card"] is None and resp.json()["enabled"] is False
    assert world["stripe"].calls("POST", f"/v1/payment_methods/{method_id}/detach")
    assert world["stripe"].payment_methods[method_id]["customer"] is None
    again = httpx.delete(f"{world['api']}/api/v1/provider/payment-methods", headers=world["payer"].headers)
    assert again.status_code == 404


# --------------------------------------------------------------------------- the recharge


def test_a_debit_below_the_threshold_starts_one_recharge_in_its_own_transaction(world):
    pid = world["payer"].provider_id
    deposit(pid, "100.00")
    _turn_on(world, "50.00", "100.00")
    _debit(pid, "40.00")  # 60.00: still above
    assert _recharges(pid) == []
    _debit(pid, "20.00")  # 40.00: below -> one recharge, its job in the outbox, Stripe not called yet
    _debit(pid, "5.00")  # 35.00: one is in flight already
    (started,) = _recharges(pid)
    assert (started.seq, started.status, started.amount) == (1, "pending", Decimal("100.00"))
    assert len(outbox_tasks(jobs.PAYMENTS_RECHARGE)) == 1
    assert world["stripe"].calls("POST", "/v1/payment_intents") == []
    assert one("SELECT status, amount FROM deposits WHERE id = :d", d=started.deposit_id) == ("pending", 100)

    assert _run_recharge_jobs() == ["completed"]
    (sent,) = world["stripe"].calls("POST", "/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == f"recharge:{pid}:1"
    assert (sent.form["confirm"], sent.form["off_session"], sent.form["amount"]) == (["true"], ["true"], ["10000"])
    assert sent.form["metadata[recharge_id]"] == [str(started.id)]
    (done,) = _recharges(pid)
    assert done.status == "succeeded"
    assert ledger_of(pid)[-1].idempotency_key == f"stripe:payment_intent:{done.payment_intent_id}"
    assert provider_row(pid).balance == Decimal("135.00")
    # The job again (a redelivered message): nothing charged or posted twice.
    assert _run_recharge_jobs() == ["already_succeeded"]
    assert len(world["stripe"].intents) == 1 and len(ledger_of(pid)) == 5


def test_its_webhook_delivered_five_times_in_parallel_posts_one_deposit(world):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "25.00")
    world["stripe"].intent_status = "processing"  # the charge is not settled when the job ends
    _debit(pid, "20.00")
    assert _run_recharge_jobs() == ["waiting:processing"]
    (pending,) = _recharges(pid)
    assert pending.status == "processing" and provider_row(pid).balance == Decimal("40.00")
    intent = world["stripe"].settle_intent(pending.payment_intent_id)
    payload = stripe_event("payment_intent.succeeded", intent)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: _deliver(world, payload), range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate"] * 4 + ["processed"]
    deposits_posted = [e for e in ledger_of(pid) if e.idempotency_key.startswith("stripe:payment_intent:")]
    assert [(e.type, e.amount) for e in deposits_posted] == [("deposit", Decimal("25.00"))]
    assert provider_row(pid).balance == Decimal("65.00") and _recharges(pid)[0].status == "succeeded"


def test_a_charge_crossing_the_threshold_starts_one_payment_intent_with_eight_workers(world, db, redis_server):
    """Eight worker processes (the pattern of test_distribution_concurrency.py: spawned,
    each with its own engine and connections, released together) distribute eight leads
    of eight niches, each charging the same provider: the charge that takes the balance
    below the threshold starts the one recharge, the others see it in flight."""
    pid = world["payer"].provider_id
    slugs = []
    for i in range(8):
        niche = catalog.create_niche(
            slug=f"race-{i}-{uuid.uuid4().hex[:6]}", name=f"Race {i}", fields=ROOFING_FIELDS, actor=ADMIN
        )
        level = catalog.create_level(
            niche_id=niche.id, name="Solo", price_per_lead="10.00", max_providers=1, priority_order=1, actor=ADMIN
        )
        subscribe(pid, level.id)
        slugs.append(niche.slug)
    deposit(pid, "100.00")
    _turn_on(world, "75.00", "50.00")
    lead_ids = [approved_lead(slug) for slug in slugs]
    reports = run_in_parallel(db, redis_server.url(QUIET_REDIS_DB), lead_ids)
    assert [errors for _seed, _outcomes, errors in reports] == [[]] * 8
    won = [lead for _seed, outcomes, _ in reports for lead, outcome in outcomes if outcome == "distributed"]
    assert sorted(won) == sorted(str(lead) for lead in lead_ids)  # each lead distributed once, by some worker
    assert provider_row(pid).balance == Decimal("20.00")
    (started,) = _recharges(pid)
    assert started.status == "pending" and started.seq == 1
    jobs_written = outbox_tasks(jobs.PAYMENTS_RECHARGE)
    assert len(jobs_written) == 1
    # Two workers run the job at once (a redelivered message): one PaymentIntent.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: recharge.charge(recharge_id=started.id), range(2)))
    assert "completed" in results
    assert len(world["stripe"].intents) == 1
    keys = {r.headers["Idempotency-Key"] for r in world["stripe"].calls("POST", "/v1/payment_intents")}
    assert keys == {f"recharge:{pid}:1"}
    assert provider_row(pid).balance == Decimal("70.00")


@pytest.mark.parametrize("card,code", [("declining", "card_declined"), ("needs_auth", "authentication_required")])
def test_a_declined_or_authentication_required_charge_turns_auto_recharge_off_with_emails(world, card, code):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "25.00", card=card)
    alerts = metrics.ADMIN_ALERTS.labels("recharge_failed")._value.get()
    _debit(pid, "20.00")
    assert _run_recharge_jobs() == [f"failed:{code}"]
    (failed,) = _recharges(pid)
    assert (failed.status, failed.failure_code) == ("failed", code)
    assert failed.payment_intent_id in world["stripe"].intents
    assert one("SELECT status, failure_reason FROM deposits WHERE id = :d", d=failed.deposit_id) == (
        "failed",
        f"recharge:{code}",
    )
    settings = httpx.get(f"{world['api']}/api/v1/provider/auto-recharge", headers=world["payer"].headers).json()
    assert settings["enabled"] is False and settings["turned_off_because"] == code
    assert provider_row(pid).balance == Decimal("40.00")
    assert not [e for e in ledger_of(pid) if e.idempotency_key.startswith("stripe:")]
    # The provider is emailed a link to pay on-session; admins are alerted (email + metric).
    (provider_job,) = outbox_tasks(jobs.EMAIL_RECHARGE_FAILED)
    composed = notifications.compose_recharge_failed(recharge_id=uuid.UUID(provider_job.args["recharge_id"]))
    assert composed is not None and composed.to_address == world["payer"].email
    body = one("SELECT body_text FROM email_messages WHERE id = :i", i=composed.id)[0]
    assert "/provider/funds" in body and "Auto-recharge is now off" in body
    (alert,) = [r for r in outbox_tasks(jobs.EMAIL_ADMIN_ALERT) if r.args["subject"] == "Auto-recharge failed"]
    assert alert.args["reason"] == code and alert.args["provider_id"] == str(pid)
    assert metrics.ADMIN_ALERTS.labels("recharge_failed")._value.get() == alerts + 1
    # Off means off: the next decrease starts nothing.
    _debit(pid, "5.00")
    assert len(_recharges(pid)) == 1


def test_a_payment_failed_webhook_turns_auto_recharge_off_once(world):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "25.00")
    world["stripe"].intent_status = "processing"
    _debit(pid, "20.00")
    assert _run_recharge_jobs() == ["waiting:processing"]
    (open_one,) = _recharges(pid)
    payload = stripe_event("payment_intent.payment_failed", world["stripe"].fail_intent(open_one.payment_intent_id))
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: _deliver(world, payload), range(3)))
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate", "duplicate", "processed"]
    assert (_recharges(pid)[0].status, _recharges(pid)[0].failure_code) == ("failed", "card_declined")
    assert one("SELECT recharge_enabled FROM billing_profiles WHERE provider_id = :p", p=pid)[0] is False
    assert len(outbox_tasks(jobs.EMAIL_RECHARGE_FAILED)) == 1
    assert provider_row(pid).balance == Decimal("40.00")


def test_the_daily_limit_holds(world):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "20.00")
    for _ in range(3):
        _debit(pid, "20.00")  # 40.00 -> a recharge brings it back to 60.00
        (open_one,) = [r for r in _recharges(pid) if r.status == "pending"]
        assert recharge.charge(recharge_id=open_one.id) == "completed"
    assert provider_row(pid).balance == Decimal("60.00")
    _debit(pid, "20.00")  # a fourth time today: no recharge
    assert [r.status for r in _recharges(pid)] == ["succeeded"] * 3
    assert [r.seq for r in _recharges(pid)] == [1, 2, 3]
    assert provider_row(pid).balance == Decimal("40.00")
    assert len(world["stripe"].intents) == 3


def test_the_daily_limit_is_the_setting(world, monkeypatch):
    from tests.conftest import point_settings_at

    monkeypatch.setenv("HOTLEAD_MAX_RECHARGES_PER_DAY", "1")
    point_settings_at()  # new settings, new connections: the engine reads the new limit
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "20.00")
    _debit(pid, "20.00")
    assert _run_recharge_jobs() == ["completed"]
    _debit(pid, "20.00")  # a second one today: over the limit of 1
    assert [r.status for r in _recharges(pid)] == ["succeeded"]
    body = httpx.get(f"{world['api']}/api/v1/provider/auto-recharge", headers=world["payer"].headers).json()
    assert body["max_recharges_per_day"] == 1


def test_an_inactive_provider_is_never_recharged(world):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "20.00")
    catalog.set_provider_status(provider_id=pid, status="inactive", actor=ADMIN, memo="paused by an admin")
    _debit(pid, "20.00")
    assert _recharges(pid) == [] and outbox_tasks(jobs.PAYMENTS_RECHARGE) == []
    catalog.set_provider_status(provider_id=pid, status="active", actor=ADMIN)
    _debit(pid, "5.00")  # active again: the next decrease below the threshold starts one
    assert [r.status for r in _recharges(pid)] == ["pending"]


def test_reconciliation_credits_a_succeeded_payment_intent_whose_webhook_never_came(world):
    pid = world["payer"].provider_id
    deposit(pid, "60.00")
    _turn_on(world, "50.00", "30.00")
    world["stripe"].intent_status = "processing"
    _debit(pid, "20.00")
    _run_recharge_jobs()
    (open_one,) = _recharges(pid)
    world["stripe"].settle_intent(open_one.payment_intent_id)
    assert reconciliation.run().applied == []  # too young: the webhook may still come
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE recharges SET created_at = created_at - interval '11 minutes' WHERE id = :r"),
            {"r": open_one.id},
        )
    report = reconciliation.run()
    assert report.applied == [f"stripe:{open_one.payment_intent_id}"]
    assert report.issues == []
    assert reconciliation.run().applied == []
    assert _recharges(pid)[0].status == "succeeded"
    assert provider_row(pid).balance == Decimal("70.00")
    assert [e.idempotency_key for e in ledger_of(pid)].count(f"stripe:payment_intent:{open_one.payment_intent_id}") == 1
