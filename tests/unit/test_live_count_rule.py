"""``domain.controls.count_within_controls``, the live count's rule for the buyer
controls, on hand-made cases: windows in the provider's zone across a DST change, a
cap per calendar day / week / month in that zone, leads taken in time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotlead_app.domain.controls import ControlsCount, count_within_controls

NY = "America/New_York"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_no_controls_keep_every_lead():
    instants = [at("2026-03-02T10:00:00-05:00") + timedelta(hours=h) for h in range(30)]
    assert count_within_controls(instants, schedule=None, caps={}, zone=NY) == ControlsCount(30, 0, 0)


def test_the_schedule_is_read_on_the_wall_clock_of_the_zone_across_a_dst_change():
    # 8 March 2026: New York moves from UTC-5 to UTC-4. 08:30 local is open both days.
    schedule = {"sat": [["08:00", "09:00"]], "sun": [["08:00", "09:00"]], "mon": [["08:00", "09:00"]]}
    before = at("2026-03-07T08:30:00-05:00")  # Saturday, 13:30 UTC
    after = at("2026-03-09T08:30:00-04:00")  # Monday, 12:30 UTC
    same_utc_hour_after = at("2026-03-09T13:30:00+00:00")  # Monday 09:30 local: closed
    counted = count_within_controls([before, after, same_utc_hour_after], schedule=schedule, caps={}, zone=NY)
    assert counted == ControlsCount(kept=2, outside_schedule=1, over_cap=0)


def test_a_day_cap_counts_per_local_day_in_time_order():
    # 23:30 and 23:50 local on the 2nd, 00:10 local on the 3rd (05:10 UTC).
    instants = [at("2026-03-03T00:10:00-05:00"), at("2026-03-02T23:50:00-05:00"), at("2026-03-02T23:30:00-05:00")]
    counted = count_within_controls(instants, schedule=None, caps={"day": 1}, zone=NY)
    assert counted == ControlsCount(kept=2, outside_schedule=0, over_cap=1)


def test_the_tightest_of_several_caps_decides_and_a_refused_lead_uses_none_of_them():
    # Monday to Sunday of one week, two leads a day; at most 3 a day, 5 a week, 6 a month.
    monday = at("2026-06-01T12:00:00-04:00")
    instants = [monday + timedelta(days=d, minutes=m) for d in range(7) for m in (0, 1)]
    counted = count_within_controls(instants, schedule=None, caps={"day": 3, "week": 5, "month": 6}, zone=NY)
    assert counted == ControlsCount(kept=5, outside_schedule=0, over_cap=9)
    # The next week the week cap starts again, the month cap still holds: one more.
    next_week = [monday + timedelta(days=7 + d) for d in range(3)]
    again = count_within_controls(instants + next_week, schedule=None, caps={"week": 5, "month": 6}, zone=NY)
    assert again.kept == 6


def test_a_lead_outside_the_schedule_does_not_use_a_cap():
    closed = at("2026-06-06T12:00:00-04:00")  # Saturday
    open_ = at("2026-06-08T12:00:00-04:00")  # Monday
    schedule = {"mon": [["00:00", "24:00"]]}
    counted = count_within_controls([closed, open_], schedule=schedule, caps={"month": 1}, zone=NY)
    assert counted == ControlsCount(kept=1, outside_schedule=1, over_cap=0)
