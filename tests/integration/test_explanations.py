"""Every answer of ``distribution.explain`` is true of the past, and stays the same.

A seeded market lives through a series of leads with changes in between (deposits,
admin credits and debits, pauses and resumes, filter edits, levels switched off and
on, a price raised, providers switched off, new subscriptions).  Just before each
lead is distributed the test photographs the market straight from its tables; that
photograph, the lead's payload and its assignments are all the independent verdict
below needs.  ``explain`` itself reads only its compact decision record and the
history (audit rows, ledger balances, assignments), so the two can disagree.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.services import catalog, distribution, ledger
from tests.factories import ADMIN, approved_lead, deposit
from tests.integration.distribution_scenarios import (
    FIELDS,
    FILTER_MENU,
    random_payload,
)

REASONS = {
    "chosen",
    "level_inactive",
    "subscription_paused",
    "provider_inactive",
    "filter_mismatch",
    "insufficient_balance",
    "already_received",
    "level_full",
}


# --------------------------------------------------------------------------- the photograph


@dataclass(frozen=True)
class LevelAt:
    id: uuid.UUID
    active: bool
    price: Decimal
    max_providers: int
    priority_order: int


@dataclass(frozen=True)
class SubAt:
    id: uuid.UUID
    provider_id: uuid.UUID
    level_id: uuid.UUID
    active: bool
    filters: dict[str, Any]
    last_received_at: datetime | None
    created_at: datetime
    leads_from: datetime | None = None

    def fairness(self) -> tuple:
        return (
            self.last_received_at is not None,
            self.last_received_at or self.created_at,
            self.created_at,
            self.id.bytes,
        )


@dataclass(frozen=True)
class Photo:
    levels: dict[uuid.UUID, LevelAt]
    subs: dict[uuid.UUID, SubAt]
    providers: dict[uuid.UUID, tuple[str, Decimal]]  # status, balance


def photograph(niche_id: uuid.UUID) -> Photo:
    with unit_of_work() as uow:
        s = uow.session
        levels = {
            r.id: LevelAt(r.id, r.active, r.price_per_lead, r.max_providers, r.priority_order)
            for r in s.execute(text("SELECT * FROM competition_levels WHERE niche_id = :n"), {"n": niche_id})
        }
        subs = {
            r.id: SubAt(
                r.id,
                r.provider_id,
                r.competition_level_id,
                r.active,
                r.filters,
                r.last_received_at,
                r.created_at,
                r.leads_from,
            )
            for r in s.execute(
                text(
                    "SELECT s.* FROM provider_subscriptions s JOIN competition_levels l "
                    "ON l.id = s.competition_level_id WHERE l.niche_id = :n"
                ),
                {"n": niche_id},
            )
        }
        providers = {
            r.id: (r.status, r.balance)
            for r in s.execute(text("SELECT id, status::text AS status, balance FROM service_providers"))
        }
    return Photo(levels, subs, providers)


# --------------------------------------------------------------------------- the independent verdict


def fails(rule: Any, value: Any) -> bool:
    """One filter rule against one payload value, spelled out for the payloads used here
    (strings, ints, and plain decimal strings)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(rule, list):
        return str(value) not in [str(item) for item in rule]
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", str(value)):
        return True
    number = Decimal(str(value))
    return ("min" in rule and number < Decimal(str(rule["min"]))) or (
        "max" in rule and number > Decimal(str(rule["max"]))
    )


def true_reason(
    photo: Photo,
    sub_id: uuid.UUID,
    level_id: uuid.UUID,
    payload: dict,
    seq: int,
    assignments: list,
    approved_at: datetime | None = None,
) -> str:
    """The first failing reason of DOMAIN.md for this subscription, or ``chosen``."""
    level = photo.levels[level_id]
    if any(a.subscription_id == sub_id for a in assignments):
        return "chosen"
    if not level.active:
        return "level_inactive"
    sub = photo.subs.get(sub_id)
    if sub is None:
        return "not_subscribed"  # created after this lead was distributed
    if not sub.active:
        return "subscription_paused"
    status, balance = photo.providers[sub.provider_id]
    if status != "active":
        return "provider_inactive"
    if sub.leads_from is not None and approved_at is not None and approved_at < sub.leads_from:
        return "before_subscription"  # subscribed after the lead was approved: future leads only
    for field in sorted(sub.filters):
        if fails(sub.filters[field], payload.get(field)):
            return f"filter_mismatch:{field}"
    active = sorted((lv for lv in photo.levels.values() if lv.active), key=lambda lv: (lv.priority_order, lv.id.bytes))
    start = seq % len(active)
    position = {lv.id: i for i, lv in enumerate(active[start:] + active[:start])}
    before = [
        a
        for a in assignments
        if a.provider_id == sub.provider_id and position[a.competition_level_id] <= position[level_id]
    ]
    if balance - sum((a.charged_amount for a in before), Decimal("0")) < level.price:
        return "insufficient_balance"
    if before:
        return "already_received"
    chosen_here = [photo.subs[a.subscription_id] for a in assignments if a.competition_level_id == level_id]
    if len(chosen_here) == level.max_providers and all(sub.fairness() > c.fairness() for c in chosen_here):
        return "level_full"
    return "should_have_been_chosen"


