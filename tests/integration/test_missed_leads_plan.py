"""A deep page of the provider's missed leads starts at its cursor in
ix_leads_created_at_id (an index range condition), not after filtering every newer lead.

As in test_dashboard_indexes.py: the real service function is called, the SQL it sends
is captured and PostgreSQL is asked for that statement's plan, on a few thousand leads
ANALYZEd, the planner left free.  With the cursor written as ``created_at < x OR
(created_at = x AND id < y)`` the same plan walks the index from the newest lead and
drops the rows above the cursor one by one (a Filter); with the row comparison
``(created_at, id) < (x, y)`` the walk starts at the cursor (an Index Cond).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from hotlead_app.db import get_engine, unit_of_work
from hotlead_app.domain import actors
from hotlead_app.services.reads import missed_leads
from tests import plans
from tests.factories import make_market, make_provider, subscribe
from tests.plans import captured

LEADS = 6000


@pytest.mark.parametrize("niches", [1, 2], ids=["one niche", "two niches"])
def test_a_deep_page_of_missed_leads_starts_on_the_index_at_its_cursor(db, niches):
    mine = make_market(levels=[("Solo", "1.00", 1)], providers=0)
    other = make_market(levels=[("Solo", "1.00", 1)], providers=0)
    provider = make_provider(balance="10.00")
    subscribe(provider.id, mine.levels[0].id)
    if niches == 2:  # the scope becomes (niche A AND since A) OR (niche B AND since B)
        subscribe(provider.id, other.levels[0].id)
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE provider_subscriptions SET created_at = now() - interval '60 days' WHERE provider_id = :p"),
            {"p": provider.id},
        )
        # Distributed leads over the last 29 days, alternating between the two niches.
        uow.session.execute(
            text(
                "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, distributed_at, created_at) "
                "SELECT gen_random_uuid(), CASE WHEN g % 2 = 0 THEN CAST(:mine AS uuid) ELSE CAST(:other AS uuid) END,"
                "       'distributed', jsonb_build_object('zip', '30301'), 'plan' || g || '@example.com', t.at, t.at, t.at"
                f"  FROM generate_series(1, {LEADS}) g,"
                f"       LATERAL (SELECT now() - interval '29 days' + g * interval '29 days' / {LEADS} AS at) t"
            ),
            {"mine": mine.niche.id, "other": other.niche.id},
        )
    with get_engine().connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()

    # A cursor halfway down the provider's missed leads.
    first = missed_leads.missed_leads(actors.provider(provider.id), limit=1000, with_reasons=False)
    assert len(first) == 1001
    cursor = [first[999]["created_at"], first[999]["lead_id"]]
    deep = captured(lambda: missed_leads.missed_leads(actors.provider(provider.id), after=cursor, with_reasons=False))
    (page_query,) = [(s, p) for s, p in deep if "FROM leads" in s and "ORDER BY leads.created_at DESC" in s]
    plan = plans.plan(*page_query)
    assert "ix_leads_created_at_id" in plan, plan
    # The cursor bounds the index scan ...
    assert re.search(r"Index Cond: .*ROW\((leads\.)?created_at, (leads\.)?id\) < ROW\(", plan), plan
    # ... and is not (also) a filter over the rows the scan returns.
    assert not re.search(r"Filter: .*(created_at|id) < ", plan), plan
