"""The buyer controls in the engine, rule by rule and combined (DOMAIN.md "Buyer
controls, returns and delivery"): designed scenarios checked against the reference
model (choices and explanations) and against the rule's own words, the time rules
across DST changes and month ends with the engine's clock frozen, the ZIP radius at
its edge, the retry when a window opens or a cap changes, and eight processes racing
into day caps and spend caps."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.controls import miles_between, period_bounds, schedule_open, zip_centroids
from hotlead_app.services import catalog, distribution
from tests.conftest import clone_database, point_settings_at
from tests.factories import ADMIN, approved_lead, make_market, make_provider
from tests.integration.distribution_scenarios import (
    QUIET_REDIS_DB,
    LevelSpec,
    NicheSpec,
    ProviderSpec,
    Scenario,
    SubSpec,
    assert_money_invariants,
    build_catalog,
    build_leads,
    observe,
    two_niche_scenario,
)
from tests.integration.test_distribution_concurrency import PROCESSES, run_in_parallel
from tests.integration.test_distribution_reference import assert_explained_as_the_model, assert_same, run_controlled

ROOF = {"zip": "30303", "roof_type": "metal"}


def reasons_of(built, reasons, index: int) -> dict[str, str]:
    """Lead #index's model reasons by subscription name (n/sub<i>)."""
    names = {sub_id: f"n/sub{i}" for i, sub_id in enumerate(built.sub_ids["n"])}
    return {names[k]: v for k, v in reasons.get(index, {}).items()}


def check(scenario: Scenario):
    built, actual, expected, reasons = run_controlled(scenario)
    assert_same(actual, expected)
    assert_explained_as_the_model(built, reasons)
    assert_money_invariants()
    return built, actual, reasons


# --------------------------------------------------------------------------- each rule, designed


def test_a_provider_capped_in_one_subscription_but_not_another(engine_db):
    # P0 takes the Gold level with a day cap of 1 and Silver without a cap; P1 is on Silver.
    levels = [LevelSpec("Gold", "10.00", 1, 1), LevelSpec("Silver", "5.00", 2, 2)]
    subs = [SubSpec(0, 0, {}, None, {"day": 1}), SubSpec(0, 1, {}), SubSpec(1, 1, {})]
    monday = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 11:00 in New York (EDT since Sunday)
    clock = [monday, monday + timedelta(hours=1), monday + timedelta(hours=2), monday + timedelta(hours=10)]
    scenario = Scenario(
        [NicheSpec("n", levels, subs)],
        [ProviderSpec("P0", "500.00"), ProviderSpec("P1", "500.00")],
        [("n", ROOF)] * 3,
        clock=clock,
    )
    built, actual, reasons = check(scenario)
    first, second, third = actual.leads
    assert ("n/Gold", "n/sub0", "P0", "10.00") in first[2]
    # The same day: Gold's capped subscription is explained, P0 still buys through Silver.
    later = [reasons_of(built, reasons, i) for i in (1, 2)]
    assert any(r["n/sub0"] == "cap_reached:day" for r in later)
    assert any(sub == "n/sub1" for _lv, sub, _p, _a in second[2] + third[2])


def test_a_schedule_window_that_opens_while_leads_wait_across_the_dst_change(engine_db):
    # Weekdays 09:00-17:00 in New York.  Monday 2 March 13:30 UTC is 08:30 EST (closed);
    # Monday 9 March 13:30 UTC is 09:30 EDT (open): the same UTC time, a DST change apart.
    week = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    levels = [LevelSpec("Only", "5.00", 1, 1)]
    march2 = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    scenario = Scenario(
        [NicheSpec("n", levels, [SubSpec(0, 0, {}, week)])],
        [ProviderSpec("P0", "100.00")],
        [("n", ROOF), ("n", ROOF)],
        clock=[march2, march2 + timedelta(minutes=20), datetime(2026, 3, 9, 13, 30, tzinfo=UTC)],
    )
    built, actual, _reasons = check(scenario)
    # Both wait before the window; the retry once it is open (after the DST change)
    # sells them, oldest first.
    assert [(status, seq) for status, seq, _ in actual.leads] == [("distributed", 0), ("distributed", 1)]
    with unit_of_work() as uow:
        clocks = uow.session.execute(
            text("SELECT clock_at FROM distribution_records WHERE lead_id = ANY(:ids)"), {"ids": built.lead_ids}
        ).scalars()
        assert set(clocks) == {datetime(2026, 3, 9, 13, 30, tzinfo=UTC)}


