"""A lead's life through the services: confirmation tokens, the state table, audit
rows, the distribution job queued on commit, refunds and Global Bad Lead."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from hotlead_app import jobs
from hotlead_app.api.errors import status_for
from hotlead_app.db import unit_of_work
from hotlead_app.domain.errors import AlreadyRefunded, Expired, IllegalTransition, InvalidInput
from hotlead_app.models import AuditLog, Lead, LedgerEntry, OutboxMessage
from hotlead_app.services import catalog, distribution, intake, leads, ledger, outbox, refunds, tokens
from tests.conftest import wait_for
from tests.factories import (
    ADMIN,
    Market,
    approved_lead,
    assignments_of,
    confirmation_token,
    confirmed_lead,
    make_market,
    submitted_lead,
)

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def market(db) -> Market:
    """One shared level (10.00, up to 3 providers) and three providers holding 50.00."""
    return make_market(levels=[("Shared", "10.00", 3)], providers=3, balance="50.00")


def lead_row(lead_id: uuid.UUID) -> Lead:
    with unit_of_work() as uow:
        return uow.session.get(Lead, lead_id)


def lead_audit(lead_id: uuid.UUID) -> list[AuditLog]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(AuditLog)
                .where(AuditLog.entity_type == "lead", AuditLog.entity_id == lead_id)
                .order_by(AuditLog.seq)
            ).all()
        )


def count(model) -> int:
    with unit_of_work() as uow:
        return uow.session.exec(select(func.count()).select_from(model)).one()


def distribute_jobs(lead_id: uuid.UUID) -> list[OutboxMessage]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.task == jobs.DISTRIBUTE_LEAD, OutboxMessage.args["lead_id"].astext == str(lead_id)
                )
            ).all()
        )


def balances(market: Market) -> list[Decimal]:
    return [catalog.get_provider(ADMIN, provider_id=p.id).balance for p in market.providers]


def refund_entries(assignment_id: uuid.UUID) -> list[LedgerEntry]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(LedgerEntry).where(LedgerEntry.type == "refund", LedgerEntry.related_entity_id == assignment_id)
            ).all()
        )


def snapshot(lead_id: uuid.UUID) -> dict:
    """Everything an illegal transition must leave alone."""
    lead = lead_row(lead_id)
    return {
        "status": lead.status,
        "confirmed_at": lead.confirmed_at,
        "audit": count(AuditLog),
        "ledger": count(LedgerEntry),
        "outbox": count(OutboxMessage),
        "assignments": [(a.id, a.is_refunded) for a in assignments_of(lead_id)],
    }


def distributed_lead(market: Market) -> uuid.UUID:
    lead_id = approved_lead(market.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    return lead_id


def lead_in(market: Market, status: str) -> uuid.UUID:
    """A lead brought to ``status`` through the legal path."""
    if status == "pending_confirmation":
        return submitted_lead(market.slug)
    if status == "pending_approval":
        return confirmed_lead(market.slug)
    if status == "approved":
        return approved_lead(market.slug)
    if status == "distributed":
        return distributed_lead(market)
    if status == "rejected":
        lead_id = confirmed_lead(market.slug)
        leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="duplicate")
        return lead_id
    if status == "bad_lead":
        lead_id = distributed_lead(market)
        leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake phone")
        return lead_id
    raise ValueError(status)


ACTIONS = {
    "approve": lambda lead_id: leads.approve_lead(lead_id=lead_id, actor=ADMIN),
    "reject": lambda lead_id: leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="spam"),
    "mark_bad": lambda lead_id: leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake"),
}
TARGET = {"approve": "approved", "reject": "rejected", "mark_bad": "bad_lead"}

ILLEGAL = [
    ("approve", "pending_confirmation"),
    ("approve", "approved"),
    ("approve", "distributed"),
    ("approve", "rejected"),
    ("approve", "bad_lead"),
    ("reject", "distributed"),
    ("reject", "rejected"),
    ("reject", "bad_lead"),
    ("mark_bad", "pending_confirmation"),
    ("mark_bad", "pending_approval"),
    ("mark_bad", "approved"),
    ("mark_bad", "rejected"),
    ("mark_bad", "bad_lead"),
]


# --------------------------------------------------------------------------- the state table


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=[f"{a}-from-{s}" for a, s in ILLEGAL])
def test_an_illegal_transition_is_refused_and_writes_nothing(market, action, status):
    lead_id = lead_in(market, status)
    before = snapshot(lead_id)
    with pytest.raises(IllegalTransition) as caught:
        ACTIONS[action](lead_id)
    assert caught.value.details == {"from": status, "to": TARGET[action]}
    assert status_for(caught.value) == 409
    assert snapshot(lead_id) == before


def test_a_legal_path_writes_one_audit_row_per_transition(market):
    lead_id = submitted_lead(market.slug)
    steps = [
        (
            lambda: leads.confirm_lead(token=confirmation_token(lead_id)),
            "confirmed",
            "buyer",
            None,
            "pending_confirmation",
            "pending_approval",
        ),
        (
            lambda: leads.approve_lead(lead_id=lead_id, actor=ADMIN),
            "approved",
            "admin",
            ADMIN.id,
            "pending_approval",
            "approved",
        ),
        (
            lambda: distribution.distribute_lead(lead_id=lead_id),
            "distributed",
            "system",
            None,
            "approved",
            "distributed",
        ),
        (
            lambda: leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="wrong number"),
            "marked_bad_lead",
            "admin",
            ADMIN.id,
            "distributed",
            "bad_lead",
        ),
    ]
    for step, action, role, actor_id, before, after in steps:
        seen = len(lead_audit(lead_id))
        step()
        rows = lead_audit(lead_id)
        assert len(rows) == seen + 1, action
        row = rows[-1]
        assert (row.action, row.actor_role.value, row.actor_id) == (action, role, actor_id)
        assert (row.before_state["status"], row.after_state["status"]) == (before, after)
        assert lead_row(lead_id).status.value == after


@pytest.mark.parametrize("status", ["pending_confirmation", "pending_approval", "approved"])
def test_a_lead_without_assignments_can_be_rejected_with_one_audit_row(market, status):
    lead_id = lead_in(market, status)
    seen = len(lead_audit(lead_id))
    state = leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="  duplicate  ", memo="same phone as #12")
    assert state.status.value == "rejected"
    rows = lead_audit(lead_id)
    assert len(rows) == seen + 1
    assert rows[-1].actor_role.value == "admin" and rows[-1].actor_id == ADMIN.id
    assert rows[-1].before_state == {"status": status}
    assert rows[-1].after_state == {"status": "rejected", "reason": "duplicate"}
    assert rows[-1].admin_only_memo == "same phone as #12"


def test_submitting_a_lead_writes_its_first_audit_row(market):
    lead_id = submitted_lead(market.slug)
    (row,) = lead_audit(lead_id)
    assert (row.action, row.actor_role.value) == ("submitted", "buyer")
    assert row.before_state is None and row.after_state["status"] == "pending_confirmation"


# --------------------------------------------------------------------------- approval and the outbox


def test_approving_queues_one_distribution_job_with_the_commit(market):
    lead_id = confirmed_lead(market.slug)
    assert distribute_jobs(lead_id) == []
    leads.approve_lead(lead_id=lead_id, actor=ADMIN)
    (job,) = distribute_jobs(lead_id)
    assert job.args["lead_id"] == str(lead_id)


def test_an_illegal_approval_queues_no_distribution_job(market):
    lead_id = submitted_lead(market.slug)
    with pytest.raises(IllegalTransition):
        leads.approve_lead(lead_id=lead_id, actor=ADMIN)
    assert distribute_jobs(lead_id) == []


def test_an_approval_that_fails_before_commit_queues_nothing(market, monkeypatch):
    lead_id = confirmed_lead(market.slug)
    audit_before = [r.action for r in lead_audit(lead_id)]
    real_add = outbox.add

    def add_then_fail(uow, task, **kwargs):
        real_add(uow, task, **kwargs)
        raise RuntimeError("the database went away before the commit")

    monkeypatch.setattr(outbox, "add", add_then_fail)
    with pytest.raises(RuntimeError):
        leads.approve_lead(lead_id=lead_id, actor=ADMIN)
    monkeypatch.undo()

    assert distribute_jobs(lead_id) == []
    assert lead_row(lead_id).status.value == "pending_approval"
    assert [r.action for r in lead_audit(lead_id)] == audit_before
    assert audit_before[-1] == "confirmed"


# --------------------------------------------------------------------------- distribution guards


@pytest.mark.parametrize("status", ["rejected", "pending_confirmation", "pending_approval"])
def test_a_lead_that_is_not_approved_is_never_distributed(market, status):
    if status == "rejected":  # approved first, then rejected before the job ran
        lead_id = approved_lead(market.slug)
        leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="spam")
    else:
        lead_id = lead_in(market, status)
    charges = count(LedgerEntry)
    result = distribution.distribute_lead(lead_id=lead_id)
    assert result.outcome == "not_approved"
    assert result.assignments == []
    assert assignments_of(lead_id) == []
    assert count(LedgerEntry) == charges
    assert balances(market) == [Decimal("50.00")] * 3
    assert lead_row(lead_id).status.value == status


def test_a_distributed_lead_cannot_be_rejected(market):
    lead_id = distributed_lead(market)
    assert balances(market) == [Decimal("40.00")] * 3
    with pytest.raises(IllegalTransition):
        leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="changed my mind")
    assert lead_row(lead_id).status.value == "distributed"
    assert [a.is_refunded for a in assignments_of(lead_id)] == [False] * 3
    assert balances(market) == [Decimal("40.00")] * 3


# --------------------------------------------------------------------------- refunds


def test_refunding_an_assignment_twice_is_refused_with_one_refund_entry(market):
    lead_id = distributed_lead(market)
    first, *_ = assignments_of(lead_id)
    refunded = refunds.refund_assignment(assignment_id=first.id, actor=ADMIN, reason="wrong zip")
    assert refunded.amount == Decimal("10.00")
    assert catalog.get_provider(ADMIN, provider_id=first.provider_id).balance == Decimal("50.00")

    with pytest.raises(AlreadyRefunded) as caught:
        refunds.refund_assignment(assignment_id=first.id, actor=ADMIN, reason="again")
    assert status_for(caught.value) == 409
    assert len(refund_entries(first.id)) == 1
    assert catalog.get_provider(ADMIN, provider_id=first.provider_id).balance == Decimal("50.00")
    row = next(a for a in assignments_of(lead_id) if a.id == first.id)
    assert row.is_refunded and row.refund_reason == "wrong zip"
    assert lead_row(lead_id).status.value == "distributed"  # a refund leaves the lead alone


def test_global_bad_lead_refunds_every_unrefunded_assignment_exactly_once(market):
    lead_id = distributed_lead(market)
    assignments = assignments_of(lead_id)
    assert len(assignments) == 3 and balances(market) == [Decimal("40.00")] * 3
    early = assignments[1]
    refunds.refund_assignment(assignment_id=early.id, actor=ADMIN, reason="provider complained")

    leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake lead")

    assert lead_row(lead_id).status.value == "bad_lead"
    after = {a.id: a for a in assignments_of(lead_id)}
    assert all(a.is_refunded for a in after.values())
    assert {a_id: len(refund_entries(a_id)) for a_id in after} == {a.id: 1 for a in assignments}
    assert after[early.id].refund_reason == "provider complained"
    assert {after[a.id].refund_reason for a in assignments if a.id != early.id} == {"Global Bad Lead: fake lead"}
    assert balances(market) == [Decimal("50.00")] * 3
    assert ledger.balance_drift() == []


def test_global_bad_lead_is_all_or_nothing(market, monkeypatch):
    lead_id = distributed_lead(market)
    real_post = ledger.post
    calls = []

    def fail_on_second_refund(**kwargs):
        calls.append(kwargs["key"])
        if len(calls) == 2:
            raise RuntimeError("processor hiccup")
        return real_post(**kwargs)

    monkeypatch.setattr(ledger, "post", fail_on_second_refund)
    with pytest.raises(RuntimeError):
        leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake lead")
    monkeypatch.undo()

    assert len(calls) == 2
    assert lead_row(lead_id).status.value == "distributed"
    assert [a.is_refunded for a in assignments_of(lead_id)] == [False] * 3
    assert balances(market) == [Decimal("40.00")] * 3


def test_global_bad_lead_refunds_a_provider_whose_balance_went_negative(market):
    lead_id = distributed_lead(market)
    debtor = market.providers[0].id
    ledger.reverse_deposit(provider_id=debtor, amount="55.00", key="stripe:dispute:dp_9")  # 40.00 -> -15.00
    leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake lead")
    assert lead_row(lead_id).status.value == "bad_lead"
    assert all(a.is_refunded for a in assignments_of(lead_id))
    assert balances(market) == [Decimal("-5.00"), Decimal("50.00"), Decimal("50.00")]
    assert ledger.balance_drift() == []


def test_global_bad_lead_skips_an_assignment_refunded_while_it_waited(market):
    lead_id = distributed_lead(market)
    assignments = assignments_of(lead_id)
    # Bad Lead refunds in provider id order: hold the last one, so it waits mid-way.
    raced = max(assignments, key=lambda a: a.provider_id)
    outcome: dict = {}

    def mark_bad() -> None:
        try:
            outcome["state"] = leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake lead")
        except Exception as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=mark_bad)
    with unit_of_work() as uow:  # an admin's single refund, not yet committed
        refunds.refund_in(uow, assignment_id=raced.id, actor=ADMIN, reason="refunded by hand")
        worker.start()
        wait_for(
            lambda: waiting_on_a_lock() or not worker.is_alive(),
            timeout=30,
            message="Global Bad Lead to wait for the refund's lock",
        )
    worker.join(timeout=30)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["state"].status.value == "bad_lead"
    after = {a.id: a for a in assignments_of(lead_id)}
    assert all(a.is_refunded for a in after.values())
    assert after[raced.id].refund_reason == "refunded by hand"
    assert {a.id: len(refund_entries(a.id)) for a in assignments} == {a.id: 1 for a in assignments}
    assert balances(market) == [Decimal("50.00")] * 3


def waiting_on_a_lock() -> bool:
    with unit_of_work() as uow:
        return (
            uow.session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            > 0
        )


# --------------------------------------------------------------------------- confirmation tokens


def test_a_valid_token_confirms_the_lead(market):
    lead_id = submitted_lead(market.slug)
    assert lead_row(lead_id).confirmed_at is None
    state = leads.confirm_lead(token=confirmation_token(lead_id))
    assert state.status.value == "pending_approval"
    assert state.confirmed_at is not None
    assert lead_row(lead_id).confirmed_at == state.confirmed_at


def test_the_same_token_again_returns_the_status_and_changes_nothing(market):
    lead_id = submitted_lead(market.slug)
    token = confirmation_token(lead_id)
    first = leads.confirm_lead(token=token)
    before = snapshot(lead_id)
    again = leads.confirm_lead(token=token)
    assert (again.status, again.confirmed_at) == (first.status, first.confirmed_at)
    assert snapshot(lead_id) == before

    leads.approve_lead(lead_id=lead_id, actor=ADMIN)
    before = snapshot(lead_id)
    assert leads.confirm_lead(token=token).status.value == "approved"
    assert snapshot(lead_id) == before


def _tampered(lead_id: uuid.UUID, token: str) -> dict[str, str]:
    lead_hex, nonce, signature = token.split(".")
    flipped = "A" if signature[-1] != "A" else "B"
    return {
        "signature": f"{lead_hex}.{nonce}.{signature[:-1]}{flipped}",
        "nonce": f"{lead_hex}.{nonce}x.{signature}",
        "lead": f"{uuid.uuid4().hex}.{nonce}.{signature}",
        "garbage": "not-a-token",
        "empty": "",
        "oversized": token + "x" * 200,
        "signed_for_a_lead_that_does_not_exist": tokens.make_token(uuid.uuid4(), nonce),
        "signed_but_not_the_one_sent": tokens.make_token(lead_id, "another-nonce"),
    }


@pytest.mark.parametrize(
    "variant",
    [
        "signature",
        "nonce",
        "lead",
        "garbage",
        "empty",
        "oversized",
        "signed_for_a_lead_that_does_not_exist",
        "signed_but_not_the_one_sent",
    ],
)
def test_a_tampered_token_is_refused(market, variant):
    lead_id = submitted_lead(market.slug)
    token = confirmation_token(lead_id)
    before = snapshot(lead_id)
    with pytest.raises(InvalidInput) as caught:
        leads.confirm_lead(token=_tampered(lead_id, token)[variant])
    assert status_for(caught.value) == 400
    assert snapshot(lead_id) == before
    assert leads.confirm_lead(token=token).status.value == "pending_approval"  # the real one still works


def test_a_resent_token_replaces_the_old_one(market):
    lead_id = submitted_lead(market.slug)
    old_token = confirmation_token(lead_id)
    intake.resend_confirmation(email=lead_row(lead_id).email, lead_id=lead_id)
    new_token = confirmation_token(lead_id)
    assert new_token != old_token
    before = snapshot(lead_id)
    with pytest.raises(InvalidInput):
        leads.confirm_lead(token=old_token)
    assert snapshot(lead_id) == before
    assert leads.confirm_lead(token=new_token).status.value == "pending_approval"


def test_an_expired_token_is_refused_as_expired(market):
    lead_id = submitted_lead(market.slug)
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE leads SET confirmation_expires_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": lead_id},
        )
    before = snapshot(lead_id)
    with pytest.raises(Expired) as caught:
        leads.confirm_lead(token=confirmation_token(lead_id))
    assert status_for(caught.value) == 410
    assert snapshot(lead_id) == before
    assert before["status"].value == "pending_confirmation" and before["confirmed_at"] is None
