#!/usr/bin/env python3
"""The distribution benchmark: the SQL engine alone, the production Celery path,
pgbench TPC-B on the same server, and the cost of one distribution as a level grows.

Run from the project root (``make bench`` does exactly this)::

    .venv/bin/python bench/distribution.py             # full size, ~10 min on 2 cores
    .venv/bin/python bench/distribution.py --quick     # every size / 10
    .venv/bin/python bench/distribution.py --explain   # + the engine's per-level plans
    .venv/bin/python bench/distribution.py --explanations-only   # only the "why not me" timing
    make bench BENCH_ARGS="--quick --skip-celery"

Everything runs against servers this script starts and throws away: a private
PostgreSQL (EmbeddedPostgres in a temporary folder, on a free port, with NORMAL
durability: fsync on, synchronous_commit on, full_page_writes on) and a private
Redis.  The ``make run`` data and any system server (5432, 6379) are never touched.

Phases
  1. migrate a template database with alembic (as tests/conftest.py ``migrate``);
  2. seed a market with bulk SQL (niches, levels, providers with deposits posted as
     ledger entries so the balance trigger keeps the cache, subscriptions with
     filters, approved leads), every provider/subscription with its 'created' audit
     row (after_state = to_jsonb(row)); clone it twice (CREATE DATABASE .. TEMPLATE);
  3. (a) the engine alone: N OS processes calling
     ``hotlead_app.services.distribution.distribute_lead``;
     (b) the production path: real ``celery worker`` processes fed by
     ``send_task('distribution.distribute_lead')``;
  4. pgbench TPC-B (``-i -s 10``, then ``-c 2 -j 2 -T 20``), run just before 3a so
     both see the same machine, and the ratios;
  5. the time of one distribution in a level of 1k, 10k and 100k subscriptions;
  6. explanations ("why not me") of a lead whose niche has 120 subscriptions, every one
     with a schedule, caps, a spend cap and a ZIP radius: p50/p95 against 300 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import BenchServers  # noqa: E402
from hotlead_app import jobs  # noqa: E402
from hotlead_app.devstack.harness import point_settings_at, stop_process_group  # noqa: E402
from hotlead_app.infra.migrations import migrate  # noqa: E402

TEMPLATE_DB = "bench_template"
SEED_DB = "bench_seed"
ENGINE_DB = "bench_engine"
CELERY_DB = "bench_celery"
PGBENCH_DB = "bench_pgbench"

ZIP_BASE = 30300
ZIP_COUNT = 20
NICHE_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "size", "label": "Size", "type": "number", "required": True},
]
# (name, price, max_providers, priority_order): 3 levels per niche of the market.
MARKET_LEVELS = [("Exclusive", "25.00", 1, 1), ("Premium", "15.00", 2, 2), ("Shared", "8.00", 3, 3)]


def say(msg: str = "") -> None:
    print(msg, flush=True)


def log(msg: str) -> None:
    load = os.getloadavg()[0]
    print(f"[{time.strftime('%H:%M:%S')} load {load:.2f}] {msg}", flush=True)


# --------------------------------------------------------------------------- servers


Servers = BenchServers  # the benchmarks' one set-up (bench/servers.py)


def admin_conn(srv: Servers):
    return srv.admin_conn()


def clone(srv: Servers, template: str, name: str) -> None:
    srv.clone(template, name)


# --------------------------------------------------------------------------- seeding (bulk SQL)


def _uuid(tag: str, kind: str, i: int) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.md5(f"{tag}:{kind}:{i}".encode()).digest())


def seed_catalog(cur, tag: str, niches: list[str], levels: list[tuple[str, str, int, int]]) -> tuple[list, list]:
    """Niches and their levels (few rows), each with its 'created' audit row."""
    niche_ids, level_ids = [], []
    for n, slug in enumerate(niches):
        nid = _uuid(tag, "niche", n)
        cur.execute(
            "INSERT INTO niches (id, slug, name, active, fields, distributed_count, created_at) "
            "VALUES (%s, %s, %s, true, %s::jsonb, 0, now() - interval '2 days')",
            (nid, slug, slug.replace("-", " ").title(), json.dumps(NICHE_FIELDS)),
        )
        niche_ids.append(nid)
        for j, (name, price, max_providers, prio) in enumerate(levels):
            lid = _uuid(tag, f"level{n}", j)
            cur.execute(
                "INSERT INTO competition_levels (id, niche_id, name, price_per_lead, max_providers, "
                "priority_order, active, created_at) VALUES (%s, %s, %s, %s, %s, %s, true, now() - interval '2 days')",
                (lid, nid, name, price, max_providers, prio),
            )
            level_ids.append(lid)
    cur.execute(
        "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, created_at) "
        "SELECT gen_random_uuid(), 'admin', 'niche', n.id, 'created', NULL, to_jsonb(n), n.created_at "
        "FROM niches n WHERE n.id = ANY(%s)",
        (niche_ids,),
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, created_at) "
        "SELECT gen_random_uuid(), 'admin', 'competition_level', l.id, 'created', NULL, to_jsonb(l), l.created_at "
        "FROM competition_levels l WHERE l.id = ANY(%s) ORDER BY l.niche_id, l.priority_order",
        (level_ids,),
    )
    return niche_ids, level_ids


def seed_providers(cur, tag: str, n: int, amount_sql: str) -> None:
    """Providers at a zero balance + 'created' audit rows, then one deposit each
    through ledger_entries (the trigger moves the cached balance)."""
    cur.execute(
        "INSERT INTO service_providers (id, name, email, status, status_reason, balance, created_at) "
        "SELECT md5(%(tag)s || ':prov:' || g)::uuid, 'Bench provider ' || g, "
        "       'provider' || g || '@bench.example', 'active', NULL, 0, "
        "       now() - interval '1 day' + g * interval '1 millisecond' "
        "FROM generate_series(1, %(n)s) g",
        {"tag": tag, "n": n},
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, created_at) "
        "SELECT gen_random_uuid(), 'admin', 'provider', p.id, 'created', NULL, to_jsonb(p), p.created_at "
        "FROM service_providers p ORDER BY p.created_at, p.id"
    )
    cur.execute(
        "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, related_entity_type, "
        "                            related_entity_id, memo, is_reversal, created_at) "
        f"SELECT gen_random_uuid(), md5(%(tag)s || ':prov:' || g)::uuid, 'deposit', ({amount_sql})::numeric(10,2), "
        "       'bench:deposit:' || %(tag)s || ':' || g, 'payment', NULL, 'bench seed deposit', false, now() "
        "FROM generate_series(1, %(n)s) g ORDER BY g",
        {"tag": tag, "n": n},
    )


def seed_subscriptions(cur, tag: str, n: int, providers: int, level_ids: list, filters_sql: str) -> None:
    """Subscriptions (provider g mod P, a pseudo-random level) + 'created' audit rows."""
    cur.execute(
        "INSERT INTO provider_subscriptions (id, provider_id, competition_level_id, filters, last_received_at, "
        "                                    active, pause_reason, created_at, cancelled_at) "
        "SELECT md5(%(tag)s || ':sub:' || g)::uuid, "
        "       md5(%(tag)s || ':prov:' || (1 + (g - 1) %% %(p)s))::uuid, "
        "       (%(levels)s::uuid[])[1 + abs(hashtext(%(tag)s || ':lvl:' || g)) %% %(k)s], "
        f"      {filters_sql}, NULL, true, NULL, "
        "       now() - interval '20 hours' + g * interval '1 millisecond', NULL "
        "FROM generate_series(1, %(n)s) g, "
        "     LATERAL (SELECT abs(hashtext(%(tag)s || ':f:' || g)) %% 100 AS h, "
        "                     abs(hashtext(%(tag)s || ':fb:' || g)) AS b) x",
        {"tag": tag, "n": n, "p": providers, "levels": level_ids, "k": len(level_ids)},
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, created_at) "
        "SELECT gen_random_uuid(), 'admin', 'subscription', s.id, 'created', NULL, to_jsonb(s), s.created_at "
        "FROM provider_subscriptions s ORDER BY s.created_at, s.id"
    )


def seed_leads(cur, tag: str, n: int, niche_ids: list, payload_sql: str) -> None:
    """Approved leads (confirmed_at set), niches interleaved in created_at order,
    each with its 'approved' audit row."""
    cur.execute(
        "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, created_at) "
        "SELECT md5(%(tag)s || ':lead:' || g)::uuid, (%(niches)s::uuid[])[1 + (g - 1) %% %(k)s], 'approved', "
        f"      {payload_sql}, 'lead' || g || '@bench.example', "
        "       now() - interval '2 hours' + g * interval '1 millisecond', "
        "       now() - interval '3 hours' + g * interval '1 millisecond' "
        "FROM generate_series(1, %(n)s) g",
        {"tag": tag, "n": n, "niches": niche_ids, "k": len(niche_ids)},
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, created_at) "
        "SELECT gen_random_uuid(), 'admin', 'lead', l.id, 'approved', '{\"status\": \"pending_approval\"}', "
        '       \'{"status": "approved"}\', l.confirmed_at FROM leads l ORDER BY l.created_at'
    )


# A market filter mix: 40 % {}, 30 % a zip list (5 of 20 zips: 25 % of leads),
# 25 % a size range of width 50 (about half the leads), 5 % both (zip list + min).
MARKET_FILTERS = (
    "CASE WHEN x.h < 40 THEN '{}'::jsonb "
    "     WHEN x.h < 70 THEN jsonb_build_object('zip', zl.zips) "
    "     WHEN x.h < 95 THEN jsonb_build_object('size', jsonb_build_object('min', x.b %% 51, 'max', x.b %% 51 + 50)) "
    "     ELSE jsonb_build_object('zip', zl.zips, 'size', jsonb_build_object('min', x.b %% 51)) END"
)
MARKET_ZIP_LIST = (
    f"LATERAL (SELECT jsonb_agg(({ZIP_BASE} + ((x.b + j * 4) %% {ZIP_COUNT}))::text ORDER BY j) AS zips "
    "         FROM generate_series(0, 4) j) zl"
)
MARKET_PAYLOAD = (
    f"jsonb_build_object('zip', ({ZIP_BASE} + abs(hashtext(%(tag)s || ':lz:' || g)) %% {ZIP_COUNT})::text, "
    "                   'size', 1 + abs(hashtext(%(tag)s || ':ls:' || g)) %% 100)"
)


def seed_market(srv: Servers, db: str, *, providers: int, subscriptions: int, leads: int) -> dict:
    import psycopg

    tag = "market"
    t0 = time.perf_counter()
    with psycopg.connect(srv.dsn(db)) as conn, conn.cursor() as cur:
        niche_ids, level_ids = seed_catalog(cur, tag, ["bench-roofing", "bench-solar", "bench-plumbing"], MARKET_LEVELS)
        seed_providers(cur, tag, providers, "200 + abs(hashtext(%(tag)s || ':bal:' || g)) %% 1801")
        # The zip-list lateral needs x.b: splice it after x in the FROM list.
        filters = MARKET_FILTERS
        cur.execute(
            "INSERT INTO provider_subscriptions (id, provider_id, competition_level_id, filters, last_received_at, "
            "                                    active, pause_reason, created_at, cancelled_at) "
            "SELECT md5(%(tag)s || ':sub:' || g)::uuid, "
            "       md5(%(tag)s || ':prov:' || (1 + (g - 1) %% %(p)s))::uuid, "
            "       (%(levels)s::uuid[])[1 + abs(hashtext(%(tag)s || ':lvl:' || g)) %% %(k)s], "
            f"      {filters}, NULL, true, NULL, "
            "       now() - interval '20 hours' + g * interval '1 millisecond', NULL "
            "FROM generate_series(1, %(n)s) g, "
            "     LATERAL (SELECT abs(hashtext(%(tag)s || ':f:' || g)) %% 100 AS h, "
            "                     abs(hashtext(%(tag)s || ':fb:' || g)) AS b) x, "
            f"    {MARKET_ZIP_LIST}",
            {"tag": tag, "n": subscriptions, "p": providers, "levels": level_ids, "k": len(level_ids)},
        )
        cur.execute(
            "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state, "
            "                        created_at) "
            "SELECT gen_random_uuid(), 'admin', 'subscription', s.id, 'created', NULL, to_jsonb(s), s.created_at "
            "FROM provider_subscriptions s ORDER BY s.created_at, s.id"
        )
        seed_leads(cur, tag, leads, niche_ids, MARKET_PAYLOAD)
        conn.commit()
    vacuum_analyze(srv, db)
    return {"seconds": time.perf_counter() - t0, "niches": niche_ids, "levels": level_ids}


def seed_scale(srv: Servers, db: str, *, subscriptions: int, leads: int) -> dict:
    """One niche, one level (max_providers 3), ``subscriptions`` subscriptions each
    wanting one zip of 20 (5 % of them match any lead), 5 per provider."""
    import psycopg

    tag = f"scale{subscriptions}"
    providers = max(20, subscriptions // 5)
    t0 = time.perf_counter()
    with psycopg.connect(srv.dsn(db)) as conn, conn.cursor() as cur:
        niche_ids, level_ids = seed_catalog(cur, tag, [f"bench-scale-{subscriptions}"], [("Shared", "10.00", 3, 1)])
        seed_providers(cur, tag, providers, "100000")
        seed_subscriptions(
            cur,
            tag,
            subscriptions,
            providers,
            level_ids,
            f"jsonb_build_object('zip', jsonb_build_array(({ZIP_BASE} + x.b %% {ZIP_COUNT})::text))",
        )
        # Lead g wants zip g mod 20: consecutive leads match disjoint 5 % slices.
        seed_leads(
            cur,
            tag,
            leads + 5,
            niche_ids,  # + 5 left approved for --explain
            f"jsonb_build_object('zip', ({ZIP_BASE} + (g - 1) %% {ZIP_COUNT})::text, "
            "'size', 1 + abs(hashtext(%(tag)s || ':ls:' || g)) %% 100)",
        )
        conn.commit()
    vacuum_analyze(srv, db)
    return {"seconds": time.perf_counter() - t0, "providers": providers, "level_id": level_ids[0]}


# The buyer controls every subscription carries unless --no-controls (DOMAIN.md "Buyer
# controls"): a schedule open all week (evaluated, never closed), day/week/month caps
# high enough not to end the run, a ZIP radius around the bench ZIPs' centre (for the
# subscriptions without a ZIP list), and a day spend cap on every provider.
CONTROLS_SCHEDULE = {
    d: [["00:00", "12:00"], ["12:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
CONTROLS_CAPS = {"day": 100000, "week": 500000, "month": 1000000}
CONTROLS_NEAR = {"near": {"zip": "30303", "miles": 60}}
CONTROLS_SPEND = {"day": "1000000.00", "month": "9000000.00"}


def add_controls(srv: Servers, db: str) -> None:
    """Give every subscription and provider the controls, audited (the explanations
    read them from the audit rows)."""
    import json

    import psycopg

    with psycopg.connect(srv.dsn(db)) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE provider_subscriptions SET schedule = %s::jsonb, caps = %s::jsonb, "
            "  filters = CASE WHEN filters ? 'zip' THEN filters ELSE filters || jsonb_build_object('zip', %s::jsonb) END",
            (json.dumps(CONTROLS_SCHEDULE), json.dumps(CONTROLS_CAPS), json.dumps(CONTROLS_NEAR)),
        )
        cur.execute("UPDATE service_providers SET spend_caps = %s::jsonb", (json.dumps(CONTROLS_SPEND),))
        cur.execute(
            "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state) "
            "SELECT gen_random_uuid(), 'admin', 'subscription', s.id, 'updated', NULL, to_jsonb(s) "
            "FROM provider_subscriptions s ORDER BY s.created_at, s.id"
        )
        cur.execute(
            "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state) "
            "SELECT gen_random_uuid(), 'admin', 'provider', p.id, 'settings_updated', NULL, to_jsonb(p) "
            "FROM service_providers p ORDER BY p.created_at, p.id"
        )
        conn.commit()
    vacuum_analyze(srv, db)


def vacuum_analyze(srv: Servers, db: str) -> None:
    """What autovacuum would have done to a live database by now."""
    import psycopg

    with psycopg.connect(srv.dsn(db), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def lead_ids(srv: Servers, db: str) -> list[str]:
    import psycopg

    with psycopg.connect(srv.dsn(db)) as conn:
        return [
            str(r[0]) for r in conn.execute("SELECT id FROM leads WHERE status = 'approved' ORDER BY created_at, id")
        ]


def market_stats(srv: Servers, db: str) -> dict:
    import psycopg

    with psycopg.connect(srv.dsn(db)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM leads WHERE status = 'approved'), "
            "       (SELECT count(*) FROM leads WHERE status = 'distributed'), "
            "       (SELECT count(*) FROM lead_assignments), "
            "       (SELECT count(*) FROM ledger_entries WHERE type = 'charge'), "
            "       (SELECT count(*) FROM balance_drift), "
            "       (SELECT count(*) FROM niches n WHERE n.distributed_count <> "
            "            (SELECT count(*) FROM leads l WHERE l.niche_id = n.id AND l.status = 'distributed')), "
            "       (SELECT count(*) FROM (SELECT niche_id FROM leads WHERE status = 'distributed' "
            "            GROUP BY niche_id HAVING count(DISTINCT distribution_seq) <> count(*) "
            "                OR max(distribution_seq) <> count(*) - 1) x), "
            "       (SELECT count(*) FROM distribution_records), "
            "       (SELECT count(*) FROM audit_logs WHERE action IN ('auto_paused', 'auto_deactivated')), "
            "       (SELECT count(*) FROM outbox)"
        ).fetchone()
    keys = (
        "approved",
        "distributed",
        "assignments",
        "charges",
        "drift",
        "count_mismatch",
        "seq_gaps",
        "records",
        "auto_paused",
        "outbox",
    )
    return dict(zip(keys, row, strict=True))


def explanation_check(srv: Servers, db: str, redis_url: str) -> str:
    """Explain one distributed lead for every subscription of its niche: the seeded
    audit rows must let each decision be explained ('unexplained' / 'not_subscribed'
    would mean the seed lacks history)."""
    import psycopg

    with psycopg.connect(srv.dsn(db)) as conn:
        lid = conn.execute(
            "SELECT id FROM leads WHERE status = 'distributed' ORDER BY distributed_at DESC LIMIT 1"
        ).fetchone()[0]
    point_settings_at(database_url=srv.pg.url(db), redis_url=redis_url)
    from hotlead_app.db import reset_engine
    from hotlead_app.services import distribution

    t0 = time.perf_counter()
    try:
        decisions = distribution.explain(lead_id=lid)
    finally:
        reset_engine()
    counts: dict[str, int] = {}
    for d in decisions:
        key = d.reason.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    bad = counts.get("unexplained", 0) + counts.get("not_subscribed", 0)
    return (
        f"{'ok' if bad == 0 else 'PROBLEM'}: explained lead {lid} for {len(decisions)} subscriptions in "
        f"{time.perf_counter() - t0:.1f} s: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    )


def sanity_line(s: dict) -> str:
    ok = (
        s["drift"] == 0
        and s["count_mismatch"] == 0
        and s["seq_gaps"] == 0
        and s["assignments"] == s["charges"]
        and s["records"] == s["distributed"]
    )
    return (
        f"{'ok' if ok else 'PROBLEM'}: distributed={s['distributed']} still approved={s['approved']} "
        f"assignments={s['assignments']} charges={s['charges']} balance drift={s['drift']} "
        f"seq gaps={s['seq_gaps']} niche count mismatches={s['count_mismatch']} "
        f"auto-pause/deactivate audits={s['auto_paused']}"
    )


# --------------------------------------------------------------------------- (a) the engine alone


def _engine_worker(db_url: str, redis_url: str, ids: list[str], barrier, out) -> None:
    """One OS process: distribute its leads through the service, one by one."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.environ["HOTLEAD_DATABASE_URL"] = db_url
    os.environ["HOTLEAD_REDIS_URL"] = redis_url
    import logging

    logging.basicConfig(level=logging.WARNING)
    from sqlalchemy import text

    from hotlead_app.db import unit_of_work
    from hotlead_app.services import distribution

    with unit_of_work() as uow:  # connect before the clock starts
        uow.session.execute(text("SELECT 1"))
    barrier.wait()
    outcomes: dict[str, int] = {}
    assignments = errors = 0
    times = []
    for lid in ids:
        for attempt in range(5):
            t0 = time.perf_counter()
            try:
                result = distribution.distribute_lead(lead_id=uuid.UUID(lid))
            except Exception as exc:  # serialization failure etc.: retry like the Celery task
                errors += 1
                if attempt == 4:
                    print(f"engine worker: lead {lid} failed: {exc}", file=sys.stderr, flush=True)
                time.sleep(0.01 * (attempt + 1))
                continue
            times.append(time.perf_counter() - t0)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            assignments += len(result.assignments)
            break
    out.put({"outcomes": outcomes, "assignments": assignments, "errors": errors, "times": times})


