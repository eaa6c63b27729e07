"""The money and history guards hold in PostgreSQL itself, whatever SQL is sent.

Every test here goes around the services on purpose: it writes raw SQL on its own
connection and checks that the database refuses it (and that nothing changed).
Where a refusal could come from some other constraint, the same statement is run
once more with the triggers switched off (``session_replication_role = replica``,
then rolled back) to show that the guard alone stands in the way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors

from hotlead_app.services import catalog, distribution, ledger, refunds
from hotlead_app.settings import PROJECT_ROOT
from tests.factories import ADMIN, approved_lead, assignments_of, make_market, make_provider, submitted_lead

# --------------------------------------------------------------------------- helpers


def dsn(db_url: str) -> str:
    return db_url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def connect(db_url: str) -> Iterator[psycopg.Connection]:
    """A raw connection in autocommit: every statement is its own transaction."""
    with psycopg.connect(dsn(db_url), autocommit=True) as conn:
        yield conn


def scalar(db_url: str, sql: str, params: tuple = ()) -> object:
    with connect(db_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def succeeds_without_triggers(db_url: str, sql: str, params: tuple = ()) -> int:
    """Run ``sql`` with the triggers off, roll it back, return its row count:
    proof that only a trigger refuses it."""
    with psycopg.connect(dsn(db_url)) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        rowcount = conn.execute(sql, params).rowcount
        conn.rollback()
    return rowcount


def table_fingerprint(db_url: str, table: str) -> tuple[int, str]:
    """The row count and an md5 of every row: any change shows."""
    with connect(db_url) as conn:
        return conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM {table} t"
        ).fetchone()


def balance_of(db_url: str, provider_id: uuid.UUID) -> Decimal:
    return scalar(db_url, "SELECT balance FROM service_providers WHERE id = %s", (provider_id,))


def run_verify_ledger(db_url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOTLEAD_DATABASE_URL=db_url, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "hotlead_app.cli", "verify-ledger"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass(frozen=True)
class World:
    """A distributed lead: two providers charged for it, plus spare rows to point at."""

    url: str
    lead_id: uuid.UUID
    other_lead_id: uuid.UUID
    providers: list[uuid.UUID]
    spare_provider_id: uuid.UUID
    assignments: list[uuid.UUID]
    other_level_id: uuid.UUID


@pytest.fixture
def world(db) -> World:
    market = make_market(levels=[("Shared", "10.00", 2), ("Exclusive", "25.00", 1)], providers=2)
    # Only the shared level takes part, so both providers land in it.
    catalog.update_level(level_id=market.level("Exclusive").id, actor=ADMIN, active=False)
    lead_id = approved_lead(market.slug)
    result = distribution.distribute_lead(lead_id=lead_id)
    assert result.outcome == "distributed" and len(result.assignments) == 2
    return World(
        url=db,
        lead_id=lead_id,
        other_lead_id=submitted_lead(market.slug),
        providers=[p.id for p in market.providers],
        spare_provider_id=make_provider(balance="5.00").id,
        assignments=[a.id for a in assignments_of(lead_id)],
        other_level_id=market.level("Exclusive").id,
    )


# --------------------------------------------------------------------------- append-only history

APPEND_ONLY_ATTEMPTS = [
    ("ledger_entries", "UPDATE ledger_entries SET memo = 'rewritten'"),
    ("ledger_entries", "UPDATE ledger_entries SET amount = amount + 1"),
    ("ledger_entries", "DELETE FROM ledger_entries"),
    # CASCADE: deposits reference the ledger, so a plain TRUNCATE stops at the foreign key
    # before the guard is asked; with CASCADE only the append-only trigger stands in the way.
    ("ledger_entries", "TRUNCATE ledger_entries CASCADE"),
    ("audit_logs", "UPDATE audit_logs SET admin_only_memo = 'rewritten'"),
    ("audit_logs", "UPDATE audit_logs SET after_state = '{}'::jsonb"),
    ("audit_logs", "DELETE FROM audit_logs"),
    ("audit_logs", "TRUNCATE audit_logs CASCADE"),
]


@pytest.mark.parametrize(("table", "sql"), APPEND_ONLY_ATTEMPTS, ids=[s for _, s in APPEND_ONLY_ATTEMPTS])
def test_ledger_entries_and_audit_logs_refuse_update_delete_and_truncate(world, table, sql):
    before = table_fingerprint(world.url, table)
    assert before[0] > 0, "the table must hold rows for the refusal to mean anything"
    with connect(world.url) as conn, pytest.raises(errors.InsufficientPrivilege, match="append-only"):
        conn.execute(sql)
    assert table_fingerprint(world.url, table) == before
    succeeds_without_triggers(world.url, sql)


def test_appending_to_the_ledger_and_the_audit_log_is_still_allowed(world):
    provider_id = world.providers[0]
    with connect(world.url) as conn:
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, 'deposit', 3.00, 'raw:append', false)",
            (provider_id,),
        )
        conn.execute(
            "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action)"
            " VALUES (gen_random_uuid(), 'system', 'provider', %s, 'raw_append')",
            (provider_id,),
        )
    assert balance_of(world.url, provider_id) == Decimal("43.00")
    assert ledger.balance_drift() == []


# --------------------------------------------------------------------------- ledger amounts and keys


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_a_ledger_amount_must_be_positive(world, amount):
    provider_id = world.providers[0]
    before = table_fingerprint(world.url, "ledger_entries")
    with connect(world.url) as conn, pytest.raises(errors.CheckViolation) as caught:
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, 'deposit', %s, 'raw:nonpositive', false)",
            (provider_id, Decimal(amount)),
        )
    assert caught.value.diag.constraint_name == "ck_ledger_amount_positive"
    assert table_fingerprint(world.url, "ledger_entries") == before
    assert balance_of(world.url, provider_id) == Decimal("40.00")


def test_an_idempotency_key_is_used_by_one_ledger_entry_only(world):
    provider_id = world.providers[0]
    key = scalar(
        world.url,
        "SELECT idempotency_key FROM ledger_entries WHERE provider_id = %s AND type = 'deposit'",
        (provider_id,),
    )
    before = table_fingerprint(world.url, "ledger_entries")
    with connect(world.url) as conn, pytest.raises(errors.UniqueViolation):
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, 'deposit', 50.00, %s, false)",
            (provider_id, key),
        )
    assert table_fingerprint(world.url, "ledger_entries") == before
    assert balance_of(world.url, provider_id) == Decimal("40.00")


# --------------------------------------------------------------------------- the cached balance


def test_a_direct_update_of_a_provider_balance_is_refused(world):
    provider_id = world.providers[0]
    sql = "UPDATE service_providers SET balance = 1000.00 WHERE id = %s"
    with connect(world.url) as conn, pytest.raises(errors.InsufficientPrivilege, match="only through ledger"):
        conn.execute(sql, (provider_id,))
    assert balance_of(world.url, provider_id) == Decimal("40.00")
    assert succeeds_without_triggers(world.url, sql, (provider_id,)) == 1


def test_setting_the_ledger_posting_flag_by_hand_does_not_unlock_the_balance(world):
    provider_id = world.providers[0]
    with connect(world.url) as conn:
        conn.execute("SELECT set_config('hotlead.ledger_posting', 'on', false)")
        with pytest.raises(errors.InsufficientPrivilege, match="only through ledger"):
            conn.execute("UPDATE service_providers SET balance = 1000.00 WHERE id = %s", (provider_id,))
    assert balance_of(world.url, provider_id) == Decimal("40.00")


def test_other_provider_columns_can_still_be_updated_directly(world):
    provider_id = world.providers[0]
    with connect(world.url) as conn:
        assert conn.execute("UPDATE service_providers SET name = 'Renamed' WHERE id = %s", (provider_id,)).rowcount == 1
    assert scalar(world.url, "SELECT name FROM service_providers WHERE id = %s", (provider_id,)) == "Renamed"


def test_a_new_provider_cannot_start_with_money(db):
    with connect(db) as conn:
        with pytest.raises(errors.CheckViolation, match="zero balance"):
            conn.execute(
                "INSERT INTO service_providers (id, name, email, status, balance)"
                " VALUES (gen_random_uuid(), 'Rich', 'rich@example.com', 'active', 100.00)"
            )
        conn.execute(
            "INSERT INTO service_providers (id, name, email, status, balance)"
            " VALUES (gen_random_uuid(), 'Poor', 'poor@example.com', 'active', 0.00)"
        )
    assert scalar(db, "SELECT array_agg(name) FROM service_providers") == ["Poor"]


@pytest.mark.parametrize("entry_type", ["charge", "debit"])
def test_an_entry_that_would_overdraw_is_refused_by_the_trigger(world, entry_type):
    provider_id = world.providers[0]  # balance 40.00
    before = table_fingerprint(world.url, "ledger_entries")
    with connect(world.url) as conn, pytest.raises(errors.CheckViolation, match="insufficient balance") as caught:
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, %s, 40.01, 'raw:overdraw', false)",
            (provider_id, entry_type),
        )
    assert caught.value.diag.constraint_name == "ck_ledger_no_overdraft"
    assert table_fingerprint(world.url, "ledger_entries") == before
    assert balance_of(world.url, provider_id) == Decimal("40.00")
    with connect(world.url) as conn:  # the whole balance may be spent, to the cent
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, %s, 40.00, 'raw:exact', false)",
            (provider_id, entry_type),
        )
    assert balance_of(world.url, provider_id) == Decimal("0.00")


def test_a_reversal_may_overdraw_only_an_inactive_provider(world):
    provider_id = world.providers[0]  # balance 40.00, active
    insert = (
        "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
        " VALUES (gen_random_uuid(), %s, 'debit', 50.00, 'raw:reversal', true)"
    )
    with connect(world.url) as conn, pytest.raises(errors.CheckViolation) as caught:
        conn.execute(insert, (provider_id,))
    assert caught.value.diag.constraint_name == "ck_providers_balance_not_negative"
    assert balance_of(world.url, provider_id) == Decimal("40.00")
    with connect(world.url) as conn:
        conn.execute("UPDATE service_providers SET status = 'inactive' WHERE id = %s", (provider_id,))
        conn.execute(insert, (provider_id,))
    assert balance_of(world.url, provider_id) == Decimal("-10.00")
    assert ledger.balance_drift() == []


def test_a_reversal_flag_on_anything_but_a_debit_is_refused(world):
    provider_id = world.providers[0]
    with connect(world.url) as conn, pytest.raises(errors.CheckViolation) as caught:
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, 'charge', 5.00, 'raw:reversal-charge', true)",
            (provider_id,),
        )
    assert caught.value.diag.constraint_name == "ck_ledger_reversal_is_debit"
    assert balance_of(world.url, provider_id) == Decimal("40.00")


def test_a_negative_balance_is_allowed_only_while_the_provider_is_inactive(world):
    provider_id = world.providers[0]
    with connect(world.url) as conn:
        conn.execute("UPDATE service_providers SET status = 'inactive' WHERE id = %s", (provider_id,))
        conn.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
            " VALUES (gen_random_uuid(), %s, 'debit', 45.00, 'raw:reversal', true)",
            (provider_id,),
        )
        for status in ("active", "auto_deactivated"):
            with pytest.raises(errors.CheckViolation) as caught:
                conn.execute("UPDATE service_providers SET status = %s WHERE id = %s", (status, provider_id))
            assert caught.value.diag.constraint_name == "ck_providers_balance_not_negative"
    assert scalar(world.url, "SELECT status::text FROM service_providers WHERE id = %s", (provider_id,)) == "inactive"
    ledger.post(provider_id=provider_id, type="deposit", amount="5.00", key="raw:top-up")
    with connect(world.url) as conn:  # back at zero the provider may be switched on again
        conn.execute("UPDATE service_providers SET status = 'active' WHERE id = %s", (provider_id,))


def test_money_coming_in_is_accepted_even_while_the_balance_is_negative(world):
    provider_id = world.providers[0]
    insert = (
        "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal)"
        " VALUES (gen_random_uuid(), %s, %s, %s, %s, %s)"
    )
    with connect(world.url) as conn:
        conn.execute("UPDATE service_providers SET status = 'inactive' WHERE id = %s", (provider_id,))
        conn.execute(insert, (provider_id, "debit", Decimal("50.00"), "raw:reversal", True))
        for entry_type in ("deposit", "refund", "credit"):
            conn.execute(insert, (provider_id, entry_type, Decimal("1.00"), f"raw:{entry_type}", False))
        with pytest.raises(errors.CheckViolation) as caught:
            conn.execute(insert, (provider_id, "charge", Decimal("0.01"), "raw:charge", False))
        assert caught.value.diag.constraint_name == "ck_ledger_no_overdraft"
    assert balance_of(world.url, provider_id) == Decimal("-7.00")
    assert ledger.balance_drift() == []


# --------------------------------------------------------------------------- leads


@pytest.mark.parametrize("status", ["pending_approval", "approved", "distributed", "bad_lead"])
def test_a_lead_cannot_pass_confirmation_without_confirmed_at(world, status):
    lead_id = world.other_lead_id  # pending_confirmation, confirmed_at NULL
    with connect(world.url) as conn:
        with pytest.raises(errors.CheckViolation) as caught:
            conn.execute("UPDATE leads SET status = %s WHERE id = %s", (status, lead_id))
        assert caught.value.diag.constraint_name == "ck_leads_confirmed_before_approval"
        with pytest.raises(errors.CheckViolation) as caught:
            conn.execute(
                "INSERT INTO leads (id, niche_id, status, payload, email)"
                " SELECT gen_random_uuid(), niche_id, %s, payload, email FROM leads WHERE id = %s",
                (status, lead_id),
            )
        assert caught.value.diag.constraint_name == "ck_leads_confirmed_before_approval"
    assert scalar(world.url, "SELECT status::text FROM leads WHERE id = %s", (lead_id,)) == "pending_confirmation"
    assert scalar(world.url, "SELECT count(*) FROM leads") == 2


def test_a_confirmed_lead_cannot_lose_its_confirmed_at(world):
    with connect(world.url) as conn, pytest.raises(errors.CheckViolation) as caught:
        conn.execute("UPDATE leads SET confirmed_at = NULL WHERE id = %s", (world.lead_id,))
    assert caught.value.diag.constraint_name == "ck_leads_confirmed_before_approval"


def test_an_unconfirmed_lead_may_still_be_rejected(world):
    with connect(world.url) as conn:
        conn.execute("UPDATE leads SET status = 'rejected' WHERE id = %s", (world.other_lead_id,))
    assert scalar(world.url, "SELECT status::text FROM leads WHERE id = %s", (world.other_lead_id,)) == "rejected"


# --------------------------------------------------------------------------- assignments


def test_a_provider_gets_one_assignment_per_lead(world):
    before = table_fingerprint(world.url, "lead_assignments")
    with connect(world.url) as conn, pytest.raises(errors.UniqueViolation) as caught:
        conn.execute(
            "INSERT INTO lead_assignments (id, lead_id, provider_id, subscription_id, competition_level_id,"
            " charged_amount, received_at, is_refunded)"
            " SELECT gen_random_uuid(), lead_id, provider_id, subscription_id, competition_level_id,"
            " charged_amount, clock_timestamp(), false FROM lead_assignments WHERE id = %s",
            (world.assignments[0],),
        )
    assert caught.value.diag.constraint_name == "uq_assignments_lead_provider"
    assert table_fingerprint(world.url, "lead_assignments") == before


def _immutable_changes(world: World) -> list[tuple[str, tuple]]:
    second = world.assignments[1]
    return [
        ("id = gen_random_uuid()", ()),
        ("lead_id = %s", (world.other_lead_id,)),
        ("provider_id = %s", (world.spare_provider_id,)),
        ("subscription_id = (SELECT subscription_id FROM lead_assignments WHERE id = %s)", (second,)),
        ("competition_level_id = %s", (world.other_level_id,)),
        ("charged_amount = charged_amount + 1", ()),
        ("received_at = received_at + interval '1 second'", ()),
        ("assigned_at = assigned_at - interval '1 day'", ()),
    ]


@pytest.mark.parametrize(
    "column",
    [
        "id",
        "lead_id",
        "provider_id",
        "subscription_id",
        "competition_level_id",
        "charged_amount",
        "received_at",
        "assigned_at",
    ],
)
def test_an_assignment_never_changes_but_for_its_refund(world, column):
    change, params = next(c for c in _immutable_changes(world) if c[0].startswith(column + " "))
    sql = f"UPDATE lead_assignments SET {change} WHERE id = %s"
    params = (*params, world.assignments[0])
    before = table_fingerprint(world.url, "lead_assignments")
    with connect(world.url) as conn, pytest.raises(errors.InsufficientPrivilege, match="never changes"):
        conn.execute(sql, params)
    assert table_fingerprint(world.url, "lead_assignments") == before
    assert succeeds_without_triggers(world.url, sql, params) == 1


def test_an_assignment_is_refunded_at_most_once_even_in_raw_sql(world):
    assignment_id = world.assignments[0]
    with connect(world.url) as conn:
        refund = conn.execute(
            "UPDATE lead_assignments SET is_refunded = true, refunded_at = now(), refund_reason = 'sql' WHERE id = %s",
            (assignment_id,),
        )
        assert refund.rowcount == 1
        for again in (
            "is_refunded = true, refunded_at = now(), refund_reason = 'twice'",
            "refund_reason = 'changed my mind'",
            "is_refunded = false, refunded_at = NULL, refund_reason = NULL",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="already refunded"):
                conn.execute(f"UPDATE lead_assignments SET {again} WHERE id = %s", (assignment_id,))
    assert scalar(world.url, "SELECT refund_reason FROM lead_assignments WHERE id = %s", (assignment_id,)) == "sql"


def test_a_refund_made_by_the_service_is_locked_against_raw_sql(world):
    """Even a second refund racing past the service's own check cannot land."""
    assignment_id = world.assignments[1]
    refunds.refund_assignment(assignment_id=assignment_id, actor=ADMIN, reason="first")
    with connect(world.url) as conn, pytest.raises(errors.InsufficientPrivilege, match="already refunded"):
        conn.execute("UPDATE lead_assignments SET refund_reason = 'second' WHERE id = %s", (assignment_id,))
    assert scalar(world.url, "SELECT count(*) FROM ledger_entries WHERE type = 'refund'") == 1