# --------------------------------------------------------------------------- the market and its life


@dataclass
class Market:
    niche_id: uuid.UUID
    slug: str
    levels: dict[str, uuid.UUID]
    providers: dict[str, uuid.UUID]
    subs: list[uuid.UUID]


def build_market(rng: random.Random) -> Market:
    niche = catalog.create_niche(slug=f"explain-{uuid.uuid4().hex[:8]}", name="Explained", fields=FIELDS, actor=ADMIN)
    levels = {
        name: catalog.create_level(
            niche_id=niche.id, name=name, price_per_lead=price, max_providers=most, priority_order=order, actor=ADMIN
        ).id
        for name, price, most, order in [("Gold", "30.00", 1, 1), ("Silver", "12.00", 2, 2), ("Bronze", "5.00", 3, 3)]
    }
    providers: dict[str, uuid.UUID] = {}

    def provider(name: str, balance: str) -> uuid.UUID:
        made = catalog.create_provider(
            name=name, email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com", actor=ADMIN
        ).id
        deposit(made, balance)
        providers[name] = made
        return made

    subs: list[uuid.UUID] = []

    def subscribe(name: str, level: str, filters: dict) -> uuid.UUID:
        made = catalog.create_subscription(
            competition_level_id=levels[level], filters=filters, actor=ADMIN, provider_id=providers[name]
        ).id
        subs.append(made)
        return made

    # Designed parts, so that every reason really occurs.
    provider("Tight", "35.00")  # wins Gold first (oldest), then cannot pay Silver for the same lead
    subscribe("Tight", "Gold", {})
    subscribe("Tight", "Silver", {})
    provider("Twin", "400.00")  # on every level: gets a lead once, then "already received"
    for level in ("Gold", "Silver", "Bronze"):
        subscribe("Twin", level, {})
    provider("Asleep", "100.00")
    catalog.update_subscription(subscription_id=subscribe("Asleep", "Bronze", {}), actor=ADMIN, active=False)
    provider("Switched", "100.00")
    subscribe("Switched", "Silver", {})
    catalog.set_provider_status(provider_id=providers["Switched"], status="inactive", actor=ADMIN)
    provider("Picky", "200.00")
    subscribe("Picky", "Silver", {"roof_type": ["asphalt"], "zip": ["99999"]})
    subscribe("Picky", "Bronze", {"area_sqft": {"min": 1000, "max": 3000}})
    # The crowd: random balances and filters, mostly at the cheap levels.
    for i in range(7):
        name = f"Crowd{i}"
        provider(name, rng.choice(["20.00", "45.00", "90.00", "250.00"]))
        for level in sorted(rng.sample(["Gold", "Silver", "Bronze", "Bronze"], rng.randint(1, 3))):
            subscribe(name, level, rng.choice(FILTER_MENU))
    return Market(niche.id, niche.slug, levels, providers, subs)


def random_change(rng: random.Random, market: Market) -> str:
    kind = rng.choice(
        ["deposit", "credit", "debit", "pause", "resume", "filters", "level", "switch", "price", "subscribe"]
    )
    name = rng.choice(sorted(market.providers))
    pid = market.providers[name]
    sub_id = rng.choice(market.subs)
    if kind == "deposit":
        deposit(pid, rng.choice(["5.00", "12.00", "40.00"]))
    elif kind == "credit":
        ledger.adjust(provider_id=pid, type="credit", amount="7.50", actor=ADMIN, memo="goodwill")
    elif kind == "debit":
        if catalog.get_provider(ADMIN, provider_id=pid).balance >= Decimal("3.00"):
            ledger.adjust(provider_id=pid, type="debit", amount="3.00", actor=ADMIN, memo="correction")
    elif kind in ("pause", "resume"):
        catalog.update_subscription(subscription_id=sub_id, actor=ADMIN, active=kind == "resume")
    elif kind == "filters":
        catalog.update_subscription(subscription_id=sub_id, actor=ADMIN, filters=rng.choice(FILTER_MENU))
    elif kind == "level":
        level = rng.choice(sorted(market.levels))
        catalog.update_level(level_id=market.levels[level], actor=ADMIN, active=rng.random() < 0.6)
    elif kind == "switch":
        catalog.set_provider_status(provider_id=pid, status=rng.choice(["active", "inactive"]), actor=ADMIN)
    elif kind == "price":
        catalog.update_level(
            level_id=market.levels["Bronze"], actor=ADMIN, price_per_lead=rng.choice(["5.00", "9.00", "21.00"])
        )
    elif kind == "subscribe":
        level = rng.choice(sorted(market.levels))
        try:
            market.subs.append(
                catalog.create_subscription(
                    competition_level_id=market.levels[level],
                    filters=rng.choice(FILTER_MENU),
                    actor=ADMIN,
                    provider_id=pid,
                ).id
            )
        except Exception as exc:  # a level switched off refuses new subscriptions
            assert type(exc).__name__ == "Conflict"
    return kind


