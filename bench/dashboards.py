#!/usr/bin/env python3
"""The back-office benchmark: every list page's data load with 100k leads and 1M
ledger entries in the database (issue #5, "Quality bar for pages": each list page
answers within 300 ms).

Run from the project root (``make bench-dashboards`` does exactly this)::

    .venv/bin/python bench/dashboards.py                 # full size: 100k leads, 1M ledger entries
    .venv/bin/python bench/dashboards.py --quick         # every volume / 10 (a smoke run)
    .venv/bin/python bench/dashboards.py --repeat 50     # more calls per function (default 20)
    .venv/bin/python bench/dashboards.py --explain       # + EXPLAIN ANALYZE of each function's slowest statement
    .venv/bin/python bench/dashboards.py --data-dir .hotlead/bench/dash-pg   # keep the seeded cluster for the next run

What it starts and throws away: a private PostgreSQL (EmbeddedPostgres on a free
port, NORMAL durability) and a private Redis (no worker runs: the jobs the engine
writes stay in the outbox table).  The ``make run`` data and system servers are never
touched.  With ``--data-dir`` the cluster is kept in that folder: a later run with
the same folder migrates it to head (new migrations included) and skips the seeding
(a migration whose content changed after the cluster was migrated is not re-run:
delete the folder, or stamp back and upgrade, as for any database).  Each run adds
a dozen engine-distributed leads to a kept cluster.

Phases
  1. migrate a fresh database with alembic (as tests/conftest.py does);
  2. seed with set-based SQL (INSERT .. SELECT generate_series): 5 niches x 3 levels,
     200 providers (each with a login), 600 subscriptions with filters, 100k leads
     over 90 days in every status, their assignments (a distributed lead is sold in
     every level it fills), ~1M ledger entries (the charge of every assignment, the
     refunds, admin adjustments, and deposits), and the audit rows all of that would
     have written (several hundred thousand).  Ledger entries go in through the
     normal INSERT path: the database's own trigger computes each ``balance_after``
     and the cached balance, in ``created_at`` order, in batches of 10k rows per
     transaction.  No trigger is disabled: every provider's first entry is an opening
     deposit covering all its later charges and debits, so no row is ever refused.
  3. the real engine (``distribution.distribute_lead``) distributes a few more
     leads on top of that volume, so their explanations are real;
  4. each page's data load: the same service functions the pages and the API call,
     first page and a deep page (keyset cursor half-way down), with the filters,
     each called ``--repeat`` times after one warm-up call; p50 / p95 / max per
     function and PASS / FAIL (p95 against 300 ms), the warm-up call's own time
     ("1st": cold caches, a roll-up written on first need), the number of SQL statements
     of one call (``--statements`` lists them), and with ``--explain`` the plan of
     each function's slowest statement.  Exit status 1 when any function fails.

The data is dense on purpose: 100k leads and 1M ledger entries over 90 days (about
11k ledger entries a day), so a "last 30 days" figure reads a third of the table.
Times are wall-clock in this process, including the ORM; they move with the load
of the machine (the load average is printed with each step).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import BenchServers  # noqa: E402
from hotlead_app.devstack.harness import point_settings_at  # noqa: E402
from hotlead_app.infra.migrations import migrate  # noqa: E402

DB_NAME = "bench_dashboards"
TARGET_MS = 300.0
TAG = "dash"
NICHES = ["bench-roofing", "bench-solar", "bench-plumbing", "bench-hvac", "bench-windows"]
NICHE_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "size", "label": "Size", "type": "number", "required": True},
    {
        "name": "kind",
        "label": "Kind",
        "type": "select",
        "required": True,
        "options": ["asphalt", "metal", "tile", "flat"],
    },
]
# (name, price, max_providers, priority_order): every niche has the three.
LEVELS = [("Exclusive", "25.00", 1, 1), ("Premium", "15.00", 2, 2), ("Shared", "8.00", 3, 3)]
ZIP_BASE, ZIP_COUNT = 30300, 20
ENGINE_LEADS = 12  # distributed by the real engine at the end, for the explanations


def say(msg: str = "") -> None:
    print(msg, flush=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", flush=True)


# --------------------------------------------------------------------------- servers


def Servers(data_dir: Path | None) -> BenchServers:
    """The benchmarks' one set-up (bench/servers.py); a --data-dir cluster is kept."""
    return BenchServers("hotlead-dash-", keep_pg_dir=data_dir)


# --------------------------------------------------------------------------- seeding (set-based SQL)


def _uuid(kind: str, i: int) -> uuid.UUID:
    return uuid.UUID(bytes=hashlib.md5(f"{TAG}:{kind}:{i}".encode()).digest())


# A hash in [0, m) of a tag and the row number g, deterministic run to run (for a query with parameters).
def H(tag: str, m: int) -> str:
    return f"(abs(hashtext('{tag}:' || g)) %% {m})"


