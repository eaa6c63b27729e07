"""The ledger service: idempotent posts, no overdraft under concurrency, Decimal only,
admin adjustments, the balance rules (auto-pause, auto-deactivation, resume) and
processor reversals, on a real PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import create_engine, select

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.domain.errors import Conflict, InsufficientBalance, InvalidInput
from hotlead_app.models import AuditLog, LedgerEntry, OutboxMessage, ProviderSubscription
from hotlead_app.services import catalog, ledger
from tests.factories import ADMIN, deposit, make_market, make_provider

BALANCE_EMAIL = jobs.EMAIL_PROVIDER_BALANCE_RULES
ADMIN_ALERT = jobs.EMAIL_ADMIN_ALERT

# --------------------------------------------------------------------------- helpers


def entries(provider_id: uuid.UUID) -> list[LedgerEntry]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(LedgerEntry).where(LedgerEntry.provider_id == provider_id).order_by(LedgerEntry.seq)
            ).all()
        )


def entries_with_key(key: str) -> list[LedgerEntry]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).all())


def audit_rows(entity_id: uuid.UUID, action: str | None = None) -> list[AuditLog]:
    with unit_of_work() as uow:
        query = select(AuditLog).where(AuditLog.entity_id == entity_id).order_by(AuditLog.seq)
        if action is not None:
            query = query.where(AuditLog.action == action)
        return list(uow.session.exec(query).all())


def audit_count() -> int:
    with unit_of_work() as uow:
        return uow.session.exec(select(func.count()).select_from(AuditLog)).one()


def outbox_args(task: str, provider_id: uuid.UUID | None = None) -> list[dict]:
    with unit_of_work() as uow:
        query = select(OutboxMessage).where(OutboxMessage.task == task).order_by(OutboxMessage.created_at)
        if provider_id is not None:
            query = query.where(OutboxMessage.args["provider_id"].astext == str(provider_id))
        return [m.args for m in uow.session.exec(query).all()]


def subscription(sub_id: uuid.UUID) -> ProviderSubscription:
    with unit_of_work() as uow:
        return uow.session.get(ProviderSubscription, sub_id)


def status_of(provider_id: uuid.UUID) -> tuple[str, str | None]:
    p = catalog.get_provider(ADMIN, provider_id=provider_id)
    return p.status.value, p.status_reason


def balance_of(provider_id: uuid.UUID) -> Decimal:
    return catalog.get_provider(ADMIN, provider_id=provider_id).balance


def signed_sum(provider_id: uuid.UUID) -> Decimal:
    sign = {"deposit": 1, "refund": 1, "credit": 1, "charge": -1, "debit": -1}
    return sum((sign[e.type.value] * e.amount for e in entries(provider_id)), Decimal("0.00"))


def debit(provider_id: uuid.UUID, amount: str) -> ledger.Posted:
    return ledger.adjust(provider_id=provider_id, type="debit", amount=amount, actor=ADMIN)


def in_parallel(db_url: str, n: int, work: Callable[[int, object], object]) -> list[object]:
    """Run ``work(i, uow)`` in ``n`` threads, each in its own transaction on its own
    connection, all opened first and released together by a barrier.  Returns each
    thread's result or the exception it raised."""
    engine = create_engine(db_url, pool_size=n, max_overflow=0)
    barrier = threading.Barrier(n, timeout=60)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            with unit_of_work(engine) as uow:
                uow.session.connection()  # hold a real connection before the start
                barrier.wait()
                results[i] = work(i, uow)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def tiers(db):
    """One provider holding 30.00, subscribed to Premium (25.00) and Basic (10.00)."""
    market = make_market(levels=[("Premium", "25.00", 1), ("Basic", "10.00", 2)], providers=1, balance="30.00")
    premium, basic = market.subscriptions
    assert subscription(premium.id).competition_level_id == market.level("Premium").id
    return market.providers[0].id, premium.id, basic.id


# --------------------------------------------------------------------------- idempotency


def test_posting_the_same_fact_twice_writes_one_entry(db):
    provider_id = make_provider().id
    first = ledger.post(provider_id=provider_id, type="deposit", amount="50.00", key="stripe:checkout:cs_1")
    again = ledger.post(provider_id=provider_id, type="deposit", amount=Decimal("50"), key="stripe:checkout:cs_1")
    assert (first.created, again.created) == (True, False)
    assert again.entry.id == first.entry.id
    assert len(entries_with_key("stripe:checkout:cs_1")) == 1
    assert balance_of(provider_id) == Decimal("50.00")


