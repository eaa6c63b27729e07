"""The back-office list pages' queries are answered from the indexes of migration 0011.

Not a timing test (speed is measured by bench/dashboards.py): it checks that each
index exists with its columns, then calls the real service function a page calls,
captures the SQL it sends, and asks PostgreSQL for that statement's plan on a table
of a few thousand rows spread over 300 days, ANALYZEd, with the planner left free
(no enable_seqscan games).  At that size the planner already picks another plan
when the index is missing (a sequential scan and a sort, or another index and a
sort: checked by dropping each index, every plan test below then fails), so a plan
naming the index is evidence that the page query uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hotlead_app.domain import actors
from hotlead_app.domain.actors import Actor
from hotlead_app.services import audit
from hotlead_app.services.reads import account_summary, audit_trail, lead_search, overview
from tests.plans import plans_of as _plans_of
from tests.plans import sql as _sql

ADMIN_USER = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
PROVIDER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
ADMIN = Actor(role="admin", id=ADMIN_USER)
LEADS = 6000
LEDGER = 6000

# name -> (table, definition PostgreSQL prints for it, after "USING btree ")
EXPECTED = {
    "ix_leads_created_at_id": ("leads", "(created_at, id)"),
    "ix_ledger_created_type_amount": ("ledger_entries", "(created_at, type, amount)"),
    "ix_ledger_provider_created": ("ledger_entries", "(provider_id, created_at)"),
    "ix_audit_entity_type_seq": ("audit_logs", "(entity_type, seq)"),
    "ix_audit_actor_seq": ("audit_logs", "(actor_id, seq) WHERE (actor_id IS NOT NULL)"),
}


@pytest.fixture(scope="module")
def market(module_db) -> Iterator[None]:
    """Two niches, two providers with long ledgers, leads and audit rows over 300 days."""
    statements = [
        "INSERT INTO niches (id, slug, name, active, fields, created_at) VALUES "
        "('00000000-0000-4000-8000-0000000000c1', 'idx-roofing', 'Roofing', true, '[]', now() - interval '400 days'),"
        "('00000000-0000-4000-8000-0000000000c2', 'idx-solar', 'Solar', true, '[]', now() - interval '400 days')",
        "INSERT INTO service_providers (id, name, email, status, balance, created_at) VALUES "
        f"('{PROVIDER}', 'Idx provider', 'idx@provider.example', 'active', 0, now() - interval '400 days'), "
        "('00000000-0000-4000-8000-0000000000b2', 'Other', 'other@provider.example', 'active', 0, "
        " now() - interval '400 days')",
        "INSERT INTO users (id, email, password_hash, role, provider_id, active, created_at) VALUES "
        f"('{ADMIN_USER}', 'idx-admin@example.com', 'x', 'admin', NULL, true, now() - interval '400 days')",
        # Leads: every 20th one still waits for its confirmation, the rest were distributed.
        "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, distributed_at, created_at) "
        "SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN '00000000-0000-4000-8000-0000000000c1'::uuid "
        "       ELSE '00000000-0000-4000-8000-0000000000c2'::uuid END, "
        "       CASE WHEN g % 20 = 0 THEN 'pending_confirmation' ELSE 'distributed' END::lead_status, "
        "       jsonb_build_object('zip', '30301'), 'lead' || g || '@idx.example', "
        "       CASE WHEN g % 20 <> 0 THEN t.at END, CASE WHEN g % 20 <> 0 THEN t.at END, t.at "
        f"FROM generate_series(1, {LEADS}) g, "
        f"LATERAL (SELECT now() - interval '300 days' + g * interval '300 days' / {LEADS} AS at) t",
        # Ledgers through the balance trigger: opening deposits, then charges, refunds and
        # top-ups spread over 300 days, one entry in ten for PROVIDER, the rest another's.
        "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal, created_at) "
        f"VALUES (gen_random_uuid(), '{PROVIDER}', 'deposit', 1000000, 'idx:opening', false, now() - interval '301 days'),"
        "(gen_random_uuid(), '00000000-0000-4000-8000-0000000000b2', 'deposit', 1000000, 'idx:opening2', false, "
        " now() - interval '301 days')",
        "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal, created_at) "
        f"SELECT gen_random_uuid(), CASE WHEN g % 10 = 0 THEN '{PROVIDER}'::uuid "
        "       ELSE '00000000-0000-4000-8000-0000000000b2'::uuid END, "
        "       CASE WHEN g % 4 = 0 THEN 'deposit' WHEN g % 25 = 1 THEN 'refund' ELSE 'charge' "
        "       END::ledger_entry_type, 10, 'idx:' || g, false, "
        f"       now() - interval '300 days' + g * interval '300 days' / {LEDGER} "
        f"FROM generate_series(1, {LEDGER}) g ORDER BY g",
        # Audit: a 'niche' row and an admin's rows first (old), then thousands of lead rows.
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, after_state, created_at) "
        f"SELECT gen_random_uuid(), '{ADMIN_USER}', 'admin', 'niche', '00000000-0000-4000-8000-0000000000c1', "
        "       'updated', '{}', now() - interval '350 days' FROM generate_series(1, 3)",
        "INSERT INTO audit_logs (id, actor_id, actor_role, entity_type, entity_id, action, after_state, created_at) "
        "SELECT gen_random_uuid(), NULL, 'buyer', 'lead', l.id, 'submitted', '{}', l.created_at "
        "FROM leads l ORDER BY l.created_at",
        "ANALYZE",
    ]
    for statement in statements:
        _sql(statement)
    yield


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def test_each_index_exists_with_its_columns(market):
    rows = {
        name: (table, definition)
        for name, table, definition in _sql(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY(%s)",
            (list(EXPECTED),),
        )
    }
    assert set(rows) == set(EXPECTED)
    for name, (table, columns) in EXPECTED.items():
        assert rows[name][0] == table
        assert rows[name][1].endswith(f"USING btree {columns}"), rows[name][1]


@pytest.mark.parametrize(
    "call, table, index",
    [
        pytest.param(
            lambda: lead_search.search_leads(ADMIN, limit=50),
            "leads",
            "ix_leads_created_at_id",
            id="leads browser, newest first",
        ),
        pytest.param(
            lambda: lead_search.search_leads(ADMIN, order="oldest", limit=50),
            "leads",
            "ix_leads_created_at_id",
            id="GET /admin/leads, oldest first",
        ),
        pytest.param(
            lambda: lead_search.search_leads(ADMIN, created_from=_day(-100), created_to=_day(-94)),
            "leads",
            "ix_leads_created_at_id",
            id="leads browser, a week",
        ),
        # The first call rolls the closed days up (a read of their ledger rows), then reads today's.
        pytest.param(
            lambda: overview.revenue_per_day(ADMIN, days=30),
            "ledger_entries",
            "ix_ledger_created_type_amount",
            id="overview revenue per day",
        ),
        pytest.param(
            lambda: account_summary.account_summary(actors.provider(PROVIDER)),
            "ledger_entries",
            "ix_ledger_provider_created",
            id="provider overview spend per day",
        ),
        pytest.param(
            lambda: audit.list_for(entity_type="niche", limit=51),
            "audit_logs",
            "ix_audit_entity_type_seq",
            id="GET /admin/audit-logs?entity_type",
        ),
        pytest.param(
            lambda: audit_trail.audit_trail(ADMIN, entity_type="niche"),
            "audit_logs",
            "ix_audit_entity_type_seq",
            id="audit page, by entity type",
        ),
        pytest.param(
            lambda: audit_trail.audit_trail(ADMIN, by=str(ADMIN_USER)),
            "audit_logs",
            "ix_audit_actor_seq",
            id="audit page, by who acted",
        ),
    ],
)
def test_the_page_query_uses_its_index(market, call, table, index):
    for plan in _plans_of(call, table):
        assert index in plan, plan
        assert f"Seq Scan on {table}" not in plan, plan


@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest first", "oldest first"])
def test_keyset_pages_of_admin_leads_cover_every_lead_once_in_order(db, oldest_first):
    """``lead_search.search_leads`` pages on the row (created_at, id): with many leads sharing
    a created_at, walking the cursor gives every lead exactly once, in order."""
    _sql(
        "INSERT INTO niches (id, slug, name, active, fields) VALUES "
        "('00000000-0000-4000-8000-0000000000d1', 'ties', 'Ties', true, '[]')"
    )
    _sql(
        "INSERT INTO leads (id, niche_id, status, payload, email, created_at) "
        "SELECT gen_random_uuid(), '00000000-0000-4000-8000-0000000000d1', 'pending_confirmation', '{}', "
        "       'tie' || g || '@example.com', timestamptz '2026-11-01 12:00:00+00' + (g % 4) * interval '1 second' "
        "FROM generate_series(1, 45) g"
    )
    order = "ASC" if oldest_first else "DESC"
    expected = [str(r[0]) for r in _sql(f"SELECT id FROM leads ORDER BY created_at {order}, id {order}")]
    seen: list[str] = []
    after = None
    while True:
        rows = lead_search.search_leads(ADMIN, limit=7, after=after, order="oldest" if oldest_first else "newest")
        seen += [r["id"] for r in rows[:7]]
        if len(rows) <= 7:
            break
        after = [rows[6]["created_at"], rows[6]["id"]]
    assert seen == expected