def seed(conn, *, leads: int, providers: int, ledger_target: int) -> dict[str, int]:
    """Everything, in a handful of transactions; returns row counts."""
    cur = conn.cursor()
    t = time.perf_counter()

    # -- catalog: niches and levels, each with its 'created' audit row
    niche_ids: list[uuid.UUID] = []
    for n, slug in enumerate(NICHES):
        nid = _uuid("niche", n)
        niche_ids.append(nid)
        cur.execute(
            "INSERT INTO niches (id, slug, name, active, fields, distributed_count, created_at) "
            "VALUES (%s, %s, %s, true, %s::jsonb, 0, now() - interval '200 days')",
            (nid, slug, slug.replace("-", " ").title(), json.dumps(NICHE_FIELDS)),
        )
        for j, (name, price, maxp, prio) in enumerate(LEVELS):
            cur.execute(
                "INSERT INTO competition_levels (id, niche_id, name, price_per_lead, max_providers, priority_order, "
                "active, created_at) VALUES (%s, %s, %s, %s, %s, %s, true, now() - interval '200 days')",
                (_uuid(f"level{n}", j), nid, name, price, maxp, prio),
            )
    # Three admins: the audit rows an admin writes carry one of their ids (the audit page filters by who acted).
    admins = [_uuid("admin", i) for i in range(3)]
    for i, aid in enumerate(admins):
        cur.execute(
            "INSERT INTO users (id, email, password_hash, role, provider_id, active, created_at) "
            "VALUES (%s, %s, 'bench-not-a-hash', 'admin', NULL, true, now() - interval '300 days')",
            (aid, f"admin{i + 1}@bench.example"),
        )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, before_state, after_state, "
        "created_at) SELECT gen_random_uuid(), %s, 'admin', 'niche', n.id, 'created', NULL, to_jsonb(n), "
        "n.created_at FROM niches n ORDER BY n.slug",
        (admins[0],),
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, before_state, after_state, "
        "created_at) SELECT gen_random_uuid(), %s, 'admin', 'competition_level', l.id, 'created', NULL, to_jsonb(l), "
        "l.created_at FROM competition_levels l ORDER BY l.niche_id, l.priority_order",
        (admins[0],),
    )

    # -- providers (zero balance: money arrives through the ledger), their logins, audit rows
    cur.execute(
        "INSERT INTO service_providers (id, name, email, status, status_reason, balance, created_at) "
        "SELECT md5(%(tag)s || ':prov:' || g)::uuid, 'Bench provider ' || lpad(g::text, 4, '0'), "
        "       'provider' || g || '@bench.example', "
        f"      CASE WHEN {H('pst', 100)} < 8 THEN 'inactive' ELSE 'active' END::provider_status, "
        f"      CASE WHEN {H('pst', 100)} < 8 THEN 'set_by_admin' END, 0, "
        "       now() - interval '120 days' + g * interval '1 minute' "
        "FROM generate_series(1, %(p)s) g",
        {"tag": TAG, "p": providers},
    )
    cur.execute(
        "INSERT INTO users (id, email, password_hash, role, provider_id, active, created_at) "
        "SELECT gen_random_uuid(), 'login+' || p.email, 'bench-not-a-hash', 'provider', p.id, true, p.created_at "
        "FROM service_providers p"
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, before_state, after_state, "
        "created_at) SELECT gen_random_uuid(), %s, 'admin', 'provider', p.id, 'created', NULL, to_jsonb(p), "
        "p.created_at FROM service_providers p ORDER BY p.created_at, p.id",
        (admins[1],),
    )

    # -- subscriptions: 3 per provider on 3 different levels (of 15), a filter mix, 5 % paused
    n_levels = len(NICHES) * len(LEVELS)
    cur.execute(
        "INSERT INTO provider_subscriptions (id, provider_id, competition_level_id, filters, last_received_at, "
        "                                    active, pause_reason, created_at, cancelled_at) "
        "SELECT md5(%(tag)s || ':sub:' || g || ':' || j)::uuid, md5(%(tag)s || ':prov:' || g)::uuid, "
        "       lv.id, "
        "       CASE WHEN x.h < 40 THEN '{}'::jsonb "
        "            WHEN x.h < 70 THEN jsonb_build_object('zip', (SELECT jsonb_agg("
        f"                 ({ZIP_BASE} + ((x.b + k * 4) %% {ZIP_COUNT}))::text ORDER BY k) FROM generate_series(0, 4) k)) "
        "            WHEN x.h < 90 THEN jsonb_build_object('size', jsonb_build_object('min', x.b %% 51, "
        "                                                                         'max', x.b %% 51 + 50)) "
        "            ELSE jsonb_build_object('kind', jsonb_build_array('asphalt', 'metal')) END, "
        "       NULL, x.h2 >= 5, CASE WHEN x.h2 < 5 THEN 'paused_by_provider' END, "
        "       now() - interval '110 days' + g * interval '1 minute' + j * interval '1 second', NULL "
        "FROM generate_series(1, %(p)s) g CROSS JOIN generate_series(0, 2) j "
        "CROSS JOIN LATERAL (SELECT abs(hashtext('f:' || g || ':' || j)) %% 100 AS h, "
        "                           abs(hashtext('fb:' || g || ':' || j)) AS b, "
        "                           abs(hashtext('pa:' || g || ':' || j)) %% 100 AS h2) x "
        "JOIN (SELECT id, row_number() OVER (ORDER BY niche_id, priority_order) - 1 AS i "
        "      FROM competition_levels) lv ON lv.i = (g * 7 + j * 5) %% %(nl)s",
        {"tag": TAG, "p": providers, "nl": n_levels},
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, before_state, after_state, "
        "created_at) SELECT gen_random_uuid(), u.id, 'provider', 'subscription', s.id, 'created', NULL, "
        "to_jsonb(s), s.created_at FROM provider_subscriptions s JOIN users u ON u.provider_id = s.provider_id "
        "ORDER BY s.created_at, s.id"
    )
    conn.commit()
    log(f"    catalog, {providers} providers, subscriptions: {time.perf_counter() - t:.1f} s")

    # -- leads: spread over the last 90 days, every status
    t = time.perf_counter()
    cur.execute(
        "CREATE UNLOGGED TABLE bench_niche_no AS SELECT id, row_number() OVER (ORDER BY slug) - 1 AS i FROM niches"
    )
    cur.execute(
        "INSERT INTO leads (id, niche_id, status, payload, email, phone, referrer_url, utm_params, "
        "                   consent_version, confirmed_at, distributed_at, created_at) "
        "SELECT md5(%(tag)s || ':lead:' || g)::uuid, nn.id, st.status::lead_status, "
        f"      jsonb_build_object('zip', ({ZIP_BASE} + {H('lz', ZIP_COUNT)})::text, "
        f"                         'size', 1 + {H('ls', 100)}, "
        f"                         'kind', (ARRAY['asphalt','metal','tile','flat'])[1 + {H('lk', 4)}]), "
        "       'lead' || g || '@bench.example', '+1555' || lpad(g::text, 7, '0'), "
        "       'https://ads.example/landing', "
        f"      CASE WHEN {H('utm', 3)} = 0 THEN jsonb_build_object('utm_source', 'google', "
        "                                                         'utm_campaign', 'c' || (g %% 17)) END, "
        "       'v1', "
        "       CASE WHEN st.status <> 'pending_confirmation' THEN ts.created + interval '10 minutes' END, "
        "       CASE WHEN st.status IN ('distributed', 'bad_lead') THEN ts.created + interval '40 minutes' END, "
        "       ts.created "
        "FROM generate_series(1, %(n)s) g "
        f"JOIN bench_niche_no nn ON nn.i = {H('ln', len(NICHES))} "
        "CROSS JOIN LATERAL (SELECT now() - interval '90 days' "
        "                           + (g::float8 / %(n)s) * interval '90 days' AS created) ts "
        "CROSS JOIN LATERAL (SELECT CASE "
        # the newest leads are the ones still waiting for a person or an admin
        "    WHEN g > %(n)s - %(n)s / 100 AND abs(hashtext('q:' || g)) %% 3 = 0 THEN 'pending_approval' "
        "    WHEN g > %(n)s - %(n)s / 200 AND abs(hashtext('q:' || g)) %% 3 = 1 THEN 'approved' "
        f"    WHEN {H('st', 1000)} < 50 THEN 'pending_confirmation' "
        f"    WHEN {H('st', 1000)} < 100 THEN 'rejected' "
        f"    WHEN {H('st', 1000)} < 110 THEN 'bad_lead' "
        "    ELSE 'distributed' END AS status) st",
        {"tag": TAG, "n": leads},
    )
    # Audit rows a lead's life writes: submitted, confirmed, approved / rejected, distributed,
    # marked_bad_lead.  Staged, with the refunds' and adjustments' rows, and appended at the
    # end in created_at order, so that the log's seq order is its time order as in real life.
    cur.execute(
        "CREATE UNLOGGED TABLE bench_audit_stage AS SELECT id, actor_id, actor_role, entity_type, "
        "entity_id, action, before_state, after_state, admin_only_memo, created_at FROM audit_logs LIMIT 0"
    )
    audit_lead = (
        "INSERT INTO bench_audit_stage (id, actor_id, actor_role, entity_type, entity_id, action, before_state, "
        "after_state, admin_only_memo, created_at) "
        "SELECT gen_random_uuid(), CASE WHEN %(role)s = 'admin' THEN (%(admins)s::uuid[])[1 + abs(hashtext("
        "l.id::text)) %% 3] END, %(role)s::actor_role, 'lead', l.id, %(action)s, {before}, {after}, {memo}, "
        "{at} FROM leads l WHERE {where}"
    )
    for role, action, before, after, memo, at, where in [
        (
            "buyer",
            "submitted",
            "NULL",
            "jsonb_build_object('status', 'pending_confirmation')",
            "NULL",
            "l.created_at",
            "true",
        ),
        (
            "buyer",
            "confirmed",
            '\'{"status": "pending_confirmation"}\'',
            '\'{"status": "pending_approval"}\'',
            "NULL",
            "l.confirmed_at",
            "l.confirmed_at IS NOT NULL",
        ),
        (
            "admin",
            "approved",
            '\'{"status": "pending_approval"}\'',
            '\'{"status": "approved"}\'',
            "NULL",
            "l.confirmed_at + interval '20 minutes'",
            "l.status IN ('approved', 'distributed', 'bad_lead')",
        ),
        (
            "admin",
            "rejected",
            '\'{"status": "pending_approval"}\'',
            '\'{"status": "rejected", "reason": "duplicate"}\'',
            "'bench: looked like a duplicate'",
            "l.confirmed_at + interval '20 minutes'",
            "l.status = 'rejected'",
        ),
        (
            "system",
            "distributed",
            '\'{"status": "approved"}\'',
            '\'{"status": "distributed"}\'',
            "NULL",
            "l.distributed_at",
            "l.status IN ('distributed', 'bad_lead')",
        ),
        (
            "admin",
            "marked_bad_lead",
            '\'{"status": "distributed"}\'',
            '\'{"status": "bad_lead", "reason": "fake phone"}\'',
            "'bench: the phone number does not exist'",
            "l.distributed_at + interval '1 day'",
            "l.status = 'bad_lead'",
        ),
    ]:
        cur.execute(
            audit_lead.format(before=before, after=after, memo=memo, at=at, where=where),
            {"role": role, "action": action, "admins": admins},
        )
    conn.commit()
    log(f"    {leads} leads (and their audit rows, staged): {time.perf_counter() - t:.1f} s")

    # -- assignments: a distributed lead is sold in every level it fills (80 % of the
    #    time), to up to max_providers active subscriptions of that level
    t = time.perf_counter()
    cur.execute(
        "CREATE UNLOGGED TABLE bench_level_subs AS "
        "SELECT s.id, s.provider_id, s.competition_level_id, "
        "       row_number() OVER (PARTITION BY s.competition_level_id ORDER BY s.id) - 1 AS i, "
        "       count(*) OVER (PARTITION BY s.competition_level_id) AS n "
        "FROM provider_subscriptions s JOIN service_providers p ON p.id = s.provider_id "
        "WHERE s.active AND p.status = 'active'"
    )
    cur.execute("CREATE INDEX ON bench_level_subs (competition_level_id, i)")
    cur.execute(
        "INSERT INTO lead_assignments (id, lead_id, provider_id, subscription_id, competition_level_id, "
        "                              charged_amount, received_at, is_refunded, refunded_at, refund_reason, "
        "                              assigned_at) "
        "SELECT gen_random_uuid(), l.id, s.provider_id, s.id, cl.id, cl.price_per_lead, "
        "       l.distributed_at + (cl.priority_order * 10 + k) * interval '1 microsecond', "
        "       rf.refunded, CASE WHEN rf.refunded THEN l.distributed_at + interval '1 day' END, "
        "       CASE WHEN rf.refunded THEN CASE WHEN l.status = 'bad_lead' THEN 'Global Bad Lead: fake phone' "
        "                                      ELSE 'wrong number' END END, "
        "       l.distributed_at "
        "FROM leads l "
        "JOIN competition_levels cl ON cl.niche_id = l.niche_id "
        "CROSS JOIN LATERAL generate_series(0, cl.max_providers - 1) k "
        "JOIN LATERAL (SELECT max(n) AS n FROM bench_level_subs WHERE competition_level_id = cl.id) c ON c.n > 0 "
        "JOIN bench_level_subs s ON s.competition_level_id = cl.id "
        "     AND s.i = (abs(hashtext('as:' || l.id::text || cl.id::text)) + k * 7) % c.n "
        "CROSS JOIN LATERAL (SELECT l.status = 'bad_lead' "
        "                           OR abs(hashtext('rf:' || l.id::text || k || cl.id::text)) % 100 < 2 AS refunded) rf "
        "WHERE l.status IN ('distributed', 'bad_lead') "
        "  AND abs(hashtext('fill:' || l.id::text || cl.id::text)) % 10 < 8 "
        "ORDER BY l.distributed_at, cl.priority_order, k "
        "ON CONFLICT ON CONSTRAINT uq_assignments_lead_provider DO NOTHING"
    )
    cur.execute(
        "INSERT INTO bench_audit_stage (id, actor_id, actor_role, entity_type, entity_id, action, before_state, "
        "after_state, admin_only_memo, created_at) "
        "SELECT gen_random_uuid(), %s, 'admin', 'lead_assignment', a.id, 'refunded', "
        '       to_jsonb(a) || \'{"is_refunded": false, "refunded_at": null, "refund_reason": null}\', '
        "       to_jsonb(a), 'bench: refund memo', a.refunded_at "
        "FROM lead_assignments a WHERE a.is_refunded",
        (admins[2],),
    )
    # The engine's bookkeeping the seeded history implies.
    cur.execute(
        "UPDATE provider_subscriptions s SET last_received_at = m.last "
        "FROM (SELECT subscription_id, max(received_at) AS last FROM lead_assignments GROUP BY 1) m "
        "WHERE m.subscription_id = s.id"
    )
    cur.execute(
        "UPDATE leads l SET distribution_seq = x.seq FROM ("
        "  SELECT id, row_number() OVER (PARTITION BY niche_id ORDER BY distributed_at, id) - 1 AS seq "
        "  FROM leads WHERE status IN ('distributed', 'bad_lead')) x WHERE x.id = l.id"
    )
    cur.execute(
        "UPDATE niches n SET distributed_count = x.c, last_received_stamp = x.last FROM ("
        "  SELECT l.niche_id, count(DISTINCT l.id) AS c, max(a.received_at) AS last "
        "  FROM leads l LEFT JOIN lead_assignments a ON a.lead_id = l.id "
        "  WHERE l.status IN ('distributed', 'bad_lead') GROUP BY 1) x WHERE x.niche_id = n.id"
    )
    conn.commit()
    log(f"    assignments: {time.perf_counter() - t:.1f} s")

    # -- the ledger: staged, then inserted through the trigger in created_at order
    t = time.perf_counter()
    cur.execute(
        "CREATE UNLOGGED TABLE bench_ledger_stage (provider_id uuid, type ledger_entry_type, amount numeric(10,2), "
        "  idempotency_key text, related_entity_type text, related_entity_id uuid, memo text, created_at timestamptz)"
    )
    cur.execute(
        "INSERT INTO bench_ledger_stage SELECT provider_id, 'charge'::ledger_entry_type, charged_amount, "
        "  'lead:' || lead_id || ':provider:' || provider_id || ':charge', 'lead_assignment', id, NULL, assigned_at "
        "FROM lead_assignments"
    )
    cur.execute(
        "INSERT INTO bench_ledger_stage SELECT provider_id, 'refund'::ledger_entry_type, charged_amount, "
        "  'assignment:' || id || ':refund', 'lead_assignment', id, NULL, refunded_at "
        "FROM lead_assignments WHERE is_refunded"
    )
    so_far = cur.execute("SELECT count(*) FROM bench_ledger_stage").fetchone()[0]
    # Admin adjustments (1 % of the rest, credits and debits) and deposits fill up to the target;
    # deposits are skewed: low-numbered providers top up far more often (long ledgers).
    rest = max(0, ledger_target - so_far - providers)
    cur.execute(
        "INSERT INTO bench_ledger_stage "
        "SELECT md5(%(tag)s || ':prov:' || pv.p)::uuid, "
        "       CASE WHEN g %% 100 = 0 THEN 'credit' WHEN g %% 100 = 50 THEN 'debit' ELSE 'deposit' END::ledger_entry_type, "
        "       CASE WHEN g %% 100 IN (0, 50) THEN 5 + g %% 20 ELSE 50 + (g %% 4) * 25 END, "
        "       'bench:topup:' || g, "
        "       CASE WHEN g %% 100 IN (0, 50) THEN 'adjustment' ELSE 'payment' END, "
        "       md5(%(tag)s || ':adj:' || g)::uuid, "
        "       CASE WHEN g %% 100 IN (0, 50) THEN 'bench adjustment ' || g END, "
        "       now() - interval '90 days' + (g::float8 / %(n)s) * interval '90 days' "
        "FROM generate_series(1, %(n)s) g "
        "CROSS JOIN LATERAL (SELECT 1 + floor(%(p)s * power((abs(hashtext('dp:' || g)) %% 1000000) / 1e6, 2))::int "
        "                    AS p) pv",
        {"tag": TAG, "n": rest, "p": providers},
    )
    # The opening deposit: covers every later charge and debit, so no entry is refused.
    cur.execute(
        "INSERT INTO bench_ledger_stage "
        "SELECT p.id, 'deposit'::ledger_entry_type, 100 + coalesce(sum(s.amount) FILTER (WHERE s.type IN ('charge', 'debit')), 0), "
        "       'bench:opening:' || p.id, 'payment', NULL, 'opening deposit', p.created_at + interval '1 hour' "
        "FROM service_providers p LEFT JOIN bench_ledger_stage s ON s.provider_id = p.id GROUP BY p.id"
    )
    cur.execute(
        "CREATE TABLE bench_ledger_order AS SELECT row_number() OVER (ORDER BY created_at, idempotency_key) "
        "AS rn, * FROM bench_ledger_stage"
    )
    cur.execute("CREATE INDEX ON bench_ledger_order (rn)")
    total = cur.execute("SELECT count(*) FROM bench_ledger_order").fetchone()[0]
    conn.commit()
    # Small transactions: every entry updates its provider's row (the cached balance), and
    # within one transaction those row versions pile up (200 rows, 10k versions at most).
    batch = 10_000
    for start in range(1, total + 1, batch):
        cur.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, related_entity_type, "
            "                            related_entity_id, memo, is_reversal, created_at) "
            "SELECT gen_random_uuid(), provider_id, type, amount, idempotency_key, related_entity_type, "
            "       related_entity_id, memo, false, created_at "
            "FROM bench_ledger_order WHERE rn >= %s AND rn < %s ORDER BY rn",
            (start, start + batch),
        )
        conn.commit()
        if (start - 1) % (10 * batch) == 0 or start + batch > total:
            log(f"      ledger {min(start + batch - 1, total)}/{total}")
    cur.execute(
        "INSERT INTO bench_audit_stage (id, actor_id, actor_role, entity_type, entity_id, action, before_state, "
        "after_state, admin_only_memo, created_at) "
        "SELECT gen_random_uuid(), %s, 'admin', 'provider', e.provider_id, 'balance_' || e.type::text, NULL, "
        "       jsonb_build_object('entry_id', e.id, 'amount', e.amount::text, 'balance_after', e.balance_after::text), "
        "       e.memo, e.created_at "
        "FROM ledger_entries e WHERE e.related_entity_type = 'adjustment'",
        (admins[1],),
    )
    cur.execute(
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, before_state, "
        "after_state, admin_only_memo, created_at) "
        "SELECT id, actor_id, actor_role, entity_type, entity_id, action, before_state, after_state, "
        "admin_only_memo, created_at FROM bench_audit_stage ORDER BY created_at, id"
    )
    for t_name in (
        "bench_audit_stage",
        "bench_ledger_order",
        "bench_ledger_stage",
        "bench_level_subs",
        "bench_niche_no",
    ):
        cur.execute(f"DROP TABLE {t_name}")
    conn.commit()
    log(f"    ledger ({total} entries through the balance trigger) and the audit log: {time.perf_counter() - t:.1f} s")

    counts = {}
    for table in (
        "leads",
        "lead_assignments",
        "ledger_entries",
        "audit_logs",
        "service_providers",
        "provider_subscriptions",
        "users",
    ):
        counts[table] = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    drift = cur.execute("SELECT count(*) FROM balance_drift").fetchone()[0]
    if drift:
        raise SystemExit(f"seeding left {drift} providers whose balance differs from their ledger")
    cur.execute("CREATE TABLE bench_seeded (at timestamptz)")
    cur.execute("INSERT INTO bench_seeded VALUES (now())")
    conn.commit()
    return counts


