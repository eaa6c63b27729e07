"""The plain rules of returns and outcomes (domain/returns.py), at their boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.domain import returns as rules
from hotlead_app.domain.errors import InvalidInput

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_window_is_open_up_to_its_last_instant_and_closed_after():
    assert rules.window_open(T0, 72, T0 + timedelta(hours=72))
    assert not rules.window_open(T0, 72, T0 + timedelta(hours=72, microseconds=1))
    assert rules.window_open(T0, 0, T0) and not rules.window_open(T0, 0, T0 + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("assignments", "percent", "allowed"),
    [(0, 20, 1), (1, 20, 1), (5, 20, 1), (10, 20, 2), (14, 20, 2), (15, 20, 3), (5, 40, 2), (3, 100, 3), (9, 0, 1)],
)
def test_the_allowance_is_max_1_floor_assignments_times_rate(assignments, percent, allowed):
    assert rules.return_allowance(assignments, percent) == allowed
    assert rules.rate_allows(requests_30d_including_this=allowed, assignments_30d=assignments, max_rate_percent=percent)
    assert not rules.rate_allows(
        requests_30d_including_this=allowed + 1, assignments_30d=assignments, max_rate_percent=percent
    )


@given(st.integers(0, 10_000), st.integers(0, 100))
def test_the_allowance_matches_its_definition(assignments, percent):
    assert rules.return_allowance(assignments, percent) == max(1, int(Decimal(assignments * percent) / 100))


def test_auto_approval_is_strictly_below_the_threshold_and_off_at_zero():
    assert rules.auto_approves(approved_30d=0, assignments_30d=2, below_percent=50)
    assert not rules.auto_approves(approved_30d=1, assignments_30d=2, below_percent=50)  # exactly 50 %
    assert rules.auto_approves(approved_30d=4, assignments_30d=9, below_percent=50)  # 44.4 %
    assert not rules.auto_approves(approved_30d=0, assignments_30d=10, below_percent=0)
    assert not rules.auto_approves(approved_30d=0, assignments_30d=0, below_percent=50)


def test_return_settings_are_validated_field_by_field():
    clean, errors = rules.clean_return_settings(
        {
            "return_window_hours": 24,
            "max_return_rate_percent": 0,
            "auto_approve_returns_below_percent": 100,
            "return_reasons": [{"code": "spam", "label": " Spam "}],
        }
    )
    assert errors == {}
    assert clean["return_reasons"] == [{"code": "spam", "label": "Spam"}]
    _, errors = rules.clean_return_settings(
        {
            "return_window_hours": True,
            "max_return_rate_percent": 101,
            "auto_approve_returns_below_percent": "5",
            "return_reasons": [
                {"code": "a", "label": "A"},
                {"code": "a", "label": "B"},
                {"code": "b", "label": "x\ny"},
            ],
        }
    )
    assert set(errors) == {
        "return_window_hours",
        "max_return_rate_percent",
        "auto_approve_returns_below_percent",
        "return_reasons[1].code",
        "return_reasons[2].label",
    }
    assert rules.clean_return_settings({"return_reasons": []})[1] == {
        "return_reasons": "a list of 1 to 30 {code, label}"
    }


def test_an_outcome_value_only_when_won_and_a_reason_only_when_lost():
    assert rules.clean_outcome("won", "1200.00", None) == ("won", Decimal("1200.00"), None)
    assert rules.clean_outcome("lost", None, " price ") == ("lost", None, "price")
    assert rules.clean_outcome("contacted", None, None) == ("contacted", None, None)
    for bad in [("maybe", None, None), ("contacted", "5", None), ("won", 5.5, None), ("won", None, "why")]:
        with pytest.raises(InvalidInput):
            rules.clean_outcome(*bad)
