"""The engine under real parallelism: OS processes, each with its own engine and
connections, racing over the same leads; and a process killed in the middle of a
distribution transaction.

Why the parallel run can be compared with a sequential one: within a niche the
advisory lock makes distributions one at a time, in ``distribution_seq`` order; across
niches two distributions touching the same provider meet on its row lock, and the
second one re-checks balances after getting it.  So the outcome must equal a
sequential run in the order the distributions really happened, which the
``received_at`` stamps record (a stamp is taken after the providers are locked).  The
second database, built from the same seed, replays the leads in that order.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter

import psycopg
import pytest
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.services import distribution
from tests.conftest import clone_database, point_settings_at, wait_for
from tests.factories import approved_lead, deposit, make_market
from tests.integration.distribution_scenarios import (
    QUIET_REDIS_DB,
    assert_money_invariants,
    build_catalog,
    build_leads,
    observe,
    two_niche_scenario,
)

PROCESSES = 8
SEED = 4242


# --------------------------------------------------------------------------- the child process


def distribute_all_in_child(database_url: str, redis_url: str, lead_ids: list[str], seed: int, go, results) -> None:
    """Runs in a spawned process: its own settings, engine and connections."""
    os.environ["HOTLEAD_DATABASE_URL"] = database_url
    os.environ["HOTLEAD_REDIS_URL"] = redis_url
    point_settings_at(database_url=database_url, redis_url=redis_url)
    from hotlead_app.db import get_engine
    from hotlead_app.services import distribution as engine_entry

    with get_engine().connect():
        pass  # connect before the start signal, so the processes really start together
    order = list(lead_ids)
    random.Random(seed).shuffle(order)
    results.put(("ready", seed, None))
    go.wait(120)
    outcomes, errors = [], []
    for lead_id in order:
        try:
            outcomes.append((lead_id, engine_entry.distribute_lead(lead_id=uuid.UUID(lead_id)).outcome))
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(f"{lead_id}: {type(exc).__name__}: {exc}")
    results.put(("done", seed, (outcomes, errors)))


def run_in_parallel(database_url: str, redis_url: str, lead_ids: list[uuid.UUID]) -> list[tuple]:
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    ids = [str(i) for i in lead_ids]
    procs = [
        ctx.Process(target=distribute_all_in_child, args=(database_url, redis_url, ids, seed, go, results))
        for seed in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    reports: list[tuple] = []
    try:
        ready = 0
        while ready < PROCESSES:
            kind, _seed, _ = results.get(timeout=120)
            ready += kind == "ready"
        go.set()
        while len(reports) < PROCESSES:
            kind, seed, report = results.get(timeout=180)
            if kind == "done":
                reports.append((seed, *report))
    except queue.Empty:
        raise AssertionError(f"only {len(reports)} of {PROCESSES} processes finished") from None
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    return reports


# --------------------------------------------------------------------------- (a) eight processes


def test_eight_processes_racing_over_two_hundred_leads_give_exactly_the_sequential_result(engine_db, pg, redis_server):
    scenario = two_niche_scenario(SEED, leads=200, providers=20)
    quiet = redis_server.url(QUIET_REDIS_DB)
    parallel = build_catalog(scenario, tag="par")
    build_leads(scenario, parallel)

    twin_name = f"t_twin_{uuid.uuid4().hex[:10]}"
    twin_url = clone_database(pg, twin_name)
    try:
        point_settings_at(database_url=twin_url, redis_url=quiet)
        sequential = build_catalog(scenario, tag="seq")
        build_leads(scenario, sequential)
        point_settings_at(database_url=engine_db, redis_url=quiet)

        started = time.monotonic()
        reports = run_in_parallel(engine_db, quiet, parallel.lead_ids)
        elapsed = time.monotonic() - started

        # Every process ran every lead without an error; each lead was distributed by
        # exactly one of them, the others found it no longer approved.
        assert [errors for _, _, errors in reports] == [[]] * PROCESSES
        outcomes = Counter((lead_id, outcome) for _, runs, _ in reports for lead_id, outcome in runs)
        assert len(outcomes) == 2 * len(parallel.lead_ids)
        for lead_id in parallel.lead_ids:
            assert outcomes[(str(lead_id), "distributed")] == 1
            assert outcomes[(str(lead_id), "not_approved")] == PROCESSES - 1

        after_parallel = observe(scenario, parallel)
        assert_money_invariants()
        assert {status for status, _, _ in after_parallel.leads} == {"distributed"}
        with unit_of_work() as uow:
            s = uow.session
            per_niche = s.execute(
                text(
                    "SELECT n.slug, n.distributed_count, count(l.id) AS leads, "
                    "array_agg(l.distribution_seq ORDER BY l.distribution_seq) AS seqs "
                    "FROM niches n JOIN leads l ON l.niche_id = n.id GROUP BY n.slug, n.distributed_count"
                )
            ).all()
            records = s.execute(text("SELECT count(*), count(DISTINCT lead_id) FROM distribution_records")).one()
            audit = s.execute(
                text("SELECT count(*) FROM audit_logs WHERE entity_type = 'lead' AND action = 'distributed'")
            ).scalar()
            # the order the distributions really happened in: their first stamp
            order = [
                r.lead_id
                for r in s.execute(
                    text(
                        "SELECT lead_id, min(received_at) AS first FROM lead_assignments "
                        "GROUP BY lead_id ORDER BY first"
                    )
                ).all()
            ]
        assert len(per_niche) == 2
        for _slug, count, leads, seqs in per_niche:
            assert count == leads and seqs == list(range(leads))
        assert tuple(records) == (200, 200) and audit == 200
        assert any(sub_state == (False, "insufficient_balance") for sub_state in after_parallel.subs.values()), (
            "no provider ran out: the race over balances was not exercised"
        )

        # The same market, distributed one lead at a time in that order.
        index = {lead_id: i for i, lead_id in enumerate(parallel.lead_ids)}
        point_settings_at(database_url=twin_url, redis_url=quiet)
        for lead_id in order:
            assert distribution.distribute_lead(lead_id=sequential.lead_ids[index[lead_id]]).outcome == "distributed"
        after_sequential = observe(scenario, sequential)
        assert_money_invariants()
        point_settings_at(database_url=engine_db, redis_url=quiet)

        assert after_parallel.leads == after_sequential.leads
        assert after_parallel.providers == after_sequential.providers
        assert after_parallel.subs == after_sequential.subs
        assert after_parallel.fairness == after_sequential.fairness
        print(f"parallel run: {PROCESSES} processes x {len(parallel.lead_ids)} leads in {elapsed:.1f}s")
    finally:
        point_settings_at(database_url=engine_db, redis_url=quiet)
        pg.drop_database(twin_name)


# --------------------------------------------------------------------------- (b) SIGKILL mid-transaction

CHILD = textwrap.dedent("""
    import json, sys, time
    import psycopg
    conn = psycopg.connect(sys.argv[1])          # not autocommit: one open transaction
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    result = conn.execute("SELECT hotlead_distribute_lead(%s)", (sys.argv[2],)).fetchone()[0]
    print(json.dumps({"pid": pid, "result": result}), flush=True)
    time.sleep(600)                              # killed before it ever commits
    conn.commit()
