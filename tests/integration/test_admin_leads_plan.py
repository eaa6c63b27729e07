"""``GET /admin/leads`` (``lead_search.search_leads``) reads leads through
ix_leads_created_at_id (migration 0011), first and deep pages, both orders.

Like tests/integration/test_dashboard_indexes.py: the real service call's SQL is
captured and EXPLAINed on a few thousand leads spread over 300 days, ANALYZEd, with
the planner left free.  A deep page must start on the index: the cursor is a row
comparison ``(created_at, id) < (x, y)`` that PostgreSQL turns into an Index Cond,
where ``created_at < x OR (created_at = x AND id < y)`` would only be a Filter
applied to every row read from the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hotlead_app.services.reads import lead_search
from tests.factories import ADMIN
from tests.plans import plans_of
from tests.plans import sql as _sql

LEADS = 6000
NICHE = "00000000-0000-4000-8000-0000000000e1"


@pytest.fixture(scope="module")
def many_leads(module_db) -> Iterator[dict[str, list[str]]]:
    """6000 leads over 300 days; yields the cursor of the middle lead for each order."""
    _sql(
        "INSERT INTO niches (id, slug, name, active, fields, created_at) VALUES "
        f"('{NICHE}', 'plan-roofing', 'Roofing', true, '[]', now() - interval '400 days')"
    )
    _sql(
        "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, distributed_at, created_at) "
        f"SELECT gen_random_uuid(), '{NICHE}', "
        "       CASE WHEN g % 20 = 0 THEN 'pending_confirmation' ELSE 'distributed' END::lead_status, "
        "       '{}', 'plan' || g || '@idx.example', "
        "       CASE WHEN g % 20 <> 0 THEN t.at END, CASE WHEN g % 20 <> 0 THEN t.at END, t.at "
        f"FROM generate_series(1, {LEADS}) g, "
        f"LATERAL (SELECT now() - interval '300 days' + g * interval '300 days' / {LEADS} AS at) t"
    )
    _sql("ANALYZE")
    at, lead_id = _sql("SELECT created_at, id FROM leads ORDER BY created_at, id OFFSET %s LIMIT 1", (LEADS // 2,))[0]
    yield {"middle": [at.isoformat(), str(lead_id)]}


def _plans_of(call: Callable[[], Any]) -> list[str]:
    """The plans of the statements ``call`` sends that read leads."""
    return plans_of(call, "leads")


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_first_page_reads_ix_leads_created_at_id(many_leads, order):
    for plan in _plans_of(lambda: lead_search.search_leads(ADMIN, order=order, limit=50)):
        assert "ix_leads_created_at_id" in plan, plan
        assert "Seq Scan on leads" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_deep_page_starts_on_the_index_at_the_cursor(many_leads, order):
    rows = lead_search.search_leads(ADMIN, order=order, limit=50, after=many_leads["middle"])
    assert len(rows) == 51
    for plan in _plans_of(lambda: lead_search.search_leads(ADMIN, order=order, limit=50, after=many_leads["middle"])):
        assert "ix_leads_created_at_id" in plan, plan
        assert "Seq Scan on leads" not in plan and "Sort" not in plan, plan
        bound = next((line for line in plan.splitlines() if "Index Cond" in line), "")
        assert "ROW(created_at, id) " + ("<" if order == "newest" else ">") in bound, plan