def assignments_of(lead_id: uuid.UUID) -> list:
    with unit_of_work() as uow:
        return list(
            uow.session.execute(
                text(
                    "SELECT subscription_id, provider_id, competition_level_id, charged_amount FROM lead_assignments "
                    "WHERE lead_id = :id ORDER BY received_at"
                ),
                {"id": lead_id},
            ).all()
        )


def lead_of(lead_id: uuid.UUID) -> tuple[dict, int]:
    with unit_of_work() as uow:
        row = uow.session.execute(
            text("SELECT payload, distribution_seq FROM leads WHERE id = :id"), {"id": lead_id}
        ).one()
    return row.payload, row.distribution_seq


def approved_at(lead_id: uuid.UUID) -> datetime:
    with unit_of_work() as uow:
        return uow.session.execute(text("SELECT approved_at FROM leads WHERE id = :id"), {"id": lead_id}).scalar_one()


def answers(lead_id: uuid.UUID, **kwargs) -> dict[uuid.UUID, str]:
    return {d.subscription_id: d.reason for d in distribution.explain(lead_id=lead_id, **kwargs)}


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("seed", [90210, 3])
def test_every_answer_is_true_of_the_past_and_never_changes_afterwards(engine_db, seed):
    rng = random.Random(seed)
    market = build_market(rng)
    # Each lead is approved just before it is distributed, after the changes: a
    # subscription created by a change takes it (new subscriptions take only leads
    # approved from their creation on; test_buyer_controls_engine covers that rule).
    payloads = [random_payload(rng) for _ in range(16)]
    switched_off = {3: ("Silver", False), 6: ("Silver", True), 9: ("Gold", False), 11: ("Gold", True)}
    photos: dict[uuid.UUID, Photo] = {}
    first_answers: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
    seen: set[str] = set()

    for index, payload_in in enumerate(payloads):
        if index in switched_off:
            level, active = switched_off[index]
            catalog.update_level(level_id=market.levels[level], actor=ADMIN, active=active)
        if index == 2:  # an admin credit: an audit row for the provider without its status
            ledger.adjust(provider_id=market.providers["Picky"], type="credit", amount="1.00", actor=ADMIN)
        for _ in range(rng.randint(0, 3)):
            random_change(rng, market)
        lead_id = approved_lead(market.slug, payload_in)
        photo = photograph(market.niche_id)
        result = distribution.distribute_lead(lead_id=lead_id)
        if result.outcome != "distributed":
            continue
        photos[lead_id] = photo
        payload, seq = lead_of(lead_id)
        made = assignments_of(lead_id)
        got = answers(lead_id)
        assert set(got) == set(photo.subs), "explain must answer for every subscription of the niche"
        for sub_id, reason in got.items():
            level_id = photo.subs[sub_id].level_id
            assert reason == true_reason(photo, sub_id, level_id, payload, seq, made, approved_at(lead_id)), (
                f"lead #{index}, subscription {sub_id}: answered {reason}"
            )
        # level_full never hides someone who ranked ahead of a chosen one
        for sub_id, reason in got.items():
            if reason == "level_full":
                sub = photo.subs[sub_id]
                rivals = [photo.subs[a.subscription_id] for a in made if a.competition_level_id == sub.level_id]
                assert rivals and all(sub.fairness() > rival.fairness() for rival in rivals)
        first_answers[lead_id] = got
        seen |= {reason.split(":")[0] for reason in got.values()}

    assert len(first_answers) >= 12
    assert "unexplained" not in seen
    assert seen >= REASONS, f"the scenario never produced {REASONS - seen}"

    # Later: more money moves, edits, pauses, leads and charges; the past stays put.
    for _ in range(12):
        random_change(rng, market)
    for _ in range(4):
        distribution.distribute_lead(lead_id=approved_lead(market.slug, random_payload(rng)))
    deposit(market.providers["Tight"], "100.00")
    # All leads at once (as a page of missed leads asks): each lead is still answered
    # as of its own plan, although the batch mixes their snapshots in one statement.
    batched = distribution.explain_many(lead_ids=list(first_answers))
    for lead_id in first_answers:
        assert {d.subscription_id: d.reason for d in batched[lead_id]} == answers(lead_id)
    for lead_id, before in first_answers.items():
        after = answers(lead_id)
        assert {k: v for k, v in after.items() if k in before} == before
        for sub_id in set(after) - set(before):  # created later: never a candidate for this lead
            assert after[sub_id] in ("not_subscribed", "level_inactive")
            assert after[sub_id] == true_reason(
                photos[lead_id], sub_id, _level_of(sub_id), *lead_of(lead_id), assignments_of(lead_id)
            )


