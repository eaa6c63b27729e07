"""Issue 16 item 9: an approved lead nobody could buy is explained at its latest
attempt (``distribution_attempts``), subscription by subscription."""

from __future__ import annotations

from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain import actors
from hotlead_app.services import catalog, distribution
from hotlead_app.services.reads import lead_detail
from tests.factories import ADMIN, approved_lead, make_market, make_provider, subscribe


def _reasons(lead_id) -> dict:
    return {d.provider_id: d.reason for d in distribution.explain(lead_id=lead_id)}


def _attempts(lead_id) -> int | None:
    with unit_of_work() as uow:
        return uow.session.execute(
            text("SELECT attempts FROM distribution_attempts WHERE lead_id = :id"), {"id": lead_id}
        ).scalar_one_or_none()


def test_an_approved_lead_nobody_could_buy_is_explained_at_its_latest_attempt(engine_db):
    market = make_market(levels=[("Shared", "10.00", 2)], providers=0)
    level = market.levels[0]
    picky = make_provider(balance="50.00")
    picky_sub = subscribe(picky.id, level.id, filters={"roof_type": ["tile"]})
    poor = make_provider(balance="50.00")
    subscribe(poor.id, level.id)
    catalog.set_provider_status(provider_id=poor.id, status="inactive", actor=ADMIN)

    lead_id = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal"})
    # Never attempted: nothing to explain yet.
    assert distribution.explain(lead_id=lead_id) == []
    assert _attempts(lead_id) is None

    assert distribution.distribute_lead(lead_id=lead_id).outcome == "no_eligible"
    assert _reasons(lead_id) == {picky.id: "filter_mismatch:roof_type", poor.id: "provider_inactive"}
    assert _attempts(lead_id) == 1
    # The admin's read words each reason, nobody first since nobody was chosen.
    shown = lead_detail.explanation(actors.admin(), lead_id=lead_id)
    assert {row["reason_text"] for row in shown} == {
        lead_detail.reason_text("filter_mismatch:roof_type"),
        lead_detail.reason_text("provider_inactive"),
    }
    assert not any(row["chosen"] for row in shown)

    # Things change; the next attempt (the minute's retry) still finds nobody, and the
    # explanation follows the latest attempt, not the first.
    catalog.set_provider_status(provider_id=poor.id, status="active", actor=ADMIN)
    catalog.update_subscription(subscription_id=picky_sub.id, actor=ADMIN, active=False)
    catalog.set_provider_status(provider_id=poor.id, status="inactive", actor=ADMIN)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "no_eligible"
    assert _attempts(lead_id) == 2
    assert _reasons(lead_id) == {picky.id: "subscription_paused", poor.id: "provider_inactive"}

    # Once somebody can take it, the decision record explains it: the chosen one first.
    catalog.set_provider_status(provider_id=poor.id, status="active", actor=ADMIN)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    shown = lead_detail.explanation(actors.admin(), lead_id=lead_id)
    assert [(row["provider_id"], row["chosen"]) for row in shown] == [(str(poor.id), True), (str(picky.id), False)]


def test_the_explanation_lists_the_chosen_first_grouped_by_level(engine_db):
    market = make_market(levels=[("Gold", "20.00", 1), ("Silver", "10.00", 2)], providers=4, balance="100.00")
    lead_id = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal"})
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    shown = lead_detail.explanation(actors.admin(), lead_id=lead_id)
    chosen = [row for row in shown if row["chosen"]]
    assert len(chosen) == 3
    # Every chosen row comes before every other row; within each, Gold (priority 1) first.
    assert shown[: len(chosen)] == chosen
    assert [row["level"] for row in chosen] == ["Gold", "Silver", "Silver"]
    rest = [row["level"] for row in shown[len(chosen) :]]
    assert rest == sorted(rest, key=["Gold", "Silver"].index)
