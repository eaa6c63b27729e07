"""The distribution engine (PL/pgSQL ``hotlead_distribute_lead``) does exactly what
DOMAIN.md "Distribution engine" and "Balance, auto-deactivation, reactivation" say.

``ReferenceMarket`` below is a deliberately plain, slow reading of those rules in
Python, with its own rotation, eligibility, fairness order, stamps and balance rules.
Each scenario is built once through the services, distributed lead by lead through
``distribution.distribute_lead``, and run through the reference on the same inputs
(the ids and created_at the database gave, so ties break the same way); both must
end with the same assignments, lead states, balances, statuses and fairness order.

The reference uses ``hotlead_app.domain.filters.matches``; the first tests prove the
SQL filter function agrees with it on a generated corpus.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.errors import InvalidFilters
from hotlead_app.domain.fairness import uuid_key
from hotlead_app.domain.filters import first_mismatch, matches, validate_filters
from hotlead_app.services import distribution
from tests.integration.distribution_scenarios import (
    FILTER_MENU,
    Built,
    Event,
    LevelSpec,
    NicheSpec,
    Observed,
    ProviderSpec,
    Scenario,
    SubSpec,
    assert_money_invariants,
    build_catalog,
    build_leads,
    observe,
    random_payload,
    random_scenario,
    run_sequentially,
)

# --------------------------------------------------------------------------- the reference


@dataclass
class RefLevel:
    id: Any
    name: str
    niche: str
    price: Decimal
    max_providers: int
    priority_order: int
    active: bool = True


@dataclass
class RefProvider:
    id: Any
    name: str
    balance: Decimal = Decimal("0.00")
    status: str = "active"


@dataclass
class RefSub:
    id: Any
    name: str
    provider: RefProvider
    level: RefLevel
    filters: dict[str, Any]
    created_at: datetime
    active: bool = True
    pause_reason: str | None = None
    last: int | None = None  # the reference's own stamps: a counter, strictly increasing


class ReferenceMarket:
    """DOMAIN.md read literally, with no database and no cleverness."""

    def __init__(self) -> None:
        self.levels: list[RefLevel] = []
        self.providers: list[RefProvider] = []
        self.subs: list[RefSub] = []
        self.distributed: dict[str, int] = {}  # niche -> leads that reached distributed
        self.clock = 0

    # -- balance rules ("Balance, auto-deactivation, reactivation")

    def _subs_of(self, provider: RefProvider) -> list[RefSub]:
        return [s for s in self.subs if s.provider is provider]

    def _after_decrease(self, provider: RefProvider) -> None:
        for sub in self._subs_of(provider):
            if sub.active and sub.level.price > provider.balance:
                sub.active, sub.pause_reason = False, "insufficient_balance"
        subs = self._subs_of(provider)
        if (
            provider.status == "active"
            and not any(s.active for s in subs)
            and any(s.pause_reason == "insufficient_balance" for s in subs)
        ):
            provider.status = "auto_deactivated"

    def _after_increase(self, provider: RefProvider) -> None:
        for sub in self._subs_of(provider):
            if not sub.active and sub.pause_reason == "insufficient_balance" and sub.level.price <= provider.balance:
                sub.active, sub.pause_reason = True, None
        if provider.status == "auto_deactivated" and any(s.active for s in self._subs_of(provider)):
            provider.status = "active"

    def _recheck(self, provider: RefProvider) -> None:
        """After a subscription is created, paused or resumed, or an admin switches a
        provider on: the same two rules, as the balance stands."""
        self._after_decrease(provider)
        self._after_increase(provider)

    # -- changes

    def deposit(self, provider: RefProvider, amount: Decimal) -> None:
        provider.balance += amount
        self._after_increase(provider)

    def subscribe(self, sub: RefSub) -> None:
        self.subs.append(sub)
        self._recheck(sub.provider)

    def set_sub_active(self, sub: RefSub, active: bool) -> None:
        sub.active, sub.pause_reason = (True, None) if active else (False, "paused_by_provider")
        self._recheck(sub.provider)

    def set_provider_status(self, provider: RefProvider, status: str) -> None:
        provider.status = status
        if status == "active":
            self._recheck(provider)

    # -- the engine

    def distribute(self, niche: str, payload: dict[str, Any]) -> list[tuple[RefLevel, RefSub]] | None:
        levels = sorted(
            (lv for lv in self.levels if lv.niche == niche and lv.active),
            key=lambda lv: (lv.priority_order, uuid_key(lv.id)),
        )
        if not levels:
            return None
        seq = self.distributed.get(niche, 0)
        start = seq % len(levels)
        charged: dict[int, Decimal] = {}  # id(provider) -> charged for this lead
        made: list[tuple[RefLevel, RefSub]] = []
        for level in levels[start:] + levels[:start]:
            eligible = [
                s
                for s in self.subs
                if s.level is level
                and s.active
                and s.provider.status == "active"
                and matches(s.filters, payload)
                and s.provider.balance >= level.price  # charges for this lead are already taken off
                and id(s.provider) not in charged
            ]
            eligible.sort(key=lambda s: (s.last is not None, s.last or 0, s.created_at, uuid_key(s.id)))
            taken = 0
            for sub in eligible:
                if taken == level.max_providers:
                    break
                if id(sub.provider) in charged:  # its other subscription at this level won
                    continue
                sub.provider.balance -= level.price
                assert sub.provider.balance >= 0
                charged[id(sub.provider)] = level.price
                self.clock += 1
                sub.last = self.clock
                made.append((level, sub))
                taken += 1
        for provider in self.providers:
            if id(provider) in charged:
                self._after_decrease(provider)
        if not made:
            return None
        self.distributed[niche] = seq + 1
        return made


def run_reference(scenario: Scenario, built: Built) -> tuple[Observed, Observed]:
    """(state after the catalog was built, state at the end), shaped like ``observe``."""
    market = ReferenceMarket()
    levels: dict[str, list[RefLevel]] = {}
    for niche in scenario.niches:
        levels[niche.key] = [
            RefLevel(
                built.level_ids[niche.key][i],
                f"{niche.key}/{lv.name}",
                niche.key,
                Decimal(lv.price),
                lv.max_providers,
                lv.priority_order,
            )
            for i, lv in enumerate(niche.levels)
        ]
        market.levels.extend(levels[niche.key])
    for i, spec in enumerate(scenario.providers):
        provider = RefProvider(built.provider_ids[i], spec.name)
        market.providers.append(provider)
        if Decimal(spec.deposit) > 0:
            market.deposit(provider, Decimal(spec.deposit))
    subs: dict[str, list[RefSub]] = {}
    for niche in scenario.niches:
        subs[niche.key] = []
        for i, spec in enumerate(niche.subs):
            sub_id = built.sub_ids[niche.key][i]
            sub = RefSub(
                sub_id,
                f"{niche.key}/sub{i}",
                market.providers[spec.provider],
                levels[niche.key][spec.level],
                spec.filters,
                built.sub_created_at[sub_id],
            )
            subs[niche.key].append(sub)
            market.subscribe(sub)

    def snapshot(lead_states: list) -> Observed:
        fairness = {
            key: [
                s.name
                for s in sorted(group, key=lambda s: (s.last is not None, s.last or 0, s.created_at, uuid_key(s.id)))
            ]
            for key, group in subs.items()
        }
        return Observed(
            leads=lead_states,
            providers={p.name: (f"{p.balance:.2f}", p.status) for p in market.providers},
            subs={s.name: (s.active, s.pause_reason) for group in subs.values() for s in group},
            fairness=fairness,
        )

    start = snapshot([])

    def apply(event: Event) -> None:
        if event.kind == "level":
            key, index = event.target
            levels[key][index].active = event.value
        elif event.kind == "sub":
            key, index = event.target
            market.set_sub_active(subs[key][index], event.value)
        elif event.kind == "provider":
            market.set_provider_status(market.providers[event.target[0]], event.value)
        elif event.kind == "deposit":
            market.deposit(market.providers[event.target[0]], Decimal(event.value))

    states: list[tuple[str, int | None, list]] = []

    def attempt(key: str, payload: dict[str, Any]) -> tuple[str, int | None, list]:
        seq = market.distributed.get(key, 0)
        made = market.distribute(key, payload)
        if made is None:
            return ("approved", None, [])
        return ("distributed", seq, [(lv.name, sub.name, sub.provider.name, f"{lv.price:.2f}") for lv, sub in made])

    for index, (key, payload) in enumerate(scenario.leads):
        for change in scenario.events.get(index, []):
            apply(change)
        states.append(attempt(key, payload))
    for change in scenario.events.get(len(scenario.leads), []):
        apply(change)
    for niche in scenario.niches:  # retry_waiting, niche by niche, oldest lead first
        for index, (key, payload) in enumerate(scenario.leads):
            if key == niche.key and states[index][0] == "approved":
                states[index] = attempt(key, payload)
    return start, snapshot(states)


def assert_same(actual: Observed, expected: Observed) -> None:
    """Equal, reported at the first lead that differs (a 200-lead diff is unreadable)."""
    for index, (got, want) in enumerate(zip(actual.leads, expected.leads, strict=True)):
        assert got == want, f"lead #{index} differs"
    assert actual.providers == expected.providers
    assert actual.subs == expected.subs
    assert actual.fairness == expected.fairness


# --------------------------------------------------------------------------- SQL filters == Python filters

FIELD_NAMES = ["a", "b", "zip", "Z_9"]
TRICKY_TEXT = [
    "10",
    "10.0",
    "10.5",
    "-0",
    "0",
    "007",
    "7",
    "",
    " 10",
    "1e3",
    "abc",
    "10\n",
    "-12.50",
    "1.",
    ".5",
    "+5",
    "\u0661\u0662",
    "NaN",
    "Infinity",
    "true",
    "null",
    "metal",
]
TRICKY_NUMBERS = [
    10,
    0,
    7,
    -12,
    10**20,
    10**30,
    10**400,
    10.0,
    10.5,
    -0.0,
    1e3,
    1e16,
    1e20,
    5e-324,
    0.1,
    -12.5,
    1.7976931348623157e308,
    1e-7,
    2500.5,
]
json_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
scalars = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.sampled_from(TRICKY_NUMBERS),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    json_text,
)
payload_values = st.one_of(
    scalars,
    st.booleans(),
    st.none(),
    st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(["min", "x"]), scalars, max_size=2),
)
payloads = st.dictionaries(st.sampled_from(FIELD_NAMES), payload_values, max_size=4)
bounds = st.one_of(
    st.integers(-(10**6), 10**6),
    st.sampled_from(["10", "10.5", "-0.25", "0", 10, 0, 7, 2500.5]),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
    st.sampled_from(TRICKY_TEXT),
)
rules = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(TRICKY_TEXT), st.sampled_from(TRICKY_NUMBERS), st.integers(-20, 20), json_text),
        min_size=1,
        max_size=4,
    ),
    st.fixed_dictionaries({}, optional={"min": bounds, "max": bounds}),
)
raw_filters = st.dictionaries(st.sampled_from(FIELD_NAMES), rules, max_size=3)


def _near(value: object) -> list[object]:
    """Payload values that sit on, next to or are spelled like a listed value or a bound."""
    out: list[object] = [value]
    numbers: list[int | float] = []
    if isinstance(value, str):
        try:
            number = Decimal(value)
            if number.is_finite():
                numbers.append(int(number) if number == number.to_integral_value() else float(number))
                out.append(f"{number}")
        except (ArithmeticError, ValueError, OverflowError):
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        numbers.append(value)
    for number in numbers:
        out += [str(number), f"{number}.0" if isinstance(number, int) else f"{number}0"]
        try:
            out += [number + 1, number - 0.5, float(number)]
        except OverflowError:
            pass
    return out


@st.composite
def filters_and_payloads(draw) -> tuple[dict, dict]:
    """Filters, and a payload that often carries values close to what they ask for."""
    raw = draw(raw_filters)
    payload = draw(payloads)
    for key, rule in raw.items():
        if draw(st.booleans()):
            candidates = [v for item in (rule if isinstance(rule, list) else rule.values()) for v in _near(item)]
            if candidates:
                payload[key] = draw(st.sampled_from(candidates))
    return raw, payload


def sql_first_mismatch(session, filters: dict, payload: dict) -> tuple[str | None, Any]:
    row = session.execute(
        text("SELECT hotlead_filter_mismatch(CAST(:f AS jsonb), CAST(:p AS jsonb)), CAST(:p AS jsonb)"),
        {"f": json.dumps(filters), "p": json.dumps(payload)},
    ).one()
    return row[0], row[1]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=filters_and_payloads())
def test_sql_filter_function_names_the_same_first_mismatch_as_python(engine_db, case):
    raw, payload = case
    try:
        stored = validate_filters(raw)  # what a subscription keeps: the only input the engine sees
    except InvalidFilters:
        assume(False)
    with unit_of_work() as uow:
        in_sql, round_tripped = sql_first_mismatch(uow.session, stored, payload)
    expected = first_mismatch(stored, payload)
    passed = sum(1 for key in stored if key in payload and first_mismatch({key: stored[key]}, payload) is None)
    event(f"rules the payload passes: {min(passed, 2)}")
    assert in_sql == expected
    assert first_mismatch(raw, payload) == expected
    # explanations read the payload back from the database: the verdict must not move
    assert first_mismatch(stored, round_tripped) == expected


def test_sql_filter_function_agrees_on_every_filter_the_scenarios_use(engine_db):
    rng = random.Random(7)
    with unit_of_work() as uow:
        for filters in FILTER_MENU:
            for _ in range(60):
                payload = random_payload(rng)
                assert sql_first_mismatch(uow.session, validate_filters(filters), payload)[0] == first_mismatch(
                    filters, payload
                ), (filters, payload)


# --------------------------------------------------------------------------- the big seeded scenario


def run_scenario(scenario: Scenario) -> tuple[Observed, Observed, Observed]:
    """Build, check the starting state, distribute; return (db, reference, db before leads)."""
    built = build_catalog(scenario)
    at_start = observe(scenario, built)
    build_leads(scenario, built)
    expected_start, expected = run_reference(scenario, built)
    assert (at_start.providers, at_start.subs) == (expected_start.providers, expected_start.subs)
    run_sequentially(scenario, built)
    return observe(scenario, built), expected, at_start


@pytest.mark.parametrize("seed", [20251126])
def test_two_hundred_leads_are_distributed_exactly_as_the_reference_reading_of_the_rules(engine_db, seed):
    scenario = random_scenario(seed, leads=200, providers=20)
    actual, expected, _ = run_scenario(scenario)

    assert_same(actual, expected)
    assert_money_invariants()

    # The scenario really covered what it claims to: rotation over three levels,
    # full and partial levels, providers running out and being paused, some leads
    # left waiting and some picked up again by the retry after the deposits.
    statuses = [status for status, _, _ in actual.leads]
    assert statuses.count("distributed") >= 100 and "approved" in statuses
    seqs = [seq for _, seq, _ in actual.leads]
    assert any(a is not None and b is not None and a > b for a, b in itertools.pairwise(seqs)), (
        "no waiting lead was picked up by the retry after the deposits"
    )
    levels_used = {lv for _, _, made in actual.leads for lv, *_ in made}
    assert levels_used == {"main/Exclusive", "main/Premium", "main/Shared"}
    assert any(len(made) >= 4 for _, _, made in actual.leads)
    assert {status for _, status in actual.providers.values()} >= {"active", "auto_deactivated", "inactive"}
    assert "insufficient_balance" in {reason for _, reason in actual.subs.values()}
    assert sorted(seq for _, seq, _ in actual.leads if seq is not None) == list(range(statuses.count("distributed")))


# --------------------------------------------------------------------------- small generated scenarios

PRICES = ["5.00", "7.25", "10.00", "12.50", "25.00"]


@st.composite
def small_scenarios(draw) -> Scenario:
    n_levels = draw(st.integers(1, 3))
    levels = [
        LevelSpec(f"L{i}", draw(st.sampled_from(PRICES)), draw(st.integers(1, 3)), draw(st.integers(-1, 1)))
        for i in range(n_levels)
    ]  # equal priority orders happen: the level id breaks the tie
    n_providers = draw(st.integers(1, 5))
    providers = [
        ProviderSpec(f"Q{i}", draw(st.sampled_from(["0", "5.00", "10.00", "20.00", "37.50", "100.00"])))
        for i in range(n_providers)
    ]
    subs = draw(
        st.lists(
            st.builds(
                SubSpec, st.integers(0, n_providers - 1), st.integers(0, n_levels - 1), st.sampled_from(FILTER_MENU)
            ),
            min_size=1,
            max_size=9,
        )
    )
    leads = draw(st.lists(st.randoms(use_true_random=False).map(random_payload), min_size=1, max_size=7))
    event = st.one_of(
        st.builds(Event, st.just("level"), st.tuples(st.just("n"), st.integers(0, n_levels - 1)), st.booleans()),
        st.builds(Event, st.just("sub"), st.tuples(st.just("n"), st.integers(0, len(subs) - 1)), st.booleans()),
        st.builds(
            Event,
            st.just("provider"),
            st.tuples(st.integers(0, n_providers - 1)),
            st.sampled_from(["active", "inactive"]),
        ),
        st.builds(
            Event,
            st.just("deposit"),
            st.tuples(st.integers(0, n_providers - 1)),
            st.sampled_from(["2.75", "5.00", "12.50", "30.00"]),
        ),
    )
    events = draw(st.dictionaries(st.integers(0, len(leads)), st.lists(event, min_size=1, max_size=3), max_size=3))
    return Scenario([NicheSpec("n", levels, subs)], providers, [("n", p) for p in leads], events)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(scenario=small_scenarios())
def test_any_small_market_is_distributed_as_the_reference_says_and_never_breaks_the_money_rules(engine_db, scenario):
    actual, expected, _ = run_scenario(scenario)
    assert_same(actual, expected)
    for status, _seq, made in actual.leads:
        providers = [provider for _, _, provider, _ in made]
        assert len(providers) == len(set(providers)), "a provider received one lead twice"
        per_level: dict[str, int] = {}
        for level, *_ in made:
            per_level[level] = per_level.get(level, 0) + 1
        for level, count in per_level.items():
            spec = next(lv for lv in scenario.niches[0].levels if f"n/{lv.name}" == level)
            assert count <= spec.max_providers, "a level took more providers than its max_providers"
        assert (status == "distributed") == bool(made)
    assert all(Decimal(balance) >= 0 for balance, _ in actual.providers.values()), "a charge overdrew"
    assert_money_invariants()


def test_distributing_a_lead_again_changes_nothing(engine_db):
    scenario = random_scenario(11, leads=6, providers=5)
    built = build_catalog(scenario)
    build_leads(scenario, built)
    run_sequentially(scenario, built)
    before = observe(scenario, built)
    again = [distribution.distribute_lead(lead_id=i) for i in built.lead_ids]
    assert {r.outcome for r in again} <= {"not_approved", "no_eligible"}
    assert observe(scenario, built) == before