def _level_of(sub_id: uuid.UUID) -> uuid.UUID:
    with unit_of_work() as uow:
        return uow.session.execute(
            text("SELECT competition_level_id FROM provider_subscriptions WHERE id = :id"), {"id": sub_id}
        ).scalar_one()


def test_a_provider_sees_the_same_answers_for_its_own_subscriptions(engine_db):
    rng = random.Random(5)
    market = build_market(rng)
    lead_ids = [approved_lead(market.slug, random_payload(rng)) for _ in range(4)]
    for lead_id in lead_ids:
        distribution.distribute_lead(lead_id=lead_id)
    for lead_id in lead_ids:
        everyone = distribution.explain(lead_id=lead_id)
        for name, provider_id in market.providers.items():
            own = distribution.explain(lead_id=lead_id, provider_id=provider_id)
            assert own == [d for d in everyone if d.provider_id == provider_id], name


def test_a_level_created_after_the_lead_is_explained_as_not_subscribed_then(engine_db):
    """A level that did not exist when the lead was planned is not "inactive": nothing
    on it existed, so its subscriptions answer ``not_subscribed``; a level that existed
    but was switched off keeps ``level_inactive``."""
    rng = random.Random(7)
    market = build_market(rng)
    catalog.update_level(level_id=market.levels["Silver"], actor=ADMIN, active=False)
    lead_id = approved_lead(market.slug, random_payload(rng))
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    late = catalog.create_level(
        niche_id=market.niche_id, name="Platinum", price_per_lead="5.00", max_providers=2, priority_order=9, actor=ADMIN
    )
    provider_id = next(iter(market.providers.values()))
    sub = catalog.create_subscription(competition_level_id=late.id, filters={}, actor=ADMIN, provider_id=provider_id)
    got = answers(lead_id)
    assert got[sub.id] == "not_subscribed"
    silver = [sub_id for sub_id in got if _level_of(sub_id) == market.levels["Silver"]]
    assert silver and all(got[sub_id] == "level_inactive" for sub_id in silver)


def test_a_lead_not_yet_distributed_has_no_explanation(engine_db):
    rng = random.Random(6)
    market = build_market(rng)
    waiting = approved_lead(market.slug, random_payload(rng))
    assert distribution.explain(lead_id=waiting) == []


# --------------------------------------------------------------------------- commit order


def test_a_change_committed_while_a_lead_is_distributed_does_not_rewrite_its_explanation(engine_db):
    """A deposit numbered before the plan but committed after it was not in force for
    the plan: the explanation reads history as of the plan's snapshot, not by number."""
    import psycopg

    from tests.factories import make_market, make_provider, subscribe

    market = make_market(levels=[("Shared", "10.00", 2)], providers=1, balance="100.00")
    late = make_provider(name="Late")  # no money: its subscription starts auto-paused
    late_sub = subscribe(late.id, market.level("Shared").id)
    assert late_sub.active is False
    lead_id = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal"})

    with psycopg.connect(engine_db.replace("postgresql+psycopg://", "postgresql://", 1)) as slow:
        # A deposit in flight: the entry and the balance rules (resume, reactivate) are
        # written, numbered, but not committed.
        slow.execute(
            "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal, "
            "created_at) VALUES (gen_random_uuid(), %s, 'deposit', 50, %s, false, now())",
            (late.id, f"test:slow:{uuid.uuid4()}"),
        )
        slow.execute("SELECT hotlead_apply_balance_rules(%s)", (late.id,))
        # Meanwhile other work commits with higher numbers.
        make_provider(name="Bystander", balance="5.00")
        result = distribution.distribute_lead(lead_id=lead_id)
        assert result.outcome == "distributed" and len(result.assignments) == 1  # Late was paused
        slow.commit()

    assert answers(lead_id)[late_sub.id] == "subscription_paused"