def seed_records(conn) -> int:
    """The engine's decision record of every seeded distributed lead that has
    assignments, so that explanations (admin lead detail, provider missed leads)
    do their real work: levels in the lead's rotation order, the subscriptions
    chosen in each, and a cutoff where the level was full.  No snapshot: the
    explanations read history up to the sequence watermarks (set to the latest)."""
    with conn.cursor() as cur:
        audit_max = cur.execute("SELECT coalesce(max(seq), 0) FROM audit_logs").fetchone()[0]
        ledger_max = cur.execute("SELECT coalesce(max(seq), 0) FROM ledger_entries").fetchone()[0]
        cur.execute(
            "INSERT INTO distribution_records (lead_id, niche_id, distribution_seq, levels, audit_seq, ledger_seq, "
            "                                  snapshot, decided_at) "
            "SELECT l.id, l.niche_id, l.distribution_seq, "
            "  (SELECT jsonb_agg(jsonb_build_object( "
            "       'level_id', cl.id, 'price', cl.price_per_lead::text, 'max_providers', cl.max_providers, "
            "       'chosen', coalesce(ch.subs, '[]'::jsonb), "
            "       'cutoff', CASE WHEN jsonb_array_length(coalesce(ch.subs, '[]'::jsonb)) >= cl.max_providers "
            "                      THEN ch.last END) "
            "     ORDER BY ((cl.priority_order - 1 - l.distribution_seq) %% 3 + 3) %% 3) "
            "   FROM competition_levels cl "
            "   LEFT JOIN LATERAL (SELECT jsonb_agg(a.subscription_id::text ORDER BY a.received_at) AS subs, "
            "                             (array_agg(jsonb_build_array(NULL, s.created_at, s.id) "
            "                                        ORDER BY a.received_at DESC))[1] AS last "
            "                      FROM lead_assignments a JOIN provider_subscriptions s ON s.id = a.subscription_id "
            "                      WHERE a.lead_id = l.id AND a.competition_level_id = cl.id) ch ON true "
            "   WHERE cl.niche_id = l.niche_id), "
            "  %s, %s, NULL, l.distributed_at "
            "FROM leads l "
            "WHERE l.status IN ('distributed', 'bad_lead') "
            "  AND EXISTS (SELECT 1 FROM lead_assignments a WHERE a.lead_id = l.id) "
            "  AND NOT EXISTS (SELECT 1 FROM distribution_records d WHERE d.lead_id = l.id)",
            (audit_max, ledger_max),
        )
        n = cur.rowcount
    conn.commit()
    return n