@dataclass
class PassResult:
    name: str
    leads: int
    seconds: float
    distributed: int
    assignments: int
    errors: int = 0
    latencies: list = field(default_factory=list)
    note: str = ""

    @property
    def leads_per_s(self) -> float:
        return self.distributed / self.seconds if self.seconds else 0.0

    @property
    def assignments_per_s(self) -> float:
        return self.assignments / self.seconds if self.seconds else 0.0


def run_engine_pass(srv: Servers, db: str, ids: list[str], processes: int) -> PassResult:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    # Process i takes leads i, i+P, i+2P, ...: the list is interleaved across niches.
    chunks = [ids[i::processes] for i in range(processes)]
    # Redis db 1: the after-commit e-mail jobs this pass publishes must not reach the
    # Celery pass's workers (db 0), which use another database.
    procs = [
        ctx.Process(target=_engine_worker, args=(srv.pg.url(db), srv.redis.url(1), chunk, barrier, out), daemon=True)
        for chunk in chunks
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
        t0 = time.perf_counter()
        results = [out.get(timeout=3600) for _ in procs]
        seconds = time.perf_counter() - t0
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
    stats = market_stats(srv, db)
    lat = [t for r in results for t in r["times"]]
    return PassResult(
        "engine", len(ids), seconds, stats["distributed"], stats["assignments"], sum(r["errors"] for r in results), lat
    )


# --------------------------------------------------------------------------- (b) Celery workers


def child_env(database_url: str, redis_url: str) -> dict[str, str]:
    """A worker's environment: the runner's, pointed at the bench servers."""
    from hotlead_app.devstack.runner import child_env as runner_env

    return runner_env({"HOTLEAD_ENV": "dev", "HOTLEAD_DATABASE_URL": database_url, "HOTLEAD_REDIS_URL": redis_url})


def run_celery_pass(
    srv: Servers, db: str, ids: list[str], workers: int, concurrency: int, expect_left: int, stall_seconds: float
) -> PassResult:
    import psycopg

    from hotlead_app.devstack.runner import celery_command

    redis_url = srv.redis.url(0)
    env = child_env(srv.pg.url(db), redis_url)
    logs, procs = [], []
    for i in range(workers):
        path = srv.tmp / f"celery-worker-{i}.log"
        with open(path, "wb") as handle:
            proc = subprocess.Popen(
                celery_command(
                    "worker",
                    "--loglevel=INFO",
                    f"--concurrency={concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    f"--hostname=bench{i}-{uuid.uuid4().hex[:6]}@%h",
                    # The distribution workers of production: emails have workers of their own.
                    "-Q",
                    "distribution,celery",
                ),
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        srv.children.append(proc)
        procs.append(proc)
        logs.append(path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError("a Celery worker exited:\n" + logs[procs.index(dead[0])].read_text()[-3000:])
        if all(b"ready." in path.read_bytes() for path in logs):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("Celery workers not ready within 90 s")

    point_settings_at(database_url=srv.pg.url(db), redis_url=redis_url)
    from hotlead_app.infra.queue import get_celery

    app = get_celery()
    note = ""
    with psycopg.connect(srv.dsn(db), autocommit=True) as conn:
        with app.producer_or_acquire() as producer:  # connect to the broker before the clock
            producer.connection.ensure_connection()
        t0 = time.perf_counter()
        for lid in ids:
            app.send_task(jobs.DISTRIBUTE_LEAD, kwargs={"lead_id": lid})
        sent = time.perf_counter() - t0
        last, last_change = None, time.monotonic()
        while True:
            left = conn.execute("SELECT count(*) FROM leads WHERE status = 'approved'").fetchone()[0]
            if left <= expect_left:
                break
            if left != last:
                last, last_change = left, time.monotonic()
            elif time.monotonic() - last_change > stall_seconds:
                note = f"stalled with {left} leads still approved"
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
    for proc in procs:
        stop_process_group(proc)
    retries = sum(path.read_text(errors="replace").count("Retry in") for path in logs)
    if retries:
        import re as _re

        reasons: dict[str, int] = {}
        for path in logs:
            for m in _re.finditer(r"Retry in \S+: (\w+)", path.read_text(errors="replace")):
                reasons[m.group(1)] = reasons.get(m.group(1), 0) + 1
        print(f"    retried task errors by type: {reasons}")
        sample = next((path for path in logs if "Retry in" in path.read_text(errors="replace")), None)
        if sample is not None:
            text_ = sample.read_text(errors="replace")
            i = text_.index("Retry in")
            print("    first retry:", text_[max(0, i - 200) : i + 400].replace("\n", " | ")[:800])
    stats = market_stats(srv, db)
    res = PassResult(
        "celery",
        len(ids),
        seconds,
        stats["distributed"],
        stats["assignments"],
        retries,
        note=note or f"send_task x{len(ids)} took {sent:.2f} s",
    )
    return res


# --------------------------------------------------------------------------- pgbench


def run_pgbench(srv: Servers, scale: int, clients: int, seconds: int) -> tuple[float, str]:
    from hotlead_app.devstack.embedded import pg_bin_dir

    with admin_conn(srv) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PGBENCH_DB}"')
    pgbench = str(pg_bin_dir() / "pgbench")
    common: list[str] = []
    env = srv.libpq_env()
    init = subprocess.run(
        [pgbench, *common, "-i", "-q", "-s", str(scale), PGBENCH_DB],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if init.returncode != 0:
        raise RuntimeError(f"pgbench -i failed:\n{init.stdout}\n{init.stderr}")
    run = subprocess.run(
        [pgbench, *common, "-c", str(clients), "-j", str(clients), "-T", str(seconds), PGBENCH_DB],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 300,
    )
    if run.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{run.stdout}\n{run.stderr}")
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout) or re.search(
        r"tps = ([0-9.]+)", run.stdout
    )
    if not m:
        raise RuntimeError(f"no tps in pgbench output:\n{run.stdout}")
    with admin_conn(srv) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DB}" WITH (FORCE)')
    return float(m.group(1)), run.stdout


# --------------------------------------------------------------------------- one distribution vs level size


@dataclass
class ScaleResult:
    subscriptions: int
    sql_ms: list
    total_ms: list
    assignments: list
    seed_seconds: float

    @property
    def median_sql(self) -> float:
        return statistics.median(self.sql_ms)

    @property
    def median_total(self) -> float:
        return statistics.median(self.total_ms)


def time_one_distribution(srv: Servers, db: str, n_leads: int) -> tuple[list, list, list]:
    """Distribute leads one at a time on one connection (as a long-lived worker
    does): the time of the function call, and of the call plus its commit."""
    import psycopg

    ids = lead_ids(srv, db)[:n_leads]
    sql_ms, total_ms, assigned = [], [], []
    with psycopg.connect(srv.dsn(db)) as conn:
        conn.execute("SELECT 1")
        conn.commit()
        for lid in ids:
            t0 = time.perf_counter()
            result = conn.execute("SELECT hotlead_distribute_lead(%s)", (lid,)).fetchone()[0]
            t1 = time.perf_counter()
            conn.commit()
            t2 = time.perf_counter()
            sql_ms.append((t1 - t0) * 1000)
            total_ms.append((t2 - t0) * 1000)
            assigned.append(len(result.get("assignments") or []))
    return sql_ms, total_ms, assigned


WALK_SQL = """
SELECT s.id, s.provider_id, s.last_received_at, s.created_at
  FROM provider_subscriptions s
  JOIN service_providers p ON p.id = s.provider_id
 WHERE s.competition_level_id = $1
   AND s.active
   AND p.status = 'active'
   AND p.balance >= $2
   AND hotlead_filter_mismatch(s.filters, $3) IS NULL
 ORDER BY s.last_received_at ASC NULLS FIRST, s.created_at ASC, s.id ASC
"""


def explain_walk(srv: Servers, db: str) -> str:
    """The engine's per-level SELECT: the plan PostgreSQL really runs inside the
    function (auto_explain, nested statements), and the same SELECT reproduced
    outside it (custom and generic plan, and with a fast-start LIMIT)."""
    import psycopg
    from psycopg import sql

    lines: list[str] = []
    lid = lead_ids(srv, db)[0]
    with psycopg.connect(srv.dsn(db)) as conn:
        level_id, price = conn.execute("SELECT id, price_per_lead FROM competition_levels LIMIT 1").fetchone()
        payload = conn.execute("SELECT payload FROM leads WHERE id = %s", (lid,)).fetchone()[0]
        conn.rollback()
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        # 1 ms: the walk is caught when it is slow, while the tiny per-row queries of
        # hotlead_filter_mismatch (one per subscription examined) are not logged.
        for setting in (
            "auto_explain.log_min_duration = 1",
            "auto_explain.log_analyze = on",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_buffers = on",
            "auto_explain.log_timing = on",
            "client_min_messages = log",
        ):
            conn.execute(f"SET {setting}")
        conn.commit()
        for call in range(1, 8):
            notices.clear()
            conn.execute("SELECT hotlead_distribute_lead(%s)", (lid,))
            conn.rollback()  # leave the lead for the next call
            if call in (1, 7):
                walk = [n for n in notices if "hotlead_filter_mismatch" in n and "ORDER BY" in n]
                lines.append(f"--- inside hotlead_distribute_lead, call {call} on one connection (auto_explain):")
                lines.extend(walk[:1] or ["(not captured: the walk took < 1 ms)"])
        conn.execute("SET client_min_messages = notice")
        conn.execute("SET auto_explain.log_min_duration = -1")
        conn.commit()
        with conn.cursor() as cur:
            for mode in ("force_custom_plan", "force_generic_plan"):
                cur.execute(f"SET plan_cache_mode = {mode}")
                cur.execute("DEALLOCATE ALL")
                cur.execute("PREPARE walk(uuid, numeric, jsonb) AS " + WALK_SQL)
                cur.execute(
                    sql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE walk({}, {}, {}::jsonb)").format(
                        sql.Literal(level_id), sql.Literal(price), sql.Literal(json.dumps(payload))
                    )
                )
                lines.append(f"--- the same SELECT outside, {mode} (whole result, no early exit):")
                lines.extend(r[0] for r in cur.fetchall())
            cur.execute("SET plan_cache_mode = auto")
            cur.execute("DEALLOCATE ALL")
            cur.execute("PREPARE walk3(uuid, numeric, jsonb) AS " + WALK_SQL + " LIMIT 3")
            cur.execute(
                sql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE walk3({}, {}, {}::jsonb)").format(
                    sql.Literal(level_id), sql.Literal(price), sql.Literal(json.dumps(payload))
                )
            )
            lines.append("--- the same SELECT with LIMIT 3 (what a fast-start plan does):")
            lines.extend(r[0] for r in cur.fetchall())
            cur.execute(
                "SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes "
                "WHERE relname = 'provider_subscriptions' ORDER BY indexrelname"
            )
            lines.append("--- pg_stat_user_indexes on provider_subscriptions (whole scale run):")
            lines.extend(f"    {r[0]}: idx_scan={r[1]} idx_tup_read={r[2]}" for r in cur.fetchall())
            cur.execute(
                "SELECT seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'provider_subscriptions'"
            )
            r = cur.fetchone()
            lines.append(f"    seq_scan={r[0]} seq_tup_read={r[1]}")
        conn.rollback()
    return "\n".join(lines)