# CASCADE: tables referencing assignments (outcomes, returns, deliveries) would stop a plain
# TRUNCATE at their foreign key before the guard; the guard must hold even when asked to cascade.
@pytest.mark.parametrize("sql", ["DELETE FROM lead_assignments", "TRUNCATE lead_assignments CASCADE"])
def test_assignments_are_never_deleted(world, sql):
    before = table_fingerprint(world.url, "lead_assignments")
    assert before[0] == 2
    with connect(world.url) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(sql)
    assert table_fingerprint(world.url, "lead_assignments") == before


# --------------------------------------------------------------------------- drift


def test_balance_drift_is_empty_after_normal_activity(world):
    refunds.refund_assignment(assignment_id=world.assignments[0], actor=ADMIN, reason="bad phone")
    ledger.adjust(provider_id=world.providers[1], type="debit", amount="4.50", actor=ADMIN)
    ledger.adjust(provider_id=world.providers[1], type="credit", amount="1.25", actor=ADMIN)
    balances = {pid: balance_of(world.url, pid) for pid in world.providers}
    assert sorted(balances.values()) == [Decimal("36.75"), Decimal("50.00")]
    assert scalar(world.url, "SELECT count(*) FROM balance_drift") == 0
    assert ledger.balance_drift() == []
    result = run_verify_ledger(world.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger OK" in result.stdout


def test_forced_drift_is_named_by_the_view_and_fails_verify_ledger(world):
    drifted, clean = world.providers
    with psycopg.connect(dsn(world.url)) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("UPDATE service_providers SET balance = balance + 7.00 WHERE id = %s", (drifted,))
    (row,) = ledger.balance_drift()
    assert (row.provider_id, row.cached_balance, row.ledger_balance) == (drifted, Decimal("47.00"), Decimal("40.00"))
    result = run_verify_ledger(world.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(drifted) in result.stdout
    assert str(clean) not in result.stdout
