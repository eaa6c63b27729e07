"""The page-side helpers of the buyer controls: when a closed schedule next opens,
the ZIP place lookup, the schedule grid and caps as the service receives them, the
ZIP row's radius/states as a filter, and the overview's cap bars."""

from __future__ import annotations

from datetime import UTC, datetime

from hotlead_app.domain.controls import next_window_open
from hotlead_app.domain.zip_places import zip_place
from hotlead_app.pages.provider_home import cap_rows
from hotlead_app.pages.provider_subscriptions.controls_editor import DayRow, Window, caps_from, day_rows, schedule_from
from hotlead_app.pages.provider_subscriptions.filter_builder import FilterField, _filters_from, builder_fields

NY = "America/New_York"


def test_next_window_open_is_the_next_start_in_the_providers_zone():
    weekdays = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    saturday_noon = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)  # 12:00 in New York
    opens = next_window_open(weekdays, saturday_noon, NY)
    assert opens is not None and opens.isoformat() == "2026-12-07T08:00:00-05:00"
    monday_7 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert next_window_open(weekdays, monday_7, NY).isoformat() == "2026-12-07T08:00:00-05:00"
    assert next_window_open(weekdays, datetime(2026, 12, 7, 14, 0, tzinfo=UTC), NY) is None  # open now
    assert next_window_open(None, saturday_noon, NY) is None  # always open
    assert next_window_open({}, saturday_noon, NY) is None  # never opens


def test_zip_place_names_the_city_and_state_of_a_known_zip():
    assert zip_place("10001") == {"zip": "10001", "city": "New York", "state": "NY"}
    assert zip_place("10001-1234") is not None
    assert zip_place("00000") is None and zip_place("abc") is None


def test_the_schedule_grid_and_caps_as_the_service_receives_them():
    rows = day_rows({"mon": [["08:00", "12:00"], ["13:00", "18:00"]]})
    assert [r.day for r in rows] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert schedule_from(False, rows) == {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}
    assert schedule_from(True, rows) is None
    assert schedule_from(False, [DayRow(day="tue", windows=[Window("18:00", "08:00")])]) == {
        "tue": [["18:00", "08:00"]]
    }  # the service names what is wrong
    assert caps_from({"day": " 5 ", "week": "", "month": "x"}) == {"day": 5, "month": "x"}


def test_a_zip_row_gives_a_list_or_a_radius_and_states_not_both():
    fields = [{"name": "zip", "label": "ZIP", "type": "zip", "rule": "list", "options": []}]
    rows, extra = builder_fields(fields, {"zip": {"near": {"zip": "10001", "miles": 25}, "states": ["NY"]}})
    assert extra == {} and rows[0].near_zip == "10001" and rows[0].near_place == "New York, NY"
    assert _filters_from(rows, extra) == ({"zip": {"near": {"zip": "10001", "miles": "25"}, "states": ["NY"]}}, {})
    both = FilterField(name="zip", label="ZIP", type="zip", zips="10001", near_zip="10001", near_miles="5")
    assert "zip" in _filters_from([both], {})[1]


def test_cap_rows_say_how_much_of_each_cap_is_used():
    subs = [{"id": "s", "niche": "Roofing", "level": "Gold", "cap_use": {"day": {"used": 3, "cap": 5}}}]
    assert cap_rows(subs) == [
        {
            "sub_id": "s",
            "label": "Roofing · Gold",
            "period": "day",
            "text": "3 of 5 today",
            "percent": 60,
            "full": "",
        }
    ]
