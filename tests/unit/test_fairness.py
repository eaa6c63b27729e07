"""Fairness order: level rotation, subscription order, last_received_at stamps."""

from __future__ import annotations

import functools
import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.domain.fairness import fairness_key, level_order, next_received_at

UTC = UTC
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ID = [uuid.UUID(int=n) for n in range(10)]


@dataclass(frozen=True)
class Level:
    name: str
    priority_order: int
    id: uuid.UUID
    active: bool = True


GOLD, SILVER, BRONZE = Level("gold", 1, ID[3]), Level("silver", 2, ID[1]), Level("bronze", 3, ID[2])


def names(levels: list[Level]) -> list[str]:
    return [level.name for level in levels]


# --- level rotation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        (0, ["gold", "silver", "bronze"]),
        (1, ["silver", "bronze", "gold"]),
        (2, ["bronze", "gold", "silver"]),
        (3, ["gold", "silver", "bronze"]),
        (10, ["silver", "bronze", "gold"]),
    ],
)
def test_each_lead_starts_one_level_further_and_wraps_around(seq: int, expected: list[str]) -> None:
    assert names(level_order([BRONZE, GOLD, SILVER], seq)) == expected


def test_levels_with_equal_priority_are_ordered_by_id() -> None:
    a, b = Level("a", 1, ID[7]), Level("b", 1, ID[4])
    assert names(level_order([a, b], 0)) == ["b", "a"]


def test_level_ids_are_ordered_like_postgresql_uuids() -> None:
    low = Level("low", 1, uuid.UUID("0fffffff-ffff-ffff-ffff-ffffffffffff"))
    high = Level("high", 1, uuid.UUID("f0000000-0000-0000-0000-000000000000"))
    assert names(level_order([high, low], 0)) == ["low", "high"]


def test_inactive_levels_are_left_out_of_the_rotation() -> None:
    paused = Level("paused", 0, ID[9], active=False)
    assert names(level_order([paused, GOLD, SILVER], 1)) == ["silver", "gold"]


def test_niche_without_active_levels_has_no_order() -> None:
    assert level_order([], 5) == []
    assert level_order([Level("off", 1, ID[1], active=False)], 0) == []


def test_levels_may_be_given_as_priority_and_id_tuples() -> None:
    assert level_order([(2, ID[1]), (1, ID[2])], 1) == [(2, ID[1]), (1, ID[2])]
    assert level_order([(2, ID[1]), (1, ID[2])], 0) == [(1, ID[2]), (2, ID[1])]


def test_negative_sequence_number_is_refused() -> None:
    with pytest.raises(ValueError):
        level_order([GOLD], -1)


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.uuids()), min_size=1, max_size=6, unique_by=lambda t: t[1]),
    st.integers(0, 10**6),
)
def test_level_order_is_the_sorted_levels_rotated_by_the_sequence_number(
    levels: list[tuple[int, uuid.UUID]], seq: int
) -> None:
    by_hand = sorted(levels, key=lambda t: (t[0], str(t[1])))
    k = len(by_hand)
    order = level_order(levels, seq)
    assert order == [by_hand[(seq + i) % k] for i in range(k)]
    firsts = {level_order(levels, seq + i)[0] for i in range(k)}
    assert firsts == set(levels), "over k consecutive leads every level goes first once"


# --- subscription order --------------------------------------------------------------


@dataclass(frozen=True)
class Sub:
    last_received_at: datetime | None
    created_at: datetime
    id: uuid.UUID


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


def sql_compare(a: Sub, b: Sub) -> int:
    """ORDER BY last_received_at ASC NULLS FIRST, created_at ASC, id ASC, by hand."""
    if a.last_received_at is None and b.last_received_at is not None:
        return -1
    if a.last_received_at is not None and b.last_received_at is None:
        return 1
    if a.last_received_at is not None and b.last_received_at is not None:
        x, y = a.last_received_at.astimezone(UTC), b.last_received_at.astimezone(UTC)
        if x != y:
            return -1 if x < y else 1
    x, y = a.created_at.astimezone(UTC), b.created_at.astimezone(UTC)
    if x != y:
        return -1 if x < y else 1
    if str(a.id) != str(b.id):  # PostgreSQL: uuids compare like their hex text
        return -1 if str(a.id) < str(b.id) else 1
    return 0