def test_a_spend_cap_that_blocks_the_expensive_level_but_not_the_cheap_one(engine_db):
    # One provider on both levels, a day spend cap of 35.00 in Los Angeles.  Lead 0
    # (Pricey first) costs 25; lead 1 (Cheap first) 5, 30 in all; lead 2 starts at
    # Pricey: 30 + 25 > 35 is refused, then Cheap: 30 + 5 = 35 <= 35 is sold.
    levels = [LevelSpec("Pricey", "25.00", 1, 1), LevelSpec("Cheap", "5.00", 1, 2)]
    subs = [SubSpec(0, 0, {}), SubSpec(0, 1, {})]
    noon = datetime(2026, 5, 29, 19, 0, tzinfo=UTC)
    scenario = Scenario(
        [NicheSpec("n", levels, subs)],
        [ProviderSpec("P0", "500.00", "America/Los_Angeles", {"day": "35.00"})],
        [("n", ROOF)] * 4,
        clock=[noon + timedelta(hours=h) for h in range(5)],
    )
    built, actual, reasons = check(scenario)
    made = [[a for *_x, a in m] for _s, _q, m in actual.leads]
    assert made == [["25.00"], ["5.00"], ["5.00"], []]
    assert reasons_of(built, reasons, 2) == {"n/sub0": "spend_cap_reached:day", "n/sub1": "chosen"}


def test_the_same_consumer_twice_in_one_niche_but_not_across_niches(engine_db):
    levels = [LevelSpec("Only", "5.00", 2, 1)]
    day = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
    scenario = Scenario(
        [NicheSpec("n", levels, [SubSpec(0, 0, {}), SubSpec(1, 0, {})])],
        [ProviderSpec("P0", "100.00"), ProviderSpec("P1", "100.00")],
        [("n", ROOF)] * 3,
        clock=[day, day + timedelta(days=1), day + timedelta(days=31), day + timedelta(days=32)],
        consumers=["Pat@Example.com", "PAT@example.com", "pat@example.com"],
    )
    built, actual, _reasons = check(scenario)
    assert len(actual.leads[0][2]) == 2
    assert actual.leads[1][0] == "approved"  # both providers bought Pat yesterday
    assert len(actual.leads[2][2]) == 2  # 31 days later: outside the 30-day window
    # A second niche with the same providers and the same consumer: not a duplicate.
    other = make_market(providers=0, slug=f"other-{uuid.uuid4().hex[:6]}")
    catalog.create_subscription(
        competition_level_id=other.levels[0].id, filters={}, actor=ADMIN, provider_id=built.provider_ids[0]
    )
    from hotlead_app.services import intake, leads
    from tests.factories import confirmation_token

    lead = intake.submit_lead(niche_slug=other.niche.slug, email="PAT@example.com", payload=ROOF).id
    leads.confirm_lead(token=confirmation_token(lead))
    leads.approve_lead(lead_id=lead, actor=ADMIN)
    distribution.freeze_clock(day + timedelta(days=1, hours=1))
    try:
        assert distribution.distribute_lead(lead_id=lead).outcome == "distributed"
    finally:
        distribution.freeze_clock(None)