def engine_leads(conn, n: int) -> list[uuid.UUID]:
    """``n`` new approved leads in the first niche, for the real engine to distribute."""
    ids = [uuid.uuid4() for _ in range(n)]
    niche = _uuid("niche", 0)
    with conn.cursor() as cur:
        for i, lid in enumerate(ids):
            cur.execute(
                "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, created_at) "
                "VALUES (%s, %s, 'approved', %s::jsonb, %s, now(), now())",
                (
                    lid,
                    niche,
                    json.dumps(
                        {
                            "zip": str(ZIP_BASE + i % ZIP_COUNT),
                            "size": 10 + i * 7 % 90,
                            "kind": ["asphalt", "metal", "tile", "flat"][i % 4],
                        }
                    ),
                    f"engine{i}.{lid.hex[:6]}@bench.example",
                ),
            )
            cur.execute(
                "INSERT INTO audit_logs (id, actor_role, entity_type, entity_id, action, before_state, after_state) "
                "VALUES (gen_random_uuid(), 'admin', 'lead', %s, 'approved', "
                '\'{"status": "pending_approval"}\', \'{"status": "approved"}\')',
                (lid,),
            )
    conn.commit()
    return ids


def vacuum_analyze(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


# --------------------------------------------------------------------------- timing


@dataclass
class Result:
    name: str
    ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0  # the warm-up call (cold caches, a roll-up written on first need, ...)
    rows: int | None = None
    statements: int = 0
    slowest: tuple[float, str, Any] | None = None
    statement_list: list[tuple[float, str, Any]] = field(default_factory=list)
    error: str | None = None

    def pct(self, q: float) -> float:
        s = sorted(self.ms)
        return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        return "PASS" if self.pct(0.95) < TARGET_MS else "FAIL"


class StatementLog:
    """Every SQL statement of one call, with its duration (to find the slow one)."""

    def __init__(self) -> None:
        import threading

        self.active = False
        self.items: list[tuple[float, str, Any]] = []
        self._t: list[float] = []
        self._thread = threading.get_ident()  # statements of this thread only (not a background publisher's)

    def install(self, engine) -> None:
        import threading

        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            if self.active and threading.get_ident() == self._thread:
                self._t.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            if self.active and self._t and threading.get_ident() == self._thread:
                self.items.append(((time.perf_counter() - self._t.pop()) * 1000, statement, parameters))


def _count(value: Any) -> int | None:
    if isinstance(value, (list, tuple)):
        return len(value)
    if isinstance(value, dict):
        for key in ("items", "rows", "leads", "entries"):
            if isinstance(value.get(key), list):
                return len(value[key])
    return None


def time_call(name: str, fn: Callable[[], Any], repeat: int, stmts: StatementLog) -> Result:
    res = Result(name)
    try:
        stmts.items, stmts.active = [], True
        t0 = time.perf_counter()
        value = fn()  # warm-up, not counted; its statements are recorded
        res.first_ms = (time.perf_counter() - t0) * 1000
        stmts.active = False
        res.rows = _count(value)
        res.statements = len(stmts.items)
        res.statement_list = list(stmts.items)
        if stmts.items:
            res.slowest = max(stmts.items, key=lambda x: x[0])
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            res.ms.append((time.perf_counter() - t0) * 1000)
    except Exception as exc:  # a page function that breaks is reported, not fatal
        stmts.active = False
        res.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc()
    return res


def explain_statement(statement: str, parameters: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one recorded statement, through the app's engine."""
    from hotlead_app.db import get_engine

    with get_engine().connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        try:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(r[0] for r in cur.fetchall())
        finally:
            raw.rollback()


# --------------------------------------------------------------------------- the page loads


@dataclass
class Fixture:
    """Ids and cursors picked from the seeded data (deep pages are half-way down)."""

    heavy_provider: uuid.UUID
    typical_provider: uuid.UUID
    heavy_provider_user: uuid.UUID
    niche_slug: str
    niche_id: uuid.UUID
    lead_id: uuid.UUID
    engine_lead: uuid.UUID | None
    leads_mid: list
    distributed_mid: list
    queue_mid: list
    niche_mid: list
    ledger_mid_seq: int
    provider_ledger_mid_seq: int
    audit_mid_seq: int
    provider_leads_mid: list
    subscription_id: uuid.UUID
    providers_mid: list
    explained_provider: uuid.UUID
    provider_lead: uuid.UUID


def pick_fixture(dsn: str, engine_ids: list[uuid.UUID]) -> Fixture:
    import psycopg

    with psycopg.connect(dsn) as conn:
        one = lambda sql, *a: conn.execute(sql, a).fetchone()  # noqa: E731
        heavy = one(
            "SELECT provider_id FROM ledger_entries e WHERE EXISTS (SELECT 1 FROM lead_assignments a "
            "WHERE a.provider_id = e.provider_id) GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )[0]
        typical = one(
            "SELECT provider_id FROM lead_assignments GROUP BY 1 ORDER BY count(*) "
            "OFFSET (SELECT count(DISTINCT provider_id) / 2 FROM lead_assignments) LIMIT 1"
        )[0]
        user = one("SELECT id FROM users WHERE provider_id = %s", heavy)[0]
        n_leads = one("SELECT count(*) FROM leads")[0]
        niche_slug, niche_id = one("SELECT slug, id FROM niches ORDER BY slug LIMIT 1")

        def cursor_of(rows) -> list:
            return [rows[0].isoformat(), str(rows[1])]

        leads_mid = cursor_of(
            one("SELECT created_at, id FROM leads ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1", n_leads // 2)
        )
        dist_n = one("SELECT count(*) FROM leads WHERE status = 'distributed'")[0]
        distributed_mid = cursor_of(
            one(
                "SELECT created_at, id FROM leads WHERE status = 'distributed' "
                "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                dist_n // 2,
            )
        )
        q_n = one("SELECT count(*) FROM leads WHERE status = 'pending_approval'")[0]
        queue_mid = cursor_of(
            one(
                "SELECT created_at, id FROM leads WHERE status = 'pending_approval' "
                "ORDER BY created_at, id OFFSET %s LIMIT 1",
                q_n // 2,
            )
        )
        nn = one("SELECT count(*) FROM leads WHERE niche_id = %s", niche_id)[0]
        niche_mid = cursor_of(
            one(
                "SELECT created_at, id FROM leads WHERE niche_id = %s "
                "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                niche_id,
                nn // 2,
            )
        )
        ledger_mid = one(
            "SELECT seq FROM ledger_entries ORDER BY seq DESC OFFSET (SELECT count(*) / 2 FROM ledger_entries) LIMIT 1"
        )[0]
        pl_mid = one(
            "SELECT seq FROM ledger_entries WHERE provider_id = %s ORDER BY seq DESC OFFSET "
            "(SELECT count(*) / 2 FROM ledger_entries WHERE provider_id = %s) LIMIT 1",
            heavy,
            heavy,
        )[0]
        audit_mid = one(
            "SELECT seq FROM audit_logs ORDER BY seq DESC OFFSET (SELECT count(*) / 2 FROM audit_logs) LIMIT 1"
        )[0]
        pa = one(
            "SELECT assigned_at, id FROM lead_assignments WHERE provider_id = %s ORDER BY assigned_at DESC, "
            "id DESC OFFSET (SELECT count(*) / 2 FROM lead_assignments WHERE provider_id = %s) LIMIT 1",
            heavy,
            heavy,
        )
        lead = one(
            "SELECT l.id FROM leads l WHERE l.status = 'distributed' AND l.id <> ALL(%s) AND EXISTS ("
            "SELECT 1 FROM lead_assignments a WHERE a.lead_id = l.id) ORDER BY l.created_at DESC LIMIT 1",
            engine_ids,
        )[0]
        engine_lead = (
            one(
                "SELECT lead_id FROM distribution_records d WHERE d.lead_id = ANY(%s) ORDER BY "
                "(SELECT count(*) FROM lead_assignments a WHERE a.lead_id = d.lead_id) DESC LIMIT 1",
                engine_ids,
            )
            if engine_ids
            else None
        )
        # A provider subscribed in the engine lead's niche (the "why didn't I get it" view).
        explained_provider = (
            one(
                "SELECT s.provider_id FROM provider_subscriptions s JOIN competition_levels cl ON "
                "cl.id = s.competition_level_id JOIN leads l ON l.niche_id = cl.niche_id WHERE l.id = %s "
                "ORDER BY s.id LIMIT 1",
                engine_lead[0],
            )[0]
            if engine_lead
            else heavy
        )
        provider_lead = one(
            "SELECT lead_id FROM lead_assignments WHERE provider_id = %s ORDER BY assigned_at DESC LIMIT 1", heavy
        )[0]
        sub = one("SELECT id FROM provider_subscriptions WHERE provider_id = %s ORDER BY created_at LIMIT 1", heavy)[0]
        pmid = one(
            "SELECT name, id FROM service_providers ORDER BY name, id OFFSET "
            "(SELECT count(*) / 2 FROM service_providers) LIMIT 1"
        )
    return Fixture(
        heavy,
        typical,
        user,
        niche_slug,
        niche_id,
        lead,
        engine_lead[0] if engine_lead else None,
        leads_mid,
        distributed_mid,
        queue_mid,
        niche_mid,
        ledger_mid,
        pl_mid,
        audit_mid,
        cursor_of(pa),
        sub,
        [pmid[0], str(pmid[1])],
        explained_provider,
        provider_lead,
    )


def core_cases(fx: Fixture) -> list[tuple[str, Callable[[], Any]]]:
    """The service functions the existing pages and API endpoints call."""
    from hotlead_app.domain.actors import Actor
    from hotlead_app.services import audit, catalog, distribution, ledger
    from hotlead_app.services.reads import lead_detail, lead_inbox, niches, providers

    admin = Actor(role="admin", id=_uuid("admin", 0))
    heavy = Actor(role="provider", provider_id=fx.heavy_provider)
    typical = Actor(role="provider", provider_id=fx.typical_provider)

    cases: list[tuple[str, Callable[[], Any]]] = [
        # lead detail (GET /admin/leads/{id})
        ("lead_detail.lead_record", lambda: lead_detail.lead_record(admin, lead_id=fx.lead_id)),
        ("audit.list_for lead trail", lambda: audit.list_for(entity_type="lead", entity_id=fx.lead_id, limit=500)),
        # providers (GET /admin/providers), niches, levels
        ("providers.list_providers p1", lambda: providers.list_providers(admin, limit=50)),
        (
            "providers.list_providers deep",
            lambda: providers.list_providers(admin, limit=50, after=fx.providers_mid),
        ),
        ("niches.list_niches", lambda: niches.list_niches(admin)),
        ("catalog.list_levels", lambda: catalog.list_levels(admin)),
        # ledgers (GET /admin/ledger, /provider/ledger)
        ("ledger.list_entries global p1", lambda: ledger.list_entries(limit=51)),
        ("ledger.list_entries global deep", lambda: ledger.list_entries(limit=51, before_seq=fx.ledger_mid_seq)),
        ("ledger.list_entries provider p1", lambda: ledger.list_entries(provider_id=fx.heavy_provider, limit=51)),
        (
            "ledger.list_entries provider deep",
            lambda: ledger.list_entries(provider_id=fx.heavy_provider, limit=51, before_seq=fx.provider_ledger_mid_seq),
        ),
        # audit log (GET /admin/audit-logs)
        ("audit.list_for all p1", lambda: audit.list_for(limit=51)),
        ("audit.list_for all deep", lambda: audit.list_for(limit=51, before_seq=fx.audit_mid_seq)),
        ("audit.list_for entity_type=niche (rare)", lambda: audit.list_for(entity_type="niche", limit=51)),
        ("audit.list_for entity_type=lead_assignment", lambda: audit.list_for(entity_type="lead_assignment", limit=51)),
        (
            "audit.list_for entity_type=provider deep",
            lambda: audit.list_for(entity_type="provider", limit=51, before_seq=fx.audit_mid_seq),
        ),
        ("audit.list_for entity_id only (provider)", lambda: audit.list_for(entity_id=fx.heavy_provider, limit=51)),
        # provider pages (GET /provider/leads, /subscriptions, /leads/{id}/explanation)
        (
            "lead_inbox.lead_inbox p1 (heaviest provider)",
            lambda: lead_inbox.lead_inbox(heavy, limit=50),
        ),
        (
            "lead_inbox.lead_inbox deep",
            lambda: lead_inbox.lead_inbox(heavy, limit=50, after=fx.provider_leads_mid),
        ),
        (
            "lead_inbox.lead_inbox p1 (typical provider)",
            lambda: lead_inbox.lead_inbox(typical, limit=50),
        ),
        (
            "catalog.list_subscriptions provider",
            lambda: catalog.list_subscriptions(admin, provider_id=fx.heavy_provider),
        ),
    ]
    if fx.engine_lead is not None:
        cases += [
            (
                "distribution.explain engine lead, all subscriptions (admin)",
                lambda: distribution.explain(lead_id=fx.engine_lead),
            ),
            (
                "distribution.explain engine lead, one provider",
                lambda: distribution.explain(lead_id=fx.engine_lead, provider_id=fx.explained_provider),
            ),
        ]
    return cases


def _principal(fx: Fixture, role: str):
    """A signed-in principal (the heaviest provider's login, or an admin) for the
    service functions that take one."""
    from hotlead_app.services import auth

    if role == "provider":
        return auth.Principal(
            user_id=fx.heavy_provider_user,
            email="bench@bench.example",
            role="provider",
            provider_id=fx.heavy_provider,
            session_id=uuid.uuid4(),
        )
    return auth.Principal(
        user_id=uuid.uuid4(), email="admin@bench.example", role="admin", provider_id=None, session_id=uuid.uuid4()
    )


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    import inspect

    return name in inspect.signature(fn).parameters


def page_module_cases(fx: Fixture) -> list[tuple[str, Callable[[], Any]]]:
    """The read functions behind the back-office and provider pages
    (``services/reads/``); a module that does not exist (yet) is skipped with a note."""
    from hotlead_app.domain.actors import Actor

    admin = Actor(role="admin", id=_uuid("admin", 0))
    cases: list[tuple[str, Callable[[], Any]]] = []

    def module(name: str):
        import importlib

        try:
            return importlib.import_module(f"hotlead_app.services.reads.{name}")
        except ImportError as exc:
            say(f"    (hotlead_app/services/reads/{name}.py cannot be imported: {exc}; skipped)")
            return None

    if (r := module("overview")) is not None and (q := module("approval_queue")) is not None:
        cases += [
            ("overview.overview (admin overview page, 30 days)", lambda: r.overview(admin, days=30)),
            ("overview.overview (admin overview page, 90 days)", lambda: r.overview(admin, days=90)),
            ("overview.leads_per_day 30 days", lambda: r.leads_per_day(admin, days=30)),
            ("overview.revenue_per_day 30 days", lambda: r.revenue_per_day(admin, days=30)),
            ("overview.revenue_per_day 90 days", lambda: r.revenue_per_day(admin, days=90)),
            ("overview.providers_by_status", lambda: r.providers_by_status(admin)),
            ("approval_queue.backlog (nav count, polled)", lambda: q.backlog(admin)),
            ("approval_queue.backlog_by_wait", lambda: q.backlog_by_wait(admin)),
        ]
    if (
        (b := module("lead_search")) is not None
        and (q := module("approval_queue")) is not None
        and (d := module("lead_detail")) is not None
    ):
        day_from = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()
        day_to = (datetime.now(UTC) - timedelta(days=33)).date().isoformat()
        cases += [
            ("approval_queue.approval_queue p1", lambda: q.approval_queue(admin, limit=25)),
            ("approval_queue.approval_queue deep", lambda: q.approval_queue(admin, limit=25, after=fx.queue_mid)),
            # GET /admin/leads and the leads browser page (one service function)
            (
                "lead_search.search_leads pending_approval, oldest first p1",
                lambda: b.search_leads(admin, status="pending_approval", order="oldest", limit=50),
            ),
            (
                "lead_search.search_leads pending_approval, oldest first deep",
                lambda: b.search_leads(admin, status="pending_approval", order="oldest", limit=50, after=fx.queue_mid),
            ),
            (
                "lead_search.search_leads oldest first deep",
                lambda: b.search_leads(admin, order="oldest", limit=50, after=fx.leads_mid),
            ),
            ("lead_search.search_leads p1", lambda: b.search_leads(admin, limit=50)),
            ("lead_search.search_leads deep", lambda: b.search_leads(admin, limit=50, after=fx.leads_mid)),
            ("lead_search.search_leads status=rejected", lambda: b.search_leads(admin, status="rejected")),
            (
                "lead_search.search_leads status=distributed deep",
                lambda: b.search_leads(admin, status="distributed", after=fx.distributed_mid),
            ),
            ("lead_search.search_leads niche", lambda: b.search_leads(admin, niche=fx.niche_slug)),
            (
                "lead_search.search_leads niche deep",
                lambda: b.search_leads(admin, niche=fx.niche_slug, after=fx.niche_mid),
            ),
            (
                "lead_search.search_leads niche+status=bad_lead",
                lambda: b.search_leads(admin, niche=fx.niche_slug, status="bad_lead"),
            ),
            (
                "lead_search.search_leads email exact",
                lambda: b.search_leads(admin, email="lead4242@bench.example"),
            ),
            ("lead_search.search_leads email prefix", lambda: b.search_leads(admin, email="lead42")),
            (
                "lead_search.search_leads date range (a week)",
                lambda: b.search_leads(admin, created_from=day_from, created_to=day_to),
            ),
            (
                "lead_search.search_leads date range + status=rejected",
                lambda: b.search_leads(admin, created_from=day_from, created_to=day_to, status="rejected"),
            ),
        ]
        # The lead detail page loads the lead first, then its explanation (two steps).
        if _accepts(d.admin_lead, "with_explanation"):
            cases.append(
                (
                    "lead_detail.admin_lead without explanation (step 1)",
                    lambda: d.admin_lead(admin, lead_id=fx.lead_id, with_explanation=False),
                )
            )
        cases.append(
            (
                "lead_detail.admin_lead with explanation (seeded lead)",
                lambda: d.admin_lead(admin, lead_id=fx.lead_id),
            )
        )
        if hasattr(d, "explanation"):
            cases.append(
                (
                    "lead_detail.explanation (step 2, seeded lead)",
                    lambda: d.explanation(admin, lead_id=fx.lead_id),
                )
            )
            if fx.engine_lead is not None:
                cases.append(
                    (
                        "lead_detail.explanation (step 2, engine lead)",
                        lambda: d.explanation(admin, lead_id=fx.engine_lead),
                    )
                )
    if (
        (n := module("niches")) is not None
        and (pr := module("providers")) is not None
        and (le := module("ledger_entries")) is not None
        and (a := module("audit_trail")) is not None
    ):
        cases += [
            ("niches.niche_detail", lambda: n.niche_detail(admin, niche_id=fx.niche_id)),
            ("providers.provider_detail", lambda: pr.provider_detail(admin, provider_id=fx.heavy_provider)),
            (
                "providers.resolve_provider by email",
                lambda: pr.resolve_provider(admin, text="provider1@bench.example"),
            ),
            ("ledger_entries.all_entries p1", lambda: le.all_entries(admin)),
            ("ledger_entries.all_entries deep", lambda: le.all_entries(admin, before_seq=fx.ledger_mid_seq)),
            ("ledger_entries.all_entries type=debit (rare)", lambda: le.all_entries(admin, type="debit")),
            ("ledger_entries.all_entries provider", lambda: le.all_entries(admin, provider_id=fx.heavy_provider)),
            (
                "ledger_entries.all_entries provider deep",
                lambda: le.all_entries(admin, provider_id=fx.heavy_provider, before_seq=fx.provider_ledger_mid_seq),
            ),
            (
                "ledger_entries.all_entries provider+type=credit",
                lambda: le.all_entries(admin, provider_id=fx.typical_provider, type="credit"),
            ),
            ("audit_trail.audit_trail p1", lambda: a.audit_trail(admin)),
            ("audit_trail.audit_trail deep", lambda: a.audit_trail(admin, before_seq=fx.audit_mid_seq)),
            ("audit_trail.audit_trail entity_type=niche (rare)", lambda: a.audit_trail(admin, entity_type="niche")),
            (
                "audit_trail.audit_trail entity_type=provider deep",
                lambda: a.audit_trail(admin, entity_type="provider", before_seq=fx.audit_mid_seq),
            ),
            ("audit_trail.audit_trail entity_id", lambda: a.audit_trail(admin, entity_id=str(fx.heavy_provider))),
            ("audit_trail.audit_trail by=admin (role)", lambda: a.audit_trail(admin, by="admin")),
            (
                "audit_trail.audit_trail by=system deep",
                lambda: a.audit_trail(admin, by="system", before_seq=fx.audit_mid_seq),
            ),
            ("audit_trail.audit_trail by=admin email", lambda: a.audit_trail(admin, by="admin1@bench.example")),
            (
                "audit_trail.audit_trail by=provider login (user id)",
                lambda: a.audit_trail(admin, by=str(fx.heavy_provider_user)),
            ),
        ]
    reads = {name: module(name) for name in ("account_summary", "subscriptions", "lead_inbox", "lead_detail")}
    reads.update({name: module(name) for name in ("missed_leads", "ledger_entries")})
    if all(m is not None for m in reads.values()):
        summary, subs, inbox = reads["account_summary"], reads["subscriptions"], reads["lead_inbox"]
        detail, missed, entries = reads["lead_detail"], reads["missed_leads"], reads["ledger_entries"]
        heavy = Actor(role="provider", provider_id=fx.heavy_provider)
        typical = Actor(role="provider", provider_id=fx.typical_provider)
        cases += [
            ("account_summary.account_summary (heaviest provider)", lambda: summary.account_summary(heavy)),
            ("account_summary.account_summary (typical provider)", lambda: summary.account_summary(typical)),
            ("subscriptions.subscription_options", lambda: subs.subscription_options(heavy)),
            ("subscriptions.provider_subscriptions", lambda: subs.provider_subscriptions(heavy)),
            (
                "subscriptions.filter_preview {} (30 days)",
                lambda: subs.filter_preview(heavy, niche_id=fx.niche_id, filters={}),
            ),
            (
                "subscriptions.filter_preview zip+size",
                lambda: subs.filter_preview(
                    heavy,
                    niche_id=fx.niche_id,
                    filters={"zip": [str(ZIP_BASE + i) for i in range(5)], "size": {"min": 10, "max": 60}},
                ),
            ),
            ("lead_inbox.lead_inbox p1", lambda: inbox.lead_inbox(heavy)),
            ("lead_inbox.lead_inbox deep", lambda: inbox.lead_inbox(heavy, after=fx.provider_leads_mid)),
            ("lead_detail.provider_lead", lambda: detail.provider_lead(heavy, lead_id=fx.provider_lead)),
            ("missed_leads.missed_leads p1 with reasons (heaviest)", lambda: missed.missed_leads(heavy)),
            ("missed_leads.missed_leads p1 with reasons (typical)", lambda: missed.missed_leads(typical)),
            ("ledger_entries.provider_ledger p1", lambda: entries.provider_ledger(heavy)),
            (
                "ledger_entries.provider_ledger deep",
                lambda: entries.provider_ledger(heavy, before_seq=fx.provider_ledger_mid_seq),
            ),
        ]
        # The missed-leads page: the list first (without reasons), then the reasons of
        # the leads shown (missed_reasons).
        for label, who in (("heaviest", heavy), ("typical", typical)):
            try:
                first = missed.missed_leads(who, with_reasons=False)
            except Exception as exc:
                say(f"    (missed_leads failed before timing: {exc})")
                continue
            shown = first[:-1] if len(first) > 1 else first
            cases.append(
                (
                    f"missed_leads.missed_leads p1 list (step 1, {label})",
                    lambda who=who: missed.missed_leads(who, with_reasons=False),
                )
            )
            ids = [uuid.UUID(r["lead_id"]) for r in shown]
            cases.append(
                (
                    f"missed_leads.missed_reasons of p1 (step 2, {label})",
                    lambda who=who, ids=ids: missed.missed_reasons(who, lead_ids=ids),
                )
            )
            if len(first) > 1:
                cursor = [shown[-1]["created_at"], shown[-1]["lead_id"]]
                cases.append(
                    (
                        f"missed_leads.missed_leads page 2 list ({label})",
                        lambda who=who, cursor=cursor: missed.missed_leads(who, after=cursor, with_reasons=False),
                    )
                )
    return cases


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every volume / 10")
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--ledger", type=int, default=1_000_000)
    ap.add_argument("--providers", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each function's slowest statement")
    ap.add_argument(
        "--statements", action="store_true", help="list every SQL statement of each function's warm-up call"
    )
    ap.add_argument("--only", default=None, help="time only functions whose name contains this")
    ap.add_argument("--data-dir", type=Path, default=None, help="keep the cluster here and reuse it next time")
    args = ap.parse_args()
    if args.quick:
        args.leads //= 10
        args.ledger //= 10
    started = time.perf_counter()
    srv = Servers(args.data_dir.resolve() if args.data_dir else None)
    try:
        import psycopg

        srv.start()
        srv.pg.ensure_database(DB_NAME)
        dsn = srv.dsn(DB_NAME)
        with psycopg.connect(dsn) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            seeded = conn.execute("SELECT to_regclass('bench_seeded') IS NOT NULL").fetchone()[0]
        if not seeded:  # a fresh database (a kept cluster whose seeding was interrupted starts over)
            srv.pg.drop_database(DB_NAME)
            srv.pg.ensure_database(DB_NAME)
        log(f"PostgreSQL {version} on port {srv.pg.port}; migrating {DB_NAME} with alembic")
        migrate(srv.pg.url(DB_NAME))
        point_settings_at(database_url=srv.pg.url(DB_NAME), redis_url=srv.redis.url(0))
        engine_ids: list[uuid.UUID] = []
        if seeded:
            log("already seeded (kept cluster): seeding skipped")
        else:
            log(f"seeding {args.leads} leads, {args.providers} providers, ~{args.ledger} ledger entries")
            t = time.perf_counter()
            with psycopg.connect(dsn) as conn:
                counts = seed(conn, leads=args.leads, providers=args.providers, ledger_target=args.ledger)
            log(f"seeded in {time.perf_counter() - t:.0f} s: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        with psycopg.connect(dsn) as conn:
            t = time.perf_counter()
            made = seed_records(conn)
            if made:
                log(f"decision records of {made} seeded distributed leads: {time.perf_counter() - t:.0f} s")
            engine_ids = engine_leads(conn, ENGINE_LEADS)
        from hotlead_app.services import distribution

        outcomes = [distribution.distribute_lead(lead_id=lid).outcome for lid in engine_ids]
        log(
            f"the engine distributed {outcomes.count('distributed')}/{len(engine_ids)} new leads on top "
            f"of that volume ({', '.join(sorted(set(outcomes)))})"
        )
        t = time.perf_counter()
        vacuum_analyze(dsn)
        log(f"VACUUM ANALYZE: {time.perf_counter() - t:.0f} s")
        with psycopg.connect(dsn) as conn:
            counts = {
                t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in (
                    "leads",
                    "lead_assignments",
                    "ledger_entries",
                    "audit_logs",
                    "service_providers",
                    "provider_subscriptions",
                )
            }
        say("volume: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

        fx = pick_fixture(dsn, engine_ids)
        from hotlead_app.db import get_engine

        stmts = StatementLog()
        stmts.install(get_engine())
        cases = core_cases(fx) + page_module_cases(fx)
        if args.only:
            cases = [c for c in cases if args.only in c[0]]
        log(f"timing {len(cases)} page data loads, {args.repeat} calls each after one warm-up call")
        results = [time_call(name, fn, args.repeat, stmts) for name, fn in cases]

        say()
        say("=" * 118)
        width = max(len(r.name) for r in results)
        say(
            f"{'function (page data load)':<{width}}  {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'1st ms':>8} "
            f"{'rows':>5} {'sql':>4}  verdict (p95 < {TARGET_MS:.0f} ms)"
        )
        for r in results:
            if r.error:
                say(f"{r.name:<{width}}  {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>5} {'-':>4}  ERROR {r.error}")
                continue
            say(
                f"{r.name:<{width}}  {statistics.median(r.ms):8.1f} {r.pct(0.95):8.1f} {max(r.ms):8.1f} "
                f"{r.first_ms:8.1f} {r.rows if r.rows is not None else '-':>5} {r.statements:>4}  {r.verdict}"
            )
        failed = [r for r in results if r.verdict != "PASS"]
        say("-" * 118)
        say(
            f"{len(results) - len(failed)}/{len(results)} PASS; "
            + ("FAIL/ERROR: " + "; ".join(r.name for r in failed) if failed else "none failed")
        )
        say(
            f"volume: {counts['leads']} leads, {counts['ledger_entries']} ledger entries, {counts['audit_logs']} "
            f"audit rows, {counts['lead_assignments']} assignments; total runtime "
            f"{time.perf_counter() - started:.0f} s; load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        if args.statements:
            for r in results:
                say()
                say(f"{r.name}: {r.statements} statements in the warm-up call")
                for ms, statement, _params in r.statement_list:
                    say(f"  {ms:7.1f} ms  {' '.join(statement.split())[:150]}")
        if args.explain:
            for r in results:
                if r.slowest is None:
                    continue
                ms, statement, params = r.slowest
                say()
                say("=" * 118)
                say(f"{r.name}: slowest of {r.statements} statements ({ms:.1f} ms in the warm-up call)")
                say(statement)
                try:
                    say(explain_statement(statement, params))
                except Exception as exc:
                    say(f"(EXPLAIN failed: {exc})")
        return 1 if failed else 0
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        return 130
    finally:
        from hotlead_app.db import reset_engine

        reset_engine()
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