def key(sub: Sub) -> tuple[object, ...]:
    return fairness_key(sub.last_received_at, sub.created_at, sub.id)


def test_subscription_that_never_received_a_lead_comes_first() -> None:
    fresh = Sub(None, T0 + timedelta(days=30), ID[9])
    served = Sub(T0 - timedelta(days=365), T0 - timedelta(days=400), ID[0])
    assert key(fresh) < key(served)


def test_subscription_that_waited_longest_comes_next() -> None:
    recent = Sub(T0, T0 - timedelta(days=9), ID[0])
    waiting = Sub(T0 - timedelta(seconds=1), T0, ID[9])
    assert key(waiting) < key(recent)


def test_ties_are_broken_by_creation_time_then_by_id() -> None:
    older = Sub(T0, T0 - timedelta(days=2), ID[9])
    newer = Sub(T0, T0 - timedelta(days=1), ID[0])
    assert key(older) < key(newer)
    assert key(Sub(None, T0, ID[1])) < key(Sub(None, T0, ID[2]))


def test_timestamps_in_different_time_zones_compare_as_instants() -> None:
    paris = timezone(timedelta(hours=1))
    earlier_in_paris = Sub(datetime(2025, 1, 1, 12, 30, tzinfo=paris), T0, ID[9])  # 11:30 UTC
    assert key(earlier_in_paris) < key(Sub(T0, T0, ID[0]))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        fairness_key(None, datetime(2025, 1, 1), ID[0])
    with pytest.raises(ValueError):
        fairness_key(datetime(2025, 1, 1), T0, ID[0])


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-3, minutes=-30))])
MOMENTS = st.builds(
    lambda minutes, zone: (T0 + timedelta(minutes=minutes)).astimezone(zone),
    st.integers(0, 4),  # few distinct instants, so that ties are common
    ZONES,
)
SUBS = st.builds(Sub, st.none() | MOMENTS, MOMENTS, st.sampled_from(ID[:4]) | st.uuids())


@given(SUBS, SUBS)
def test_fairness_key_orders_every_pair_like_postgresql(a: Sub, b: Sub) -> None:
    expected = sql_compare(a, b)
    assert (key(a) < key(b)) == (expected < 0)
    assert (key(a) > key(b)) == (expected > 0)
    assert (key(a) == key(b)) == (expected == 0)


@given(st.lists(SUBS, max_size=12, unique_by=lambda s: s.id))
def test_fairness_key_sorts_subscriptions_in_one_total_order(subs: list[Sub]) -> None:
    by_key = sorted(subs, key=key)
    assert by_key == sorted(subs, key=functools.cmp_to_key(sql_compare))
    assert sorted(subs, key=key) == by_key, "the input order never matters"
    assert all(key(x) < key(y) for x, y in itertools.pairwise(by_key)), "distinct ids never tie"


# --- last_received_at stamps ---------------------------------------------------------


def test_first_stamp_is_now() -> None:
    assert next_received_at(None, T0) == T0


def test_stamp_is_now_when_the_clock_has_moved_on() -> None:
    assert next_received_at(T0, T0 + timedelta(seconds=1)) == T0 + timedelta(seconds=1)


def test_stamp_is_one_microsecond_later_when_the_clock_has_not_moved() -> None:
    assert next_received_at(T0, T0) == T0 + timedelta(microseconds=1)


def test_stamp_is_still_later_when_the_clock_went_backwards() -> None:
    assert next_received_at(T0, T0 - timedelta(hours=1)) == T0 + timedelta(microseconds=1)


@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=30))
def test_stamps_strictly_increase_whatever_the_clock_does(offsets: list[int]) -> None:
    previous: datetime | None = None
    for offset in offsets:
        now = T0 + timedelta(microseconds=offset)
        stamp = next_received_at(previous, now)
        assert stamp >= now
        if previous is not None:
            assert stamp > previous
            assert stamp == max(now, previous + timedelta(microseconds=1))
        previous = stamp