def test_a_new_subscription_takes_only_future_leads_unless_asked(engine_db):
    market = make_market(levels=[("Only", "5.00", 3)], providers=0)
    waiting = approved_lead(market.niche.slug, ROOF)
    late = make_provider(balance="50.00")
    sub = catalog.create_subscription(
        competition_level_id=market.levels[0].id, filters={}, actor=ADMIN, provider_id=late.id
    )
    fresh = approved_lead(market.niche.slug, ROOF)
    assert distribution.distribute_lead(lead_id=waiting).outcome == "no_eligible"
    assert distribution.distribute_lead(lead_id=fresh).outcome == "distributed"
    # another provider on the same level now: the waiting lead goes to it, and the late
    # subscription is explained as before_subscription
    eager = make_provider(balance="50.00")
    catalog.create_subscription(
        competition_level_id=market.levels[0].id, filters={}, actor=ADMIN, provider_id=eager.id, take_waiting=True
    )
    assert distribution.distribute_lead(lead_id=waiting).outcome == "distributed"
    got = {d.subscription_id: d.reason for d in distribution.explain(lead_id=waiting)}
    assert got[sub.id] == "before_subscription"


# --------------------------------------------------------------------------- geography


def _pair_at(low: float, high: float) -> tuple[str, str, float]:
    """Two known ZIPs whose centroids lie between low and high miles apart."""
    places = zip_centroids()
    for centre in ("10001", "30303", "60601", "94105"):
        for other in sorted(places):
            d = miles_between(other, centre)
            if d is not None and low < d < high:
                return other, centre, d
    raise AssertionError("no pair")


def test_zip_radius_at_its_edge_is_the_same_in_sql_and_python(engine_db):
    lead_zip, centre, d = _pair_at(24.95, 25.05)
    with unit_of_work() as uow:
        for miles, inside in ((24.9, False), (25.1, True), (round(d, 6) + 0.000001, True)):
            rule = {"zip": {"near": {"zip": centre, "miles": miles}}}
            sql = uow.session.execute(
                text("SELECT hotlead_filter_mismatch(CAST(:f AS jsonb), CAST(:p AS jsonb))"),
                {"f": json.dumps(rule), "p": json.dumps({"zip": lead_zip})},
            ).scalar_one()
            assert (sql is None) == inside, (lead_zip, centre, d, miles)
        # every known ZIP within 60 miles of a centre: SQL and Python agree on 25 miles
        rows = uow.session.execute(
            text("""
            SELECT z.zip, hotlead_zip_within(z.zip, CAST(:rule AS jsonb))
              FROM zip_centroids z, zip_centroids c
             WHERE c.zip = :centre AND abs(z.latitude - c.latitude) < 1 AND abs(z.longitude - c.longitude) < 1.3
        """),
            {"rule": json.dumps({"near": {"zip": centre, "miles": 25}}), "centre": centre},
        ).all()
    assert len(rows) > 50
    for z, inside in rows:
        assert inside == (miles_between(z, centre) <= 25), z


def test_states_and_unknown_zips(engine_db):
    with unit_of_work() as uow:

        def within(value: str, rule: str) -> bool:
            return uow.session.execute(
                text("SELECT hotlead_zip_within(:v, CAST(:r AS jsonb))"), {"v": value, "r": rule}
            ).scalar_one()

        assert within("10001-1234", '{"states": ["NY"]}')
        assert not within("10001", '{"states": ["NJ"]}')
        assert not within("00000", '{"states": ["NY"]}')
        assert not within("1000", '{"states": ["NY"]}')


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 8, 6, 59, tzinfo=UTC),  # 01:59 EST, a minute before the spring change
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # 03:00 EDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT (first pass)
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),  # 01:30 EST (second pass)
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC),  # month end in Los Angeles / Kolkata
        datetime(2026, 2, 28, 23, 59, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 0, tzinfo=UTC),  # a year end
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # London's change
    ],
)
def test_periods_and_windows_from_postgresql_tz_data_match_the_rules(engine_db, now):
    with unit_of_work() as uow:
        for zone in ("America/New_York", "America/Los_Angeles", "Asia/Kolkata", "Europe/London"):
            for period in ("day", "week", "month"):
                start, end = uow.session.execute(
                    text("SELECT period_start, period_end FROM hotlead_period_bounds(:n, :z, :p)"),
                    {"n": now, "z": zone, "p": period},
                ).one()
                assert (start, end) == period_bounds(now, zone, period), (zone, period)
                local = start.astimezone(ZoneInfo(zone))
                assert (local.hour, local.minute) == (0, 0)
                assert start <= now < end
            schedule = '{"sun": [["01:00", "02:30"]], "sat": [["18:00", "24:00"]], "mon": [["00:00", "00:45"]]}'
            is_open = uow.session.execute(
                text("SELECT hotlead_schedule_open(CAST(:s AS jsonb), CAST(:n AS timestamptz) AT TIME ZONE :z)"),
                {"s": schedule, "n": now, "z": zone},
            ).scalar_one()
            assert is_open == schedule_open(json.loads(schedule), now.astimezone(ZoneInfo(zone)))


