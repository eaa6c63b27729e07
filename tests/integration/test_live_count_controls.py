"""The subscription editor's live 30-day count with the buyer controls
(``reads.subscriptions.filter_preview`` → ``domain.controls.count_within_controls``):
of the leads the filters match, the ones the schedule (in the provider's time zone, at
each lead's approval time) and the caps per day / week / month (the leads in time
order, a period's extra ones not counted) let through, checked against a plain-Python
computation on generated leads."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain import actors
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.services.reads import subscriptions
from tests.factories import approved_lead, make_market

ZONE = "America/Los_Angeles"
NOW = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)  # a DST change (8 March) within the 30 days
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
def world(module_db):
    """A niche with 160 approved leads spread over the last 30 days (some in the same
    hours, so that caps bite), 2 in 3 of them in ZIP 30301; the provider in ZONE."""
    market = make_market(levels=[("Shared", "5.00", 1)], providers=1, balance="100.00")
    provider_id = market.providers[0].id
    template = approved_lead(market.slug, {"zip": "30301", "roof_type": "metal", "area_sqft": 900})
    rng = random.Random(14)
    made: list[tuple[datetime, str]] = []
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE service_providers SET time_zone = :z WHERE id = :id"), {"z": ZONE, "id": provider_id}
        )
        for i in range(160):
            approved = NOW - timedelta(minutes=rng.randrange(0, 30 * 24 * 60 - 90))
            if i % 5 == 0 and made:  # a burst: right after an earlier lead
                approved = made[-1][0] + timedelta(minutes=rng.randrange(1, 40))
            zip_code = "30301" if i % 3 else "30302"
            uow.session.execute(
                text("""
                INSERT INTO leads
                SELECT (jsonb_populate_record(NULL::leads, to_jsonb(l) || jsonb_build_object(
                          'id', CAST(:id AS uuid), 'created_at', CAST(:at AS timestamptz) - interval '5 minutes',
                          'approved_at', CAST(:at AS timestamptz), 'confirmed_at', CAST(:at AS timestamptz),
                          'payload', l.payload || jsonb_build_object('zip', CAST(:zip AS text))))).*
                  FROM leads l WHERE l.id = :template"""),
                {"id": uuid.uuid4(), "at": approved, "zip": zip_code, "template": template},
            )
            made.append((approved, zip_code))
        uow.session.execute(
            text("UPDATE leads SET created_at = :at, approved_at = :at, confirmed_at = :at WHERE id = :id"),
            {"at": NOW - timedelta(days=40), "id": template},  # the template: outside the 30 days
        )
    return {"niche_id": market.niche.id, "provider_id": provider_id, "leads": made, "db": module_db}


@pytest.fixture
def on_world(world):
    from tests.conftest import point_settings_at

    point_settings_at(database_url=world["db"])
    return world


def plain_count(leads, *, zips, schedule, caps) -> tuple[int, int, int]:
    """DOMAIN.md read plainly: wall-clock time in the zone, calendar keys for periods."""
    zone = ZoneInfo(ZONE)
    used: dict[tuple, int] = {}
    kept = outside = over = 0
    for at, zip_code in sorted(leads):
        if zip_code not in zips:
            continue
        local = at.astimezone(zone)
        if schedule is not None:
            minute = local.hour * 60 + local.minute + local.second / 60
            windows = schedule.get(DAY_KEYS[local.weekday()], [])
            if not any(_m(a) <= minute < _m(b) for a, b in windows):
                outside += 1
                continue
        keys = {
            "day": ("day", local.date()),
            "week": ("week", local.isocalendar()[:2]),
            "month": ("month", local.year, local.month),
        }
        mine = [keys[p] for p in caps]
        if any(used.get(k, 0) >= caps[k[0]] for k in mine):
            over += 1
            continue
        for k in mine:
            used[k] = used.get(k, 0) + 1
        kept += 1
    return kept, outside, over


def _m(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def preview(world, *, filters, schedule=None, caps=None):
    return subscriptions.filter_preview(
        actors.provider(world["provider_id"]),
        niche_id=world["niche_id"],
        filters=filters,
        schedule=schedule,
        caps=caps,
        now=NOW + timedelta(minutes=1),
    )


def test_without_controls_the_count_after_controls_is_the_filter_count(on_world):
    result = preview(on_world, filters={"zip": ["30301"]})
    expected = sum(1 for _, z in on_world["leads"] if z == "30301")
    assert (result["matched"], result["after_controls"], result["outside_schedule"], result["over_cap"]) == (
        expected,
        expected,
        0,
        0,
    )


def test_weekday_office_hours_and_a_day_cap_exclude_what_a_plain_reading_excludes(on_world):
    schedule = {d: [["08:00", "18:00"]] for d in DAY_KEYS[:5]}
    caps = {"day": 2}
    result = preview(on_world, filters={"zip": ["30301"]}, schedule=schedule, caps=caps)
    kept, outside, over = plain_count(on_world["leads"], zips={"30301"}, schedule=schedule, caps=caps)
    assert (result["after_controls"], result["outside_schedule"], result["over_cap"]) == (kept, outside, over)
    assert outside > 0 and over > 0  # the data exercises both rules
    assert result["matched"] == kept + outside + over


hhmm = st.sampled_from(["00:00", "06:30", "08:00", "12:00", "13:15", "17:59", "18:00", "23:00"])
windows = st.lists(st.tuples(hhmm, hhmm).filter(lambda w: _m(w[0]) < _m(w[1])), max_size=1).map(
    lambda ws: [list(w) for w in ws]
)
schedules = st.one_of(st.none(), st.dictionaries(st.sampled_from(DAY_KEYS), windows.filter(bool), max_size=7))
caps_st = st.fixed_dictionaries(
    {}, optional={"day": st.integers(1, 4), "week": st.integers(1, 15), "month": st.integers(1, 60)}
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=schedules, caps=caps_st, zips=st.sampled_from([["30301"], ["30302"], ["30301", "30302"]]))
def test_the_live_count_equals_a_plain_python_reading_of_the_controls(on_world, schedule, caps, zips):
    result = preview(on_world, filters={"zip": zips}, schedule=schedule, caps=caps)
    expected = plain_count(on_world["leads"], zips=set(zips), schedule=schedule, caps=caps)
    assert (result["after_controls"], result["outside_schedule"], result["over_cap"]) == expected


@pytest.mark.parametrize(
    ("schedule", "caps", "field"),
    [
        ({"mon": [["18:00", "08:00"]]}, None, "schedule.mon[0]"),
        ({"someday": []}, None, "schedule.someday"),
        (None, {"day": 0}, "caps.day"),
        (None, {"hour": 3}, "caps.hour"),
    ],
)
def test_a_malformed_schedule_or_cap_is_refused_naming_the_field(on_world, schedule, caps, field):
    with pytest.raises(InvalidInput) as caught:
        preview(on_world, filters={}, schedule=schedule, caps=caps)
    assert field in caught.value.details