""")


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def niche_lock_is_free(url: str, niche_id: uuid.UUID) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:  # a transaction, rolled back on close
        return conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('hotlead.niche:' || %s::text, 0))", (str(niche_id),)
        ).fetchone()[0]


def lead_facts(lead_id: uuid.UUID) -> dict:
    with unit_of_work() as uow:
        s = uow.session
        return {
            "status": s.execute(text("SELECT status::text FROM leads WHERE id = :id"), {"id": lead_id}).scalar(),
            "assignments": s.execute(
                text("SELECT count(*) FROM lead_assignments WHERE lead_id = :id"), {"id": lead_id}
            ).scalar(),
            "charges": s.execute(
                text("SELECT count(*) FROM ledger_entries WHERE type = 'charge' AND idempotency_key LIKE :k"),
                {"k": f"lead:{lead_id}:%"},
            ).scalar(),
            "records": s.execute(
                text("SELECT count(*) FROM distribution_records WHERE lead_id = :id"), {"id": lead_id}
            ).scalar(),
        }


def test_a_distribution_killed_before_commit_leaves_nothing_behind_and_the_lead_can_be_retried(engine_db):
    market = make_market(levels=[("Exclusive", "25.00", 1), ("Shared", "10.00", 2)], providers=3, balance="60.00")
    lead_id = approved_lead(market.slug)
    balances_before = {p.id: p.balance for p in market.providers}

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, libpq_url(engine_db), str(lead_id)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = child.stdout.readline()
        assert line, "the child died before distributing"
        report = json.loads(line)
        assert report["result"]["outcome"] == "distributed" and len(report["result"]["assignments"]) == 3

        # Mid-transaction: the lead is still approved to everyone else, and the niche
        # is locked (a second distribution in this niche would wait).
        assert lead_facts(lead_id) == {"status": "approved", "assignments": 0, "charges": 0, "records": 0}
        assert not niche_lock_is_free(engine_db, market.niche.id)

        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert child.returncode == -signal.SIGKILL

        def backend_gone() -> bool:
            with unit_of_work() as uow:
                return not uow.session.execute(
                    text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": report["pid"]}
                ).first()

        wait_for(backend_gone, timeout=20, message="the killed session's backend to end")
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()

    assert lead_facts(lead_id) == {"status": "approved", "assignments": 0, "charges": 0, "records": 0}
    assert niche_lock_is_free(engine_db, market.niche.id)
    with unit_of_work() as uow:
        s = uow.session
        balances = dict(
            s.execute(
                text("SELECT id, balance FROM service_providers WHERE id = ANY(:ids)"), {"ids": list(balances_before)}
            ).all()
        )
        niche = s.execute(
            text("SELECT distributed_count, last_received_stamp FROM niches WHERE id = :id"), {"id": market.niche.id}
        ).one()
        stamps = s.execute(
            text(
                "SELECT count(*) FROM provider_subscriptions WHERE last_received_at IS NOT NULL "
                "AND provider_id = ANY(:ids)"
            ),
            {"ids": list(balances_before)},
        ).scalar()
    assert balances == balances_before
    assert tuple(niche) == (0, None) and stamps == 0
    assert_money_invariants()

    retried = distribution.distribute_lead(lead_id=lead_id)
    assert retried.outcome == "distributed" and retried.distribution_seq == 0
    assert lead_facts(lead_id) == {"status": "distributed", "assignments": 3, "charges": 3, "records": 1}
    assert_money_invariants()


def test_a_second_distribution_in_the_same_niche_waits_for_the_first_to_finish(engine_db):
    market = make_market(levels=[("Exclusive", "25.00", 1)], providers=2, balance="100.00")
    first, second = approved_lead(market.slug), approved_lead(market.slug)
    other = make_market(levels=[("Solo", "5.00", 1)], providers=1, balance="10.00")
    elsewhere = approved_lead(other.slug)
    url = libpq_url(engine_db)
    with psycopg.connect(url) as holder, psycopg.connect(url) as waiter:
        holder.execute("SELECT hotlead_distribute_lead(%s)", (str(first),))
        waiter.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            waiter.execute("SELECT hotlead_distribute_lead(%s)", (str(second),))
        waiter.rollback()
        # another niche is not held up
        waiter.execute("SET lock_timeout = '2s'")
        assert (
            waiter.execute("SELECT hotlead_distribute_lead(%s)", (str(elsewhere),)).fetchone()[0]["outcome"]
            == "distributed"
        )
        waiter.commit()
        holder.commit()
    assert distribution.distribute_lead(lead_id=second).distribution_seq == 1
    deposit(market.providers[0].id, "1.00")  # the money paths still work afterwards
    assert_money_invariants()
