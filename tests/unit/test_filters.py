"""Subscription filters: validation when saved, matching when a lead is distributed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.domain.errors import InvalidFilters
from hotlead_app.domain.filters import first_mismatch, matches, validate_filters


def refusal(filters: object) -> dict[str, str]:
    with pytest.raises(InvalidFilters) as refused:
        validate_filters(filters)
    assert refused.value.code == "invalid_filters"
    return refused.value.details


# --- matching ---------------------------------------------------------------------


def test_empty_filters_match_every_lead() -> None:
    assert matches({}, {})
    assert matches({}, {"zip": "10001", "budget": 5})


def test_list_filter_matches_a_listed_value_only() -> None:
    assert matches({"state": ["NY", "NJ"]}, {"state": "NJ"})
    assert not matches({"state": ["NY", "NJ"]}, {"state": "CA"})
    assert not matches({"state": ["NY"]}, {"state": "ny"})


def test_missing_payload_field_never_matches() -> None:
    assert not matches({"state": ["NY"]}, {"zip": "10001"})
    assert not matches({"budget": {"min": 0}}, {})
    assert first_mismatch({"budget": {"max": 10}}, {"other": 1}) == "budget"


def test_null_payload_field_never_matches() -> None:
    assert not matches({"state": ["None"]}, {"state": None})
    assert not matches({"budget": {"min": 0}}, {"budget": None})


def test_every_key_must_match() -> None:
    filters = {"state": ["NY"], "budget": {"min": 100}}
    assert matches(filters, {"state": "NY", "budget": 150})
    assert not matches(filters, {"state": "NY", "budget": 50})
    assert not matches(filters, {"state": "CA", "budget": 150})


def test_integer_and_its_string_match_each_other_in_a_list() -> None:
    assert matches({"rooms": [3]}, {"rooms": "3"})
    assert matches({"rooms": ["3"]}, {"rooms": 3})


def test_integral_float_is_written_with_its_decimal_point() -> None:
    assert matches({"rooms": ["3.0"]}, {"rooms": 3.0})
    assert not matches({"rooms": ["3"]}, {"rooms": 3.0})
    assert matches({"rate": ["0.1"]}, {"rate": 0.1})
    assert matches({"big": ["100000000000000000000"]}, {"big": 1e20})


def test_boolean_payload_never_matches_a_list() -> None:
    assert not matches({"urgent": ["True"]}, {"urgent": True})
    assert not matches({"urgent": ["true"]}, {"urgent": True})
    assert not matches({"urgent": ["1"]}, {"urgent": True})


def test_object_or_array_payload_never_matches_a_list() -> None:
    assert not matches({"tags": ["['a']", '["a"]', "a"]}, {"tags": ["a"]})
    assert not matches({"x": ["{}"]}, {"x": {}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (9, False),
        (10, True),
        (15, True),
        (20, True),
        (21, False),
        (Decimal("9.99"), False),
        (Decimal("20.00"), True),
        (20.000001, False),
        (9.9999, False),
        (10.0, True),
    ],
)
def test_range_bounds_are_inclusive(value: object, expected: bool) -> None:
    assert matches({"budget": {"min": 10, "max": 20}}, {"budget": value}) is expected


def test_range_with_only_a_minimum_has_no_ceiling() -> None:
    assert matches({"budget": {"min": 10}}, {"budget": 10**12})
    assert not matches({"budget": {"min": 10}}, {"budget": 9})


def test_range_with_only_a_maximum_has_no_floor() -> None:
    assert matches({"budget": {"max": 10}}, {"budget": -(10**12)})
    assert not matches({"budget": {"max": 10}}, {"budget": 11})


def test_range_accepts_a_payload_number_written_as_a_string() -> None:
    assert matches({"budget": {"min": 10, "max": 20}}, {"budget": "12.50"})
    assert matches({"budget": {"min": "10.5"}}, {"budget": "10.5"})
    assert not matches({"budget": {"min": 10}}, {"budget": "9.999"})


@pytest.mark.parametrize("value", ["abc", "", " 12", "1e1", "12,5", "NaN", "Infinity", "+5", "1_000", "١٢"])
def test_range_refuses_a_payload_string_that_is_not_a_plain_number(value: str) -> None:
    assert not matches({"budget": {"min": -1000, "max": 1000}}, {"budget": value})


@pytest.mark.parametrize("value", [True, False, [5], {"v": 5}, float("nan"), float("inf"), Decimal("NaN")])
def test_range_never_matches_a_payload_that_is_not_a_finite_number(value: object) -> None:
    assert not matches({"budget": {"min": -1000, "max": 1000}}, {"budget": value})


def test_range_compares_decimals_exactly_not_as_floats() -> None:
    assert matches({"rate": {"max": "0.3"}}, {"rate": "0.3"})
    assert matches({"rate": {"max": 0.3}}, {"rate": Decimal("0.3")})
    assert not matches({"rate": {"max": "0.1"}}, {"rate": "0.10000000000000000001"})
    assert matches({"n": {"min": 2**63}}, {"n": 2**63})
    assert not matches({"n": {"min": 2**63 + 1}}, {"n": 2**63})


def test_float_payload_is_read_as_the_number_it_was_written_as() -> None:
    assert matches({"rate": {"min": "0.1", "max": "0.1"}}, {"rate": 0.1})
    assert not matches({"rate": {"max": "0.3"}}, {"rate": 0.1 + 0.2})


def test_first_mismatch_is_the_first_failing_field_in_sorted_order() -> None:
    filters = {"zip": ["1"], "budget": {"min": 10}, "area": ["x"]}
    payload = {"zip": "2", "budget": 5, "area": "x"}
    assert first_mismatch(filters, payload) == "budget"
    assert first_mismatch(filters, {**payload, "budget": 10}) == "zip"
    assert first_mismatch(filters, {"zip": "1", "budget": 10, "area": "x"}) is None


def test_normalized_filters_match_exactly_like_the_raw_ones() -> None:
    raw = {"a": [1, 2.5, "x"], "b": {"min": 0.1, "max": Decimal("7")}}
    normalized = validate_filters(raw)
    for payload in ({"a": "1", "b": 0.1}, {"a": 2.5, "b": "7"}, {"a": "2.50", "b": 7}, {"a": "x", "b": "7.01"}):
        assert matches(raw, payload) == matches(normalized, payload)


def test_matching_malformed_filters_is_refused() -> None:
    with pytest.raises(InvalidFilters):
        matches({"a": []}, {"a": "x"})


# --- validation --------------------------------------------------------------------


def test_valid_filters_are_returned_normalized_and_json_safe() -> None:
    normalized = validate_filters(
        {"state": ["NY", 3, 2.5, "NY"], "budget": {"max": Decimal("20.50"), "min": 10}, "age": {"min": "18"}}
    )
    assert normalized == {
        "state": ["NY", "3", "2.5"],
        "budget": {"max": "20.50", "min": 10},
        "age": {"min": "18"},
    }
    assert json.loads(json.dumps(normalized)) == normalized


def test_validation_does_not_change_its_input() -> None:
    raw = {"state": ["NY", 3]}
    validate_filters(raw)
    assert raw == {"state": ["NY", 3]}


def test_empty_filters_are_valid() -> None:
    assert validate_filters({}) == {}


@pytest.mark.parametrize("filters", [None, [], ["a"], "{}", 3, True])
def test_filters_that_are_not_an_object_are_refused(filters: object) -> None:
    assert refusal(filters) == {"filters": "filters must be a JSON object"}


def test_empty_list_is_refused() -> None:
    assert set(refusal({"state": []})) == {"state"}


def test_unknown_operator_is_refused() -> None:
    details = refusal({"budget": {"min": 1, "gte": 2}})
    assert set(details) == {"budget"} and "gte" in details["budget"]
    assert set(refusal({"budget": {"eq": 5}})) == {"budget"}


def test_empty_range_is_refused() -> None:
    assert set(refusal({"budget": {}})) == {"budget"}


def test_minimum_above_maximum_is_refused() -> None:
    assert set(refusal({"budget": {"min": 20, "max": 10}})) == {"budget"}
    assert validate_filters({"budget": {"min": 10, "max": 10}}) == {"budget": {"min": 10, "max": 10}}
    assert set(refusal({"budget": {"min": "10.01", "max": 10}})) == {"budget"}


@pytest.mark.parametrize(
    "bound",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("Infinity"),
        True,
        None,
        "ten",
        "NaN",
        "1e3",
        " 5",
        [5],
        {"v": 5},
        10**31,
        "0." + "0" * 30 + "1",
    ],
)
def test_range_bound_that_is_not_a_finite_plain_number_is_refused(bound: object) -> None:
    assert set(refusal({"budget": {"min": bound}})) == {"budget"}
    assert set(refusal({"budget": {"max": bound}})) == {"budget"}


@pytest.mark.parametrize("entry", [True, None, float("nan"), float("inf"), {"a": 1}, ["a"], Decimal("NaN")])
def test_list_entry_that_is_not_a_string_or_finite_number_is_refused(entry: object) -> None:
    assert set(refusal({"state": ["NY", entry]})) == {"state"}


@pytest.mark.parametrize("spec", ["NY", 5, None, True, {"min": {"min": 1}}, {"in": ["a"]}])
def test_rule_that_is_neither_a_list_nor_a_range_is_refused(spec: object) -> None:
    assert set(refusal({"state": spec})) == {"state"}


@pytest.mark.parametrize("name", ["", "a-b", "a b", "a.b", "é", "x" * 65, "a\n", "$where"])
def test_bad_field_name_is_refused(name: str) -> None:
    assert set(refusal({name: ["x"]})) == {name}


def test_field_name_of_sixty_four_characters_is_accepted() -> None:
    assert validate_filters({"A_9" + "x" * 61: ["y"]})


def test_non_string_field_name_is_refused() -> None:
    assert set(refusal({1: ["x"]})) == {"1"}


def test_every_bad_key_is_named_at_once() -> None:
    details = refusal({"ok": ["x"], "a": [], "b": {"max": "nope"}, "c d": ["x"]})
    assert set(details) == {"a", "b", "c d"}
    assert all(isinstance(message, str) and message for message in details.values())


# --- properties --------------------------------------------------------------------

FIELDS = st.sampled_from(["a", "b", "c", "zip", "budget"])
SCALARS = st.one_of(
    st.text(max_size=4),
    st.integers(-50, 50),
    st.decimals(-50, 50, places=2),
    st.floats(-50, 50, allow_nan=False),
    st.sampled_from(["7", "7.0", "-3.25", "x"]),
)
NUMBERS = st.one_of(st.integers(-50, 50), st.decimals(-50, 50, places=2), st.sampled_from(["7", "-3.25", "0.5"]))


@st.composite
def ranges(draw: st.DrawFn) -> dict[str, object]:
    low, high = sorted([draw(NUMBERS), draw(NUMBERS)], key=lambda n: Decimal(str(n)))
    keep = draw(st.sampled_from([("min",), ("max",), ("min", "max")]))
    return {name: bound for name, bound in (("min", low), ("max", high)) if name in keep}


RULES = st.one_of(st.lists(SCALARS, min_size=1, max_size=4), ranges())
PAYLOAD_VALUES = st.one_of(SCALARS, st.booleans(), st.none(), st.just([1]))


@given(st.dictionaries(FIELDS, RULES, max_size=4), st.dictionaries(FIELDS, PAYLOAD_VALUES))
def test_a_lead_matches_exactly_when_no_field_mismatches(
    filters: dict[str, object], payload: dict[str, object]
) -> None:
    mismatch = first_mismatch(filters, payload)
    assert matches(filters, payload) == (mismatch is None)
    if mismatch is not None:
        assert mismatch in filters
        assert all(matches({f: filters[f]}, payload) for f in filters if f < mismatch)
        assert not matches({mismatch: filters[mismatch]}, payload)


@given(st.dictionaries(FIELDS, RULES, max_size=4), st.dictionaries(FIELDS, PAYLOAD_VALUES))
def test_validated_filters_match_the_same_leads_as_the_raw_ones(
    filters: dict[str, object], payload: dict[str, object]
) -> None:
    normalized = validate_filters(filters)
    assert validate_filters(normalized) == normalized
    assert matches(normalized, payload) == matches(filters, payload)


@given(st.decimals(-100, 100, places=3), st.decimals(-100, 100, places=3), st.decimals(-100, 100, places=3))
def test_range_matching_agrees_with_decimal_comparison(low: Decimal, high: Decimal, value: Decimal) -> None:
    if low > high:
        low, high = high, low
    assert matches({"v": {"min": str(low), "max": str(high)}}, {"v": str(value)}) == (low <= value <= high)


# --------------------------------------------------------------------------- which fields (DOMAIN.md)

FORM = [
    {"name": "zip", "type": "zip"},
    {"name": "roof", "type": "select", "options": ["metal"]},
    {"name": "area", "type": "number"},
    {"name": "notes", "type": "text"},
    {"name": "alt_email", "type": "email"},
    {"name": "alt_phone", "type": "phone"},
]


def test_a_filter_names_only_select_zip_and_number_fields_with_their_operator():
    from hotlead_app.domain.filters import check_fields, refused_fields

    assert refused_fields({"zip": ["10001"], "roof": ["metal"], "area": {"min": 1}}, FORM) == {}
    refused = refused_fields(
        {
            "notes": ["x"],
            "alt_email": ["x"],
            "alt_phone": ["1"],
            "nope": ["x"],
            "area": ["1"],
            "roof": {"min": 1},
            "zip": {"max": 1},
        },
        FORM,
    )
    assert set(refused) == {"notes", "alt_email", "alt_phone", "nope", "area", "roof", "zip"}
    assert "text field" in refused["notes"] and "no such field" in refused["nope"]
    with pytest.raises(InvalidFilters) as caught:
        check_fields({"notes": ["x"]}, FORM)
    assert list(caught.value.details) == ["notes"]


def test_missed_leads_show_only_named_fields_never_text_email_or_phone():
    from hotlead_app.domain.filters import shown_fields

    assert shown_fields(
        {"notes": ["x"], "alt_email": ["x"], "alt_phone": ["x"], "roof": ["m"], "gone": ["x"]}, FORM
    ) == {"roof"}
    assert shown_fields({}, FORM) == set()
