"""Admin niches (issue #16 item 10, #14 item 7): a niche created with its
``duplicate_window_days`` (service and POST /admin/niches; 400 naming the field,
nothing written), and each niche's level count and "takes leads no level can sell"
warning (``reads.niches.niche_health``)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.models import Niche
from hotlead_app.services import catalog
from hotlead_app.services.reads import niches
from tests.factories import ADMIN, ROOFING_FIELDS, make_market, make_provider, subscribe
from tests.integration.test_buyer_controls_api import _admin


def _niche_count() -> int:
    with unit_of_work() as uow:
        return int(uow.session.execute(text("SELECT count(*) FROM niches")).scalar_one())


def test_a_niche_is_created_with_its_duplicate_window_or_the_default(db):
    slug = f"gutters-{uuid.uuid4().hex[:6]}"
    made = catalog.create_niche(slug=slug, name="Gutters", fields=ROOFING_FIELDS, actor=ADMIN, duplicate_window_days=0)
    assert made.duplicate_window_days == 0
    plain = catalog.create_niche(slug=slug + "-b", name="Gutters B", fields=ROOFING_FIELDS, actor=ADMIN)
    assert plain.duplicate_window_days == 30
    with unit_of_work() as uow:
        stored = uow.session.exec(select(Niche).where(Niche.slug == slug)).one()
    assert stored.duplicate_window_days == 0


@pytest.mark.parametrize("bad", [-1, 1.5, "30", 100_000, True, [7]])
def test_a_bad_duplicate_window_at_creation_is_refused_naming_it_and_nothing_is_written(db, bad):
    before = _niche_count()
    with pytest.raises(InvalidInput) as caught:
        catalog.create_niche(
            slug=f"x-{uuid.uuid4().hex[:6]}", name="X", fields=[], actor=ADMIN, duplicate_window_days=bad
        )
    assert "duplicate_window_days" in caught.value.details
    assert _niche_count() == before


def test_post_admin_niches_takes_the_duplicate_window(db, api_server):
    headers = _admin(api_server)
    url = f"{api_server}/api/v1/admin/niches"
    before = _niche_count()
    for bad in (-1, "7", 3651):
        resp = httpx.post(
            url,
            json={"slug": f"bad-{uuid.uuid4().hex[:6]}", "name": "Bad", "duplicate_window_days": bad},
            headers=headers,
        )
        assert resp.status_code == 400, resp.text
        assert "duplicate_window_days" in resp.json()["error"]["details"]
    assert _niche_count() == before
    slug = f"decks-{uuid.uuid4().hex[:6]}"
    ok = httpx.post(url, json={"slug": slug, "name": "Decks", "duplicate_window_days": 7}, headers=headers)
    assert ok.status_code == 201 and ok.json()["duplicate_window_days"] == 7
    detail = httpx.get(f"{url}/{ok.json()['id']}", headers=headers).json()
    assert detail["duplicate_window_days"] == 7


def test_niche_health_counts_levels_and_warns_only_for_an_open_niche_nobody_can_buy_from(db):
    empty = catalog.create_niche(slug=f"e-{uuid.uuid4().hex[:6]}", name="Empty", fields=[], actor=ADMIN)
    sold = make_market(levels=[("A", "5.00", 1), ("B", "3.00", 2)], providers=1, balance="50.00")
    unsold = make_market(levels=[("Only", "5.00", 1)], providers=0)
    health = niches.niche_health(ADMIN)

    assert health[str(empty.id)]["level_count"] == 0
    assert "no active level" in (health[str(empty.id)]["warning"] or "")
    assert (health[str(sold.niche.id)]["level_count"], health[str(sold.niche.id)]["warning"]) == (2, None)
    assert health[str(sold.niche.id)]["buyer_count"] == 2
    assert "no active provider" in (health[str(unsold.niche.id)]["warning"] or "")

    # A subscriber whose provider an admin deactivates is no buyer.
    provider = make_provider(balance="50.00")
    subscribe(provider.id, unsold.levels[0].id)
    assert niches.niche_health(ADMIN)[str(unsold.niche.id)]["warning"] is None
    catalog.set_provider_status(provider_id=provider.id, status="inactive", actor=ADMIN)
    assert "no active provider" in (niches.niche_health(ADMIN)[str(unsold.niche.id)]["warning"] or "")

    # Its only level made inactive: no active level; the niche closed: no warning at all.
    catalog.update_level(level_id=sold.levels[0].id, actor=ADMIN, values={"active": False})
    catalog.update_level(level_id=sold.levels[1].id, actor=ADMIN, values={"active": False})
    after = niches.niche_health(ADMIN)[str(sold.niche.id)]
    assert (after["level_count"], after["active_level_count"]) == (2, 0)
    assert "no active level" in (after["warning"] or "")
    catalog.update_niche(niche_id=sold.niche.id, actor=ADMIN, values={"active": False})
    assert niches.niche_health(ADMIN)[str(sold.niche.id)]["warning"] is None