def test_a_day_cap_resets_at_local_midnight_not_utc(engine_db):
    levels = [LevelSpec("Only", "5.00", 1, 1)]
    # 23:30 and 00:30 in Kolkata (UTC+5:30) are 18:00 and 19:00 UTC: one UTC day, two local days.
    clock = [datetime(2026, 4, 1, 18, 0, tzinfo=UTC), datetime(2026, 4, 1, 18, 20, tzinfo=UTC)]
    clock += [datetime(2026, 4, 1, 19, 0, tzinfo=UTC)] * 2
    scenario = Scenario(
        [NicheSpec("n", levels, [SubSpec(0, 0, {}, None, {"day": 1})])],
        [ProviderSpec("P0", "100.00", "Asia/Kolkata")],
        [("n", ROOF)] * 3,
        clock=clock,
    )
    _built, actual, _reasons = check(scenario)
    assert [s for s, _, _ in actual.leads] == ["distributed", "approved", "distributed"]


# --------------------------------------------------------------------------- retry


def test_waiting_leads_are_retried_when_a_cap_is_raised(engine_db):
    market = make_market(levels=[("Only", "5.00", 1)], providers=0)
    provider = make_provider(balance="100.00")
    sub = catalog.create_subscription(
        competition_level_id=market.levels[0].id, filters={}, actor=ADMIN, provider_id=provider.id, caps={"day": 1}
    )
    first, second, third = (approved_lead(market.niche.slug, ROOF) for _ in range(3))
    assert [distribution.distribute_lead(lead_id=i).outcome for i in (first, second, third)] == [
        "distributed",
        "no_eligible",
        "no_eligible",
    ]
    catalog.update_subscription(subscription_id=sub.id, actor=ADMIN, caps={"day": 2})
    with unit_of_work() as uow:
        queued = uow.session.execute(
            text("SELECT count(*) FROM outbox WHERE task = 'distribution.retry_waiting' AND done_at IS NULL")
        ).scalar_one()
    assert queued >= 1  # the change queued a retry (the beat also runs it every minute)
    counts = distribution.retry_waiting(niche_id=market.niche.id)
    assert counts == {"distributed": 1, "waiting": 1, "failed": 0}
    with unit_of_work() as uow:
        statuses = dict(
            uow.session.execute(
                text("SELECT id, status::text FROM leads WHERE id IN (:a, :b)"), {"a": second, "b": third}
            ).all()
        )
    assert statuses == {second: "distributed", third: "approved"}  # oldest lead first


# --------------------------------------------------------------------------- eight processes into caps


