"""domain/controls.py: validation of the buyer controls and the plain readings of
their rules (DOMAIN.md "Buyer controls, returns and delivery")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotlead_app.domain import controls
from hotlead_app.domain.errors import InvalidInput


def test_a_schedule_is_normalised_in_day_order():
    got = controls.validate_schedule({"fri": [["13:00", "24:00"]], "mon": [["08:00", "12:00"], ["12:00", "17:30"]]})
    assert list(got or {}) == ["mon", "fri"]
    assert controls.validate_schedule(None) is None
    assert controls.validate_schedule({"sun": []}) == {"sun": []}


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"mon": [["17:00", "09:00"]]}, "schedule.mon[0]"),
        ({"mon": [["09:00", "09:00"]]}, "schedule.mon[0]"),
        ({"mon": [["09:00", "12:00"], ["11:59", "13:00"]]}, "schedule.mon[1]"),
        ({"mon": [["12:00", "13:00"], ["09:00", "10:00"]]}, "schedule.mon[1]"),
        ({"mon": [["09:00"]]}, "schedule.mon[0]"),
        ({"mon": [["9:00", "10:00"]]}, "schedule.mon[0]"),
        ({"mon": [["09:60", "10:00"]]}, "schedule.mon[0]"),
        ({"mon": [["09:00", "25:00"]]}, "schedule.mon[0]"),
        ({"Mon": []}, "schedule.Mon"),
        ([["09:00", "10:00"]], "schedule"),
    ],
)
def test_malformed_schedules_name_the_window(schedule, field):
    with pytest.raises(InvalidInput) as caught:
        controls.validate_schedule(schedule)
    assert field in caught.value.details


def test_caps_spend_caps_and_zones():
    assert controls.validate_caps({"month": 9, "day": 1}) == {"day": 1, "month": 9}
    assert controls.validate_spend_caps({"week": 150, "day": "12.5"}) == {"day": "12.50", "week": "150.00"}
    assert controls.validate_time_zone("Asia/Kolkata") == "Asia/Kolkata"
    for bad in ({"day": 0}, {"day": True}, {"day": 2.0}, {"fortnight": 3}, "5"):
        with pytest.raises(InvalidInput):
            controls.validate_caps(bad)
    for bad_spend in ({"day": "abc"}, {"day": "-5"}, {"day": "0.001"}, {"day": "NaN"}, {"day": None}):
        with pytest.raises(InvalidInput):
            controls.validate_spend_caps(bad_spend)
    for zone in ("", "EST5EDT ", "Not/AZone", "../etc/passwd", None):
        with pytest.raises(InvalidInput):
            controls.validate_time_zone(zone)


def test_schedule_open_is_start_inclusive_end_exclusive():
    schedule = {"mon": [["09:00", "17:00"]], "tue": [["00:00", "24:00"]]}
    monday = datetime(2026, 3, 9)
    assert not controls.schedule_open(schedule, monday.replace(hour=8, minute=59, second=59))
    assert controls.schedule_open(schedule, monday.replace(hour=9))
    assert not controls.schedule_open(schedule, monday.replace(hour=17))
    assert controls.schedule_open(schedule, datetime(2026, 3, 10, 23, 59, 59))
    assert not controls.schedule_open(schedule, datetime(2026, 3, 11, 12))  # wednesday: not listed
    assert controls.schedule_open(None, monday)


def test_periods_are_local_calendar_periods_across_dst():
    # New York's spring change: the local day of 8 March 2026 is 23 hours long.
    start, end = controls.period_bounds(datetime(2026, 3, 8, 12, tzinfo=UTC), "America/New_York", "day")
    assert (start, end) == (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))
    start, end = controls.period_bounds(datetime(2026, 3, 1, 3, tzinfo=UTC), "America/New_York", "month")
    assert (start, end) == (datetime(2026, 2, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, 5, tzinfo=UTC))
    start, _ = controls.period_bounds(datetime(2026, 3, 11, 12, tzinfo=UTC), "Asia/Kolkata", "week")
    assert start == datetime(2026, 3, 8, 18, 30, tzinfo=UTC)  # Monday 9 March 00:00 IST


def test_consumer_identity():
    assert controls.consumer_email("  Pat@Example.COM ") == "pat@example.com"
    assert controls.consumer_phone("(212) 555-0100") == "+12125550100"
    assert controls.consumer_phone("+1 212 555 0100") == "+12125550100"
    assert controls.consumer_phone("not a phone") is None
    assert controls.consumer_phone(None) is None


def test_geo_rules():
    assert controls.validate_geo({"near": {"zip": "10001-0001", "miles": "25"}}, field="zip") == {
        "near": {"zip": "10001", "miles": 25}
    }
    assert controls.geo_matches({"states": ["NY"]}, "10001")
    assert not controls.geo_matches({"states": ["NY"]}, 10001)  # a ZIP is a string
    assert not controls.geo_matches({"states": ["NY"]}, "99999")
    d = controls.miles_between("10001", "07030")
    assert d is not None and 1.8 < d < 2.0  # Midtown to Hoboken
    assert controls.geo_matches({"near": {"zip": "10001", "miles": 2}}, "07030")
    assert not controls.geo_matches({"near": {"zip": "10001", "miles": 1.8}}, "07030")