@pytest.mark.parametrize("change", ["amount", "type", "provider"])
def test_reusing_a_key_for_a_different_entry_is_a_conflict(db, change):
    provider_id = make_provider().id
    other_id = make_provider().id
    ledger.post(provider_id=provider_id, type="deposit", amount="50.00", key="stripe:checkout:cs_2")
    kwargs = {"provider_id": provider_id, "type": "deposit", "amount": "50.00", "key": "stripe:checkout:cs_2"}
    kwargs |= {"amount": {"amount": "49.99"}, "type": {"type": "credit"}, "provider": {"provider_id": other_id}}[change]
    with pytest.raises(Conflict):
        ledger.post(**kwargs)
    assert len(entries_with_key("stripe:checkout:cs_2")) == 1
    assert (balance_of(provider_id), balance_of(other_id)) == (Decimal("50.00"), Decimal("0.00"))


def test_twenty_connections_posting_the_same_key_at_once_write_one_entry(db):
    provider_id = make_provider().id
    key = "stripe:checkout:cs_race"

    results = in_parallel(
        db, 20, lambda i, uow: ledger.post(provider_id=provider_id, type="deposit", amount="10.00", key=key, uow=uow)
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert sorted(r.created for r in results) == [False] * 19 + [True]
    assert len({r.entry.id for r in results}) == 1
    assert len(entries_with_key(key)) == 1
    assert balance_of(provider_id) == Decimal("10.00")
    assert ledger.balance_drift() == []


def test_twenty_concurrent_charges_and_debits_never_overdraw(db):
    provider_id = make_provider(balance="100.00").id

    def spend(i: int, uow) -> ledger.Posted:
        return ledger.post(
            provider_id=provider_id, type="charge" if i % 2 else "debit", amount="7.00", key=f"race:spend:{i}", uow=uow
        )

    results = in_parallel(db, 20, spend)

    posted = [r for r in results if isinstance(r, ledger.Posted)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(posted) == 14  # 14 x 7.00 = 98.00 fits in 100.00, a 15th does not
    assert all(isinstance(r, InsufficientBalance) for r in refused) and len(refused) == 6
    # Serialized: each spend saw the one before it; the balances walk down by 7.00.
    assert sorted(p.entry.balance_after for p in posted) == [Decimal("100.00") - 7 * k for k in range(14, 0, -1)]
    assert balance_of(provider_id) == Decimal("2.00") == signed_sum(provider_id)
    assert all(e.balance_after >= 0 for e in entries(provider_id))
    assert ledger.balance_drift() == []


# --------------------------------------------------------------------------- Decimal only


@pytest.mark.parametrize("operation", ["post", "adjust", "reverse_deposit"])
def test_a_float_amount_is_refused(db, operation):
    provider_id = make_provider(balance="20.00").id
    call = {
        "post": lambda: ledger.post(provider_id=provider_id, type="deposit", amount=12.5, key="float:1"),
        "adjust": lambda: ledger.adjust(provider_id=provider_id, type="credit", amount=12.5, actor=ADMIN),
        "reverse_deposit": lambda: ledger.reverse_deposit(provider_id=provider_id, amount=12.5, key="float:2"),
    }[operation]
    audits = audit_count()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert "amount" in caught.value.details
    assert len(entries(provider_id)) == 1
    assert audit_count() == audits
    assert balance_of(provider_id) == Decimal("20.00")


@pytest.mark.parametrize("amount", ["12.505", "0", "-1.00", "abc", True, None])
def test_amounts_that_are_not_positive_cents_are_refused(db, amount):
    provider_id = make_provider().id
    with pytest.raises(InvalidInput):
        ledger.post(provider_id=provider_id, type="deposit", amount=amount, key="bad:amount")
    assert entries(provider_id) == []


def test_cents_add_up_exactly_as_decimals(db):
    provider_id = make_provider().id
    for i in range(3):
        posted = ledger.post(provider_id=provider_id, type="deposit", amount="0.10", key=f"cents:{i}")
    assert isinstance(posted.entry.amount, Decimal) and isinstance(posted.entry.balance_after, Decimal)
    assert balance_of(provider_id) == Decimal("0.30")  # 0.1 + 0.1 + 0.1 in float is 0.30000000000000004
    assert isinstance(balance_of(provider_id), Decimal)


# --------------------------------------------------------------------------- admin adjustments


def test_an_admin_debit_larger_than_the_balance_is_refused_and_writes_nothing(db):
    provider_id = make_provider(balance="20.00").id
    audits, outbox_rows = audit_count(), len(outbox_args(BALANCE_EMAIL))
    with pytest.raises(InsufficientBalance) as caught:
        debit(provider_id, "20.01")
    assert caught.value.details == {"balance": "20.00", "amount": "20.01"}
    assert [e.type.value for e in entries(provider_id)] == ["deposit"]
    assert audit_count() == audits
    assert len(outbox_args(BALANCE_EMAIL)) == outbox_rows
    assert balance_of(provider_id) == Decimal("20.00")


def test_an_admin_debit_within_the_balance_is_posted_and_audited(db):
    provider_id = make_provider(balance="20.00").id
    posted = debit(provider_id, "20.00")
    assert posted.created and posted.entry.balance_after == Decimal("0.00")
    (row,) = audit_rows(provider_id, "balance_debit")
    assert row.actor_role.value == "admin" and row.actor_id == ADMIN.id
    assert row.after_state["amount"] == "20.00" and row.after_state["balance_after"] == "0.00"
    assert balance_of(provider_id) == Decimal("0.00")


# --------------------------------------------------------------------------- balance rules


def test_a_decrease_auto_pauses_the_subscriptions_the_balance_no_longer_covers(tiers):
    provider_id, premium, basic = tiers
    posted = debit(provider_id, "10.00")  # 30.00 -> 20.00: Premium (25.00) no longer covered

    assert posted.changes == [{"subscription_id": str(premium), "change": "auto_paused"}]
    paused = subscription(premium)
    assert (paused.active, paused.pause_reason) == (False, "insufficient_balance")
    assert (subscription(basic).active, subscription(basic).pause_reason) == (True, None)
    assert status_of(provider_id) == ("active", None)
    (row,) = audit_rows(premium, "auto_paused")
    assert row.actor_role.value == "system"
    assert (row.before_state["active"], row.before_state["pause_reason"]) == (True, None)
    assert (row.after_state["active"], row.after_state["pause_reason"]) == (False, "insufficient_balance")
    assert audit_rows(basic, "auto_paused") == []
    (email,) = outbox_args(BALANCE_EMAIL, provider_id)
    assert email["changes"] == [{"subscription_id": str(premium), "change": "auto_paused"}]


def test_a_provider_with_no_active_subscription_left_becomes_auto_deactivated(tiers):
    provider_id, premium, basic = tiers
    debit(provider_id, "25.00")  # 30.00 -> 5.00: neither level is covered

    assert {s: subscription(s).pause_reason for s in (premium, basic)} == {
        premium: "insufficient_balance",
        basic: "insufficient_balance",
    }
    assert status_of(provider_id) == ("auto_deactivated", "insufficient_balance")
    (row,) = audit_rows(provider_id, "auto_deactivated")
    assert row.actor_role.value == "system"
    assert (row.before_state["status"], row.after_state["status"]) == ("active", "auto_deactivated")
    (email,) = outbox_args(BALANCE_EMAIL, provider_id)
    assert {c["change"] for c in email["changes"]} == {"auto_paused", "auto_deactivated"}


def test_a_charge_from_the_ledger_runs_the_same_rules(tiers):
    provider_id, premium, basic = tiers
    ledger.post(provider_id=provider_id, type="charge", amount="21.00", key="lead:x:charge")  # -> 9.00
    assert not subscription(premium).active and not subscription(basic).active
    assert status_of(provider_id)[0] == "auto_deactivated"


def test_a_deposit_that_covers_the_price_resumes_and_reactivates(tiers):
    provider_id, premium, basic = tiers
    debit(provider_id, "25.00")  # 5.00, both paused, auto_deactivated
    emails = len(outbox_args(BALANCE_EMAIL, provider_id))

    deposit(provider_id, "7.00")  # 12.00: Basic (10.00) is covered again, Premium is not
    assert (subscription(basic).active, subscription(basic).pause_reason) == (True, None)
    assert (subscription(premium).active, subscription(premium).pause_reason) == (False, "insufficient_balance")
    assert status_of(provider_id) == ("active", None)
    (resumed,) = audit_rows(basic, "auto_resumed")
    assert (resumed.before_state["active"], resumed.after_state["active"]) == (False, True)
    (back,) = audit_rows(provider_id, "auto_reactivated")
    assert (back.before_state["status"], back.after_state["status"]) == ("auto_deactivated", "active")

    deposit(provider_id, "13.00")  # 25.00: exactly Premium's price, which covers it
    assert (subscription(premium).active, subscription(premium).pause_reason) == (True, None)
    latest = outbox_args(BALANCE_EMAIL, provider_id)
    assert len(latest) == emails + 2
    assert latest[-1]["changes"] == [{"subscription_id": str(premium), "change": "auto_resumed"}]


def test_a_change_that_moves_nothing_queues_no_provider_email(tiers):
    provider_id, _premium, _basic = tiers
    deposit(provider_id, "5.00")
    debit(provider_id, "10.00")  # 25.00: Premium still covered
    assert outbox_args(BALANCE_EMAIL, provider_id) == []
    assert all(not rows for rows in (audit_rows(s, "auto_paused") for s in tiers[1:]))


def test_a_subscription_paused_by_its_provider_is_not_resumed_by_a_deposit(tiers):
    provider_id, premium, basic = tiers
    catalog.update_subscription(subscription_id=premium, actor=provider_actor(provider_id), active=False)
    assert subscription(premium).pause_reason == "paused_by_provider"

    debit(provider_id, "25.00")  # 5.00: Basic auto-paused, no active subscription left
    assert status_of(provider_id)[0] == "auto_deactivated"
    assert subscription(premium).pause_reason == "paused_by_provider"

    deposit(provider_id, "45.00")  # 50.00 covers both prices
    assert (subscription(basic).active, subscription(basic).pause_reason) == (True, None)
    assert (subscription(premium).active, subscription(premium).pause_reason) == (False, "paused_by_provider")
    assert audit_rows(premium, "auto_resumed") == [] and audit_rows(premium, "auto_paused") == []
    assert status_of(provider_id) == ("active", None)


def test_a_provider_whose_only_subscriptions_it_paused_itself_is_not_auto_deactivated(tiers):
    provider_id, premium, basic = tiers
    for sub in (premium, basic):
        catalog.update_subscription(subscription_id=sub, actor=provider_actor(provider_id), active=False)
    debit(provider_id, "25.00")
    assert status_of(provider_id) == ("active", None)
    assert outbox_args(BALANCE_EMAIL, provider_id) == []


def test_an_admins_inactive_is_never_changed_by_a_deposit(tiers):
    provider_id, premium, basic = tiers
    catalog.set_provider_status(provider_id=provider_id, status="inactive", actor=ADMIN)
    debit(provider_id, "25.00")  # 5.00: both subscriptions auto-paused
    assert status_of(provider_id) == ("inactive", "admin")
    assert not subscription(basic).active

    deposit(provider_id, "45.00")
    assert subscription(basic).active and subscription(premium).active
    assert status_of(provider_id) == ("inactive", "admin")
    assert audit_rows(provider_id, "auto_reactivated") == []
    assert audit_rows(provider_id, "auto_deactivated") == []


def test_an_admin_switching_off_an_auto_deactivated_provider_is_kept_after_a_deposit(tiers):
    provider_id, _premium, basic = tiers
    debit(provider_id, "25.00")
    assert status_of(provider_id)[0] == "auto_deactivated"
    catalog.set_provider_status(provider_id=provider_id, status="inactive", actor=ADMIN)

    deposit(provider_id, "45.00")
    assert subscription(basic).active
    assert status_of(provider_id) == ("inactive", "admin")


# --------------------------------------------------------------------------- processor reversals


def test_a_reversed_deposit_that_overdraws_is_posted_and_deactivates_the_provider(tiers):
    provider_id, _premium, basic = tiers  # 30.00 from one deposit
    debit(provider_id, "15.00")  # 15.00; Premium auto-paused
    alerts = len(outbox_args(ADMIN_ALERT))

    posted = ledger.reverse_deposit(
        provider_id=provider_id, amount="30.00", key="stripe:refund:re_1", memo="chargeback"
    )

    assert posted.created and posted.entry.type.value == "debit"
    assert posted.entry.balance_after == Decimal("-15.00")
    (entry,) = entries_with_key("stripe:refund:re_1")
    assert entry.is_reversal
    assert balance_of(provider_id) == Decimal("-15.00") == signed_sum(provider_id)
    assert ledger.balance_drift() == []
    assert status_of(provider_id) == ("inactive", "payment_reversed")
    (row,) = audit_rows(provider_id, "deactivated_payment_reversed")
    assert (row.before_state["status"], row.after_state["status"]) == ("active", "inactive")
    (alert,) = outbox_args(ADMIN_ALERT)[alerts:]
    assert alert["provider_id"] == str(provider_id) and alert["amount"] == "30.00"
    assert not subscription(basic).active and subscription(basic).pause_reason == "insufficient_balance"
    assert outbox_args(BALANCE_EMAIL, provider_id)[-1]["changes"] == [
        {"subscription_id": str(basic), "change": "auto_paused"}
    ]

    again = ledger.reverse_deposit(provider_id=provider_id, amount="30.00", key="stripe:refund:re_1")
    assert not again.created and again.entry.id == entry.id
    assert balance_of(provider_id) == Decimal("-15.00")
    assert len(outbox_args(ADMIN_ALERT)) == alerts + 1


def test_a_reversed_deposit_the_balance_covers_is_a_plain_debit(tiers):
    provider_id, _premium, basic = tiers
    posted = ledger.reverse_deposit(provider_id=provider_id, amount="20.00", key="paypal:refund:r_1")
    (entry,) = entries_with_key("paypal:refund:r_1")
    assert posted.created and not entry.is_reversal
    assert balance_of(provider_id) == Decimal("10.00")
    assert status_of(provider_id) == ("active", None)
    assert outbox_args(ADMIN_ALERT) == []
    assert subscription(basic).active


def test_an_ordinary_debit_never_overdraws_even_for_an_inactive_provider(tiers):
    provider_id, _premium, _basic = tiers
    catalog.set_provider_status(provider_id=provider_id, status="inactive", actor=ADMIN)
    with pytest.raises(InsufficientBalance):
        ledger.post(provider_id=provider_id, type="debit", amount="30.01", key="ordinary:overdraw")
    assert balance_of(provider_id) == Decimal("30.00")
    assert entries_with_key("ordinary:overdraw") == []


def test_a_provider_in_debt_after_a_reversal_can_pay_it_back_in_parts(tiers):
    provider_id, premium, basic = tiers  # 30.00
    ledger.reverse_deposit(provider_id=provider_id, amount="45.00", key="stripe:dispute:dp_1")
    assert balance_of(provider_id) == Decimal("-15.00")

    part = deposit(provider_id, "5.00")
    assert part.created and part.entry.balance_after == Decimal("-10.00")
    ledger.adjust(provider_id=provider_id, type="credit", amount="3.00", actor=ADMIN)
    assert balance_of(provider_id) == Decimal("-7.00")
    with pytest.raises(InsufficientBalance):  # money still only comes back, never goes further out
        debit(provider_id, "0.01")
    assert status_of(provider_id) == ("inactive", "payment_reversed")

    deposit(provider_id, "17.00")  # 10.00: Basic is covered again
    assert subscription(basic).active and not subscription(premium).active
    assert status_of(provider_id) == ("inactive", "payment_reversed")  # an admin switches it back on
    assert balance_of(provider_id) == Decimal("10.00") == signed_sum(provider_id)
    assert ledger.balance_drift() == []


def test_a_provider_in_debt_cannot_be_switched_on_until_it_is_paid(tiers):
    provider_id, _premium, basic = tiers
    ledger.reverse_deposit(provider_id=provider_id, amount="40.00", key="stripe:refund:re_2")
    audits = audit_count()
    with pytest.raises(InsufficientBalance):
        catalog.set_provider_status(provider_id=provider_id, status="active", actor=ADMIN)
    assert status_of(provider_id) == ("inactive", "payment_reversed")
    assert audit_count() == audits

    deposit(provider_id, "20.00")  # 10.00
    assert catalog.set_provider_status(provider_id=provider_id, status="active", actor=ADMIN).status.value == "active"
    assert subscription(basic).active