def _midday_zone() -> str:
    """An Etc/GMT zone where it is about noon now: the run never crosses a local midnight."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}") if offset else "Etc/GMT"


def _capped_scenario() -> Scenario:
    base = two_niche_scenario(77, leads=120, providers=14)
    zone = _midday_zone()
    providers = [
        ProviderSpec(p.name, p.deposit, zone, {} if i == 0 else {"day": "60.00"}) for i, p in enumerate(base.providers)
    ]
    niches = [
        NicheSpec(
            n.key,
            n.levels,
            [SubSpec(s.provider, s.level, s.filters, None, {} if s.provider == 0 else {"day": 2}) for s in n.subs],
        )
        for n in base.niches
    ]
    return Scenario(niches, providers, base.leads, {})


def test_eight_processes_into_day_caps_and_spend_caps_never_exceed_them_and_equal_the_sequential_run(
    engine_db, pg, redis_server
):
    scenario = _capped_scenario()
    quiet = redis_server.url(QUIET_REDIS_DB)
    parallel = build_catalog(scenario, tag="par")
    build_leads(scenario, parallel)
    twin_name = f"t_caps_{uuid.uuid4().hex[:10]}"
    twin_url = clone_database(pg, twin_name)
    try:
        point_settings_at(database_url=twin_url, redis_url=quiet)
        sequential = build_catalog(scenario, tag="seq")
        build_leads(scenario, sequential)
        point_settings_at(database_url=engine_db, redis_url=quiet)

        started = time.monotonic()
        reports = run_in_parallel(engine_db, quiet, parallel.lead_ids)
        elapsed = time.monotonic() - started
        assert [errors for _, _, errors in reports] == [[]] * PROCESSES
        outcomes = Counter(outcome for _, runs, _ in reports for _lead, outcome in runs)
        assert outcomes["distributed"] == len(parallel.lead_ids)
        after_parallel = observe(scenario, parallel)
        assert_money_invariants()
        with unit_of_work() as uow:
            s = uow.session
            over_caps = s.execute(
                text("""
                SELECT s.id, count(a.id) FROM provider_subscriptions s JOIN lead_assignments a ON a.subscription_id = s.id
                 WHERE s.caps ? 'day' GROUP BY s.id, s.caps HAVING count(a.id) > (s.caps->>'day')::int""")
            ).all()
            over_spend = s.execute(
                text("""
                SELECT p.id, sum(a.charged_amount) FROM service_providers p JOIN lead_assignments a ON a.provider_id = p.id
                 WHERE p.spend_caps ? 'day' GROUP BY p.id, p.spend_caps
                HAVING sum(a.charged_amount) > (p.spend_caps->>'day')::numeric""")
            ).all()
            capped_full = s.execute(
                text("""
                SELECT count(*) FROM (SELECT s.id FROM provider_subscriptions s JOIN lead_assignments a
                   ON a.subscription_id = s.id WHERE s.caps ? 'day' GROUP BY s.id, s.caps
                   HAVING count(a.id) = (s.caps->>'day')::int) x""")
            ).scalar_one()
            order = [
                r.lead_id
                for r in s.execute(
                    text(
                        "SELECT lead_id, min(received_at) AS first FROM lead_assignments GROUP BY lead_id ORDER BY first"
                    )
                ).all()
            ]
        assert over_caps == [] and over_spend == []
        assert capped_full > 3, "the caps were never reached: the race into them was not exercised"

        index = {lead_id: i for i, lead_id in enumerate(parallel.lead_ids)}
        point_settings_at(database_url=twin_url, redis_url=quiet)
        for lead_id in order:
            assert distribution.distribute_lead(lead_id=sequential.lead_ids[index[lead_id]]).outcome == "distributed"
        after_sequential = observe(scenario, sequential)
        point_settings_at(database_url=engine_db, redis_url=quiet)
        assert after_parallel.leads == after_sequential.leads
        assert after_parallel.providers == after_sequential.providers
        assert after_parallel.fairness == after_sequential.fairness
        print(f"capped parallel run: {PROCESSES} processes x {len(parallel.lead_ids)} leads in {elapsed:.1f}s")
    finally:
        point_settings_at(database_url=engine_db, redis_url=quiet)
        pg.drop_database(twin_name)