# --------------------------------------------------------------------------- explanations

EXPLAIN_DB = "bench_explain"
#: Leads distributed before the timing: the history the explanations' probes read
#: (cap counts, spend sums, duplicate consumers: 1 consumer in 4 comes back).
EXPLAIN_HISTORY_LEADS = 400


def seed_explanations(srv: Servers, db: str, *, subscriptions: int) -> list[str]:
    """One niche of 3 levels and ``subscriptions`` subscriptions (3 per provider), every
    one with the buyer controls; ``EXPLAIN_HISTORY_LEADS`` leads distributed one by one
    through the engine, a quarter of them from a returning consumer.  Returns the
    distributed leads, newest first."""
    import psycopg

    tag = f"explain{subscriptions}"
    providers = max(1, subscriptions // 3)
    with psycopg.connect(srv.dsn(db)) as conn, conn.cursor() as cur:
        niche_ids, level_ids = seed_catalog(cur, tag, ["bench-explain"], MARKET_LEVELS)
        seed_providers(cur, tag, providers, "1000000")
        seed_subscriptions(
            cur,
            tag,
            subscriptions,
            providers,
            level_ids,
            "CASE WHEN x.h < 50 THEN '{}'::jsonb "
            "     ELSE jsonb_build_object('size', jsonb_build_object('min', x.b %% 51, 'max', x.b %% 51 + 50)) END",
        )
        seed_leads(cur, tag, EXPLAIN_HISTORY_LEADS, niche_ids, MARKET_PAYLOAD)
        cur.execute(
            "UPDATE leads SET consumer_email = 'consumer' || (abs(hashtext(id::text)) %% %s) || '@bench.example', "
            "approved_at = confirmed_at",
            (EXPLAIN_HISTORY_LEADS * 3 // 4,),
        )
        conn.commit()
    add_controls(srv, db)
    ids = lead_ids(srv, db)
    with psycopg.connect(srv.dsn(db)) as conn:
        for lid in ids:
            conn.execute("SELECT hotlead_distribute_lead(%s)", (lid,))
            conn.commit()
        done = conn.execute(
            "SELECT id FROM leads WHERE status = 'distributed' ORDER BY distributed_at DESC, id"
        ).fetchall()
    vacuum_analyze(srv, db)
    return [str(r[0]) for r in done]


@dataclass
class ExplainResult:
    subscriptions: int
    ms: list
    reasons: dict

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.ms)
        return ordered[max(0, round(len(ordered) * 0.95) - 1)]


def time_explanations(srv: Servers, db: str, redis_url: str, lead_ids_: list[str], reps: int) -> ExplainResult:
    """``distribution.explain`` of the newest distributed leads, ``reps`` calls in turn
    over the 20 newest (after one warm-up call), each timed from the call to its answer."""
    point_settings_at(database_url=srv.pg.url(db), redis_url=redis_url)
    from hotlead_app.db import reset_engine
    from hotlead_app.services import distribution

    pool = [uuid.UUID(x) for x in lead_ids_[:20]]
    ms: list[float] = []
    reasons: dict[str, int] = {}
    try:
        decisions = distribution.explain(lead_id=pool[0])  # warm-up: connection, imports
        subscriptions = len(decisions)
        for i in range(reps):
            t0 = time.perf_counter()
            decisions = distribution.explain(lead_id=pool[i % len(pool)])
            ms.append((time.perf_counter() - t0) * 1000)
            for d in decisions:
                key = d.reason.split(":")[0]
                reasons[key] = reasons.get(key, 0) + 1
    finally:
        reset_engine()
    return ExplainResult(subscriptions, ms, reasons)


def explanations_line(res: ExplainResult, reps: int) -> str:
    ok = res.p95 < EXPLAIN_TARGET_MS
    return (
        f"explanations of a lead with {res.subscriptions} controlled subscriptions (schedule, caps, spend cap, "
        f"ZIP radius), {reps} calls: p50 {res.p50:.1f} ms, p95 {res.p95:.1f} ms "
        f"(target p95 < {EXPLAIN_TARGET_MS} ms): {'PASS' if ok else 'FAIL'}; reasons "
        + ", ".join(f"{k}={v}" for k, v in sorted(res.reasons.items()))
    )


EXPLAIN_TARGET_MS = 300


def run_explanations(srv: Servers, args: argparse.Namespace) -> str:
    clone(srv, TEMPLATE_DB, EXPLAIN_DB)
    t0 = time.perf_counter()
    done = seed_explanations(srv, EXPLAIN_DB, subscriptions=args.explain_subscriptions)
    log(
        f"explanations: {args.explain_subscriptions} controlled subscriptions, {len(done)} leads distributed "
        f"as history in {time.perf_counter() - t0:.1f} s"
    )
    res = time_explanations(srv, EXPLAIN_DB, srv.redis.url(2), done, args.explain_reps)
    srv.pg.drop_database(EXPLAIN_DB)
    return explanations_line(res, args.explain_reps)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="divide every size by 10 (and pgbench -T 10)")
    ap.add_argument("--divide", type=int, default=None, help="divide every size by this (default 1, --quick 10)")
    ap.add_argument("--providers", type=int, default=1000)
    ap.add_argument("--subscriptions", type=int, default=5000)
    ap.add_argument("--leads", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=2, help="engine OS processes (default 2)")
    ap.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes (default 2)")
    ap.add_argument("--celery-concurrency", type=int, default=1, help="--concurrency of each worker (default 1)")
    ap.add_argument("--pgbench-scale", type=int, default=10)
    ap.add_argument("--pgbench-clients", type=int, default=2)
    ap.add_argument("--pgbench-seconds", type=int, default=None, help="default 20 (--quick 10)")
    ap.add_argument(
        "--scale-sizes",
        default="1000,10000,100000",
        help="subscriptions in the one level of the single-distribution test",
    )
    ap.add_argument("--scale-leads", type=int, default=15, help="leads timed per size (median reported)")
    ap.add_argument(
        "--stall-seconds", type=float, default=60, help="give up on Celery after this long without progress"
    )
    ap.add_argument("--skip-engine", action="store_true")
    ap.add_argument("--skip-celery", action="store_true")
    ap.add_argument("--skip-pgbench", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-explanations", action="store_true")
    ap.add_argument(
        "--explanations-only",
        action="store_true",
        help="run only the explanations timing (a lead with --explain-subscriptions controlled subscriptions)",
    )
    ap.add_argument("--explain-subscriptions", type=int, default=120)
    ap.add_argument("--explain-reps", type=int, default=60, help="explanation calls timed (p50/p95)")
    ap.add_argument(
        "--explain", action="store_true", help="print the per-level plan of the engine at the largest scale size"
    )
    ap.add_argument(
        "--no-controls",
        dest="controls",
        action="store_false",
        help="subscriptions without the buyer controls (schedule, caps, ZIP radius, spend cap), as before",
    )
    args = ap.parse_args(argv)
    div = args.divide or (10 if args.quick else 1)
    args.providers = max(10, args.providers // div)
    args.subscriptions = max(50, args.subscriptions // div)
    args.leads = max(20, args.leads // div)
    args.sizes = [max(100, int(s) // div) for s in args.scale_sizes.split(",") if s.strip()]
    if args.pgbench_seconds is None:
        args.pgbench_seconds = 10 if args.quick else 20
    if args.quick:
        args.pgbench_scale = max(1, args.pgbench_scale // 10)
    if args.explanations_only:
        args.skip_engine = args.skip_celery = args.skip_pgbench = args.skip_scale = True
        args.skip_explanations = False
    return args


def verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    os.environ.setdefault("HOTLEAD_ENV", "dev")
    started = time.perf_counter()
    srv = BenchServers("hotlead-bench-")
    summary: list[str] = []
    load = os.getloadavg()
    say(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        + ("  (WARNING: the box is busy; figures will be noisy)" if load[0] > 0.5 else "")
    )
    try:
        log(
            f"starting private PostgreSQL (port {srv.pg.port}, fsync=on synchronous_commit=on "
            f"full_page_writes=on, i.e. fast_unsafe=False) and Redis (port {srv.redis.port}) in {srv.tmp}"
        )
        srv.start()
        import psycopg

        with admin_conn(srv) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_sync_method')"
                ).fetchall()
            )
            conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        log(f"PostgreSQL {version}: {settings}")
        t = time.perf_counter()
        migrate(srv.pg.url(TEMPLATE_DB))
        log(f"migrated {TEMPLATE_DB} with alembic in {time.perf_counter() - t:.1f} s")

        engine_res = celery_res = None
        tps = None

        def do_pgbench() -> float | None:
            if args.skip_pgbench:
                return None
            log(
                f"pgbench TPC-B: -i -s {args.pgbench_scale}, then -c {args.pgbench_clients} "
                f"-j {args.pgbench_clients} -T {args.pgbench_seconds}"
            )
            value, out = run_pgbench(srv, args.pgbench_scale, args.pgbench_clients, args.pgbench_seconds)
            for ln in out.splitlines():
                if ln.startswith(("latency average", "tps", "number of transactions actually")):
                    say(f"    pgbench: {ln}")
            line = (
                f"pgbench TPC-B -s {args.pgbench_scale} -c {args.pgbench_clients} -j {args.pgbench_clients} "
                f"-T {args.pgbench_seconds}: {value:.1f} tps"
            )
            say(line)
            summary.append(line)
            return value

        if not (args.skip_engine and args.skip_celery):
            clone(srv, TEMPLATE_DB, SEED_DB)
            seeded = seed_market(
                srv, SEED_DB, providers=args.providers, subscriptions=args.subscriptions, leads=args.leads
            )
            if args.controls:
                add_controls(srv, SEED_DB)
                log("every subscription carries a schedule, caps and a ZIP radius; every provider a spend cap")
            log(
                f"seeded {args.providers} providers (deposits via ledger_entries), {args.subscriptions} "
                f"subscriptions over 3 niches x 3 levels, {args.leads} approved leads in {seeded['seconds']:.1f} s"
            )
            with psycopg.connect(srv.dsn(SEED_DB)) as conn:
                mix = conn.execute(
                    "SELECT count(*) FILTER (WHERE filters = '{}'), count(*) FILTER (WHERE filters ? 'zip' "
                    "AND NOT filters ? 'size'), count(*) FILTER (WHERE filters ? 'size' AND NOT filters ? 'zip'), "
                    "count(*) FILTER (WHERE filters ? 'zip' AND filters ? 'size') FROM provider_subscriptions"
                ).fetchone()
                share = conn.execute(
                    "SELECT avg(m)::numeric(5,3) FROM (SELECT (SELECT count(*) FROM provider_subscriptions s "
                    "JOIN competition_levels cl ON cl.id = s.competition_level_id AND cl.niche_id = l.niche_id "
                    "WHERE s.filters <> '{}' AND hotlead_filter_mismatch(s.filters, l.payload) IS NULL)::numeric "
                    "/ nullif((SELECT count(*) FROM provider_subscriptions s JOIN competition_levels cl "
                    "ON cl.id = s.competition_level_id AND cl.niche_id = l.niche_id WHERE s.filters <> '{}'), 0) AS m "
                    "FROM leads l ORDER BY l.created_at LIMIT 60) x"
                ).fetchone()[0]
            log(
                f"filters: {{}}={mix[0]} zip-list={mix[1]} size-range={mix[2]} both={mix[3]}; "
                f"a lead matches {float(share or 0):.0%} of the filtered subscriptions of its niche"
            )
            clone(srv, SEED_DB, ENGINE_DB)
            clone(srv, SEED_DB, CELERY_DB)
            ids = lead_ids(srv, SEED_DB)
            # pgbench right before the engine pass: both see the same machine.
            tps = do_pgbench()

            if not args.skip_engine:
                log(f"(a) engine alone: {args.processes} OS processes x distribution.distribute_lead, {len(ids)} leads")
                engine_res = run_engine_pass(srv, ENGINE_DB, ids, args.processes)
                stats = market_stats(srv, ENGINE_DB)
                log(f"    {sanity_line(stats)}")
                log(f"    {explanation_check(srv, ENGINE_DB, srv.redis.url(1))}")
                lat = sorted(engine_res.latencies)
                p50 = statistics.median(lat) * 1000 if lat else 0
                p95 = lat[int(len(lat) * 0.95) - 1] * 1000 if lat else 0
                line = (
                    f"(a) engine, {args.processes} processes: {engine_res.distributed} leads distributed, "
                    f"{engine_res.assignments} assignments in {engine_res.seconds:.2f} s -> "
                    f"{engine_res.leads_per_s:.1f} leads/s, {engine_res.assignments_per_s:.1f} assignments/s "
                    f"(per call p50 {p50:.1f} ms, p95 {p95:.1f} ms; retried errors {engine_res.errors})"
                )
                say(line)
                summary.append(line)
                expect_left = stats["approved"]
            else:
                expect_left = 0

            if not args.skip_celery:
                log(
                    f"(b) production path: {args.celery_workers} x `celery worker --concurrency="
                    f"{args.celery_concurrency}` fed by send_task('{jobs.DISTRIBUTE_LEAD}') x {len(ids)}"
                )
                celery_res = run_celery_pass(
                    srv, CELERY_DB, ids, args.celery_workers, args.celery_concurrency, expect_left, args.stall_seconds
                )
                log(f"    {sanity_line(market_stats(srv, CELERY_DB))}")
                line = (
                    f"(b) celery, {args.celery_workers} worker(s) x concurrency {args.celery_concurrency}: "
                    f"{celery_res.distributed} leads distributed, {celery_res.assignments} assignments in "
                    f"{celery_res.seconds:.2f} s -> {celery_res.leads_per_s:.1f} leads/s, "
                    f"{celery_res.assignments_per_s:.1f} assignments/s "
                    f"(task retries {celery_res.errors}; {celery_res.note})"
                )
                say(line)
                summary.append(line)
            for name in (ENGINE_DB, CELERY_DB, SEED_DB):
                srv.pg.drop_database(name)
        else:
            tps = do_pgbench()

        if not args.skip_explanations:
            line = run_explanations(srv, args)
            say(line)
            summary.append(line)

        scale_results: list[ScaleResult] = []
        explain_text = ""
        if not args.skip_scale:
            for n in args.sizes:
                db = f"bench_scale_{n}"
                clone(srv, TEMPLATE_DB, db)
                seeded = seed_scale(srv, db, subscriptions=n, leads=args.scale_leads)
                if args.controls:
                    add_controls(srv, db)
                sql_ms, total_ms, assigned = time_one_distribution(srv, db, args.scale_leads)
                res = ScaleResult(n, sql_ms, total_ms, assigned, seeded["seconds"])
                scale_results.append(res)
                log(
                    f"    {n} subscriptions ({seeded['providers']} providers, seeded in {seeded['seconds']:.1f} s): "
                    f"per lead ms (call+commit) {[round(x, 1) for x in total_ms]}; assignments {assigned}"
                )
                if args.explain and n == max(args.sizes):
                    explain_text = explain_walk(srv, db)
                srv.pg.drop_database(db)
            for res in scale_results:
                first, rest = res.sql_ms[:5], res.sql_ms[5:]
                line = (
                    f"one distribution, 1 level x {res.subscriptions} subscriptions (5 % match, max_providers 3): "
                    f"median {res.median_total:.2f} ms (function {res.median_sql:.2f} ms + commit; "
                    f"function median calls 1-5 {statistics.median(first):.2f} ms"
                    + (f", calls 6+ {statistics.median(rest):.2f} ms" if rest else "")
                    + ")"
                )
                say(line)
                summary.append(line)

        say()
        say("=" * 100)
        say("SUMMARY")
        for line in summary:
            say(line)
        if engine_res and tps:
            r = engine_res.assignments_per_s / tps
            say(
                f"engine assignments/s / pgbench tps = {engine_res.assignments_per_s:.1f} / {tps:.1f} = "
                f"{r:.2f} (target >= 0.5): {verdict(r, 0.5)}"
            )
        if engine_res and celery_res:
            r = celery_res.assignments_per_s / engine_res.assignments_per_s if engine_res.assignments_per_s else 0
            say(
                f"celery assignments/s / engine assignments/s = {celery_res.assignments_per_s:.1f} / "
                f"{engine_res.assignments_per_s:.1f} = {r:.2f} (target >= 0.5): {verdict(r, 0.5)}"
            )
        if len(scale_results) >= 2:
            lo, hi = scale_results[0], scale_results[-1]
            size_ratio = hi.subscriptions / lo.subscriptions
            g_total = hi.median_total / lo.median_total
            g_sql = hi.median_sql / lo.median_sql
            say(
                f"growth {hi.subscriptions}/{lo.subscriptions} subscriptions (x{size_ratio:.0f}): one distribution "
                f"x{g_total:.2f} (call+commit), x{g_sql:.2f} (function alone); linear would be x{size_ratio:.0f}: "
                f"{'well under linear' if g_sql < size_ratio / 10 else 'NOT well under linear'}"
            )
        say(
            f"total runtime {time.perf_counter() - started:.0f} s; load average now "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        if explain_text:
            say()
            say("=" * 100)
            say(f"PLANS of the engine's per-level SELECT at {max(args.sizes)} subscriptions")
            say(explain_text)
        return 0
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        return 130
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
