"""The lead state table of DOMAIN.md, checked pair by pair."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.domain.errors import DomainError, IllegalTransition
from hotlead_app.domain.leads import (
    TERMINAL,
    TRANSITIONS,
    LeadStatus,
    allowed_targets,
    check_transition,
    trigger_for,
)

# Written out by hand from DOMAIN.md, independently of the code.
#   Y = always allowed   C = only when confirmed
#   N = only with no assignment   A = only with an assignment   . = never
TARGETS = ["pending_confirmation", "pending_approval", "approved", "distributed", "rejected", "bad_lead"]
GRID = """
new                   Y . . . . .
pending_confirmation  . C . . N .
pending_approval      . . C . N .
approved              . . . A N .
distributed           . . . . . Y
rejected              . . . . . .
bad_lead              . . . . . .
"""
EXPECTED: dict[tuple[str | None, str], str] = {}
for _line in GRID.strip().splitlines():
    _source, *_cells = _line.split()
    for _target, _cell in zip(TARGETS, _cells, strict=True):
        EXPECTED[(None if _source == "new" else _source, _target)] = _cell

SOURCES: list[str | None] = [None, *TARGETS]
CONDITIONS = list(itertools.product([False, True], repeat=2))  # (confirmed, has_assignments)


def expected_allowed(cell: str, confirmed: bool, has_assignments: bool) -> bool:
    return {
        "Y": True,
        "C": confirmed,
        "N": not has_assignments,
        "A": has_assignments,
        ".": False,
    }[cell]


def as_status(name: str | None) -> LeadStatus | None:
    return None if name is None else LeadStatus(name)


def test_grid_covers_every_pair_of_states() -> None:
    assert len(EXPECTED) == 7 * 6
    assert {s.value for s in LeadStatus} == set(TARGETS)


@pytest.mark.parametrize(("confirmed", "has_assignments"), CONDITIONS)
@pytest.mark.parametrize(("source", "target"), list(itertools.product(SOURCES, TARGETS)))
def test_every_pair_of_states_is_allowed_or_refused_as_the_table_says(
    source: str | None, target: str, confirmed: bool, has_assignments: bool
) -> None:
    allowed = expected_allowed(EXPECTED[(source, target)], confirmed, has_assignments)
    call = lambda: check_transition(  # noqa: E731
        as_status(source), LeadStatus(target), confirmed=confirmed, has_assignments=has_assignments
    )
    if allowed:
        assert call() is None
    else:
        with pytest.raises(IllegalTransition) as refused:
            call()
        assert refused.value.code == "illegal_transition"
        assert refused.value.details == {"from": source, "to": target}


@pytest.mark.parametrize("source", SOURCES)
def test_allowed_targets_lists_exactly_the_moves_the_table_allows(source: str | None) -> None:
    expected = {t for t in TARGETS if EXPECTED[(source, t)] != "."}
    assert {t.value for t in allowed_targets(as_status(source))} == expected


def test_each_move_is_made_by_the_named_trigger() -> None:
    assert {(f and f.value, t.value): who for (f, t), who in TRANSITIONS.items()} == {
        (None, "pending_confirmation"): "public_submit",
        ("pending_confirmation", "pending_approval"): "confirm",
        ("pending_confirmation", "rejected"): "admin_reject",
        ("pending_approval", "rejected"): "admin_reject",
        ("approved", "rejected"): "admin_reject",
        ("pending_approval", "approved"): "admin_approve",
        ("approved", "distributed"): "distribution",
        ("distributed", "bad_lead"): "admin_bad_lead",
    }
    assert trigger_for(LeadStatus.APPROVED, LeadStatus.DISTRIBUTED) == "distribution"
    assert trigger_for(LeadStatus.DISTRIBUTED, LeadStatus.REJECTED) is None


def test_rejected_and_bad_lead_are_the_only_terminal_states() -> None:
    assert {LeadStatus.REJECTED, LeadStatus.BAD_LEAD} == TERMINAL
    for status in LeadStatus:
        assert (allowed_targets(status) == set()) == (status in TERMINAL)


def test_rejected_lead_cannot_be_approved() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.REJECTED, LeadStatus.APPROVED, confirmed=True, has_assignments=False)


def test_rejected_lead_is_never_distributed() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.REJECTED, LeadStatus.DISTRIBUTED, confirmed=True, has_assignments=True)


def test_unconfirmed_lead_cannot_reach_pending_approval() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(
            LeadStatus.PENDING_CONFIRMATION, LeadStatus.PENDING_APPROVAL, confirmed=False, has_assignments=False
        )


def test_confirmed_lead_moves_to_pending_approval() -> None:
    check_transition(
        LeadStatus.PENDING_CONFIRMATION, LeadStatus.PENDING_APPROVAL, confirmed=True, has_assignments=False
    )


def test_unconfirmed_lead_cannot_be_approved() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.PENDING_APPROVAL, LeadStatus.APPROVED, confirmed=False, has_assignments=False)


def test_lead_with_an_assignment_cannot_be_rejected() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.APPROVED, LeadStatus.REJECTED, confirmed=True, has_assignments=True)


def test_distributed_lead_cannot_be_rejected() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.DISTRIBUTED, LeadStatus.REJECTED, confirmed=True, has_assignments=True)


def test_approved_lead_without_any_assignment_cannot_become_distributed() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.APPROVED, LeadStatus.DISTRIBUTED, confirmed=True, has_assignments=False)


def test_only_a_distributed_lead_can_be_marked_bad() -> None:
    check_transition(LeadStatus.DISTRIBUTED, LeadStatus.BAD_LEAD, confirmed=True, has_assignments=True)
    for status in set(LeadStatus) - {LeadStatus.DISTRIBUTED}:
        with pytest.raises(IllegalTransition):
            check_transition(status, LeadStatus.BAD_LEAD, confirmed=True, has_assignments=True)


def test_refusal_is_a_domain_error_that_names_both_states() -> None:
    with pytest.raises(DomainError) as refused:
        check_transition(LeadStatus.BAD_LEAD, LeadStatus.APPROVED, confirmed=True, has_assignments=True)
    body = refused.value.to_dict()
    assert body["code"] == "illegal_transition"
    assert body["details"] == {"from": "bad_lead", "to": "approved"}
    assert "bad_lead" in body["message"] and "approved" in body["message"]


def test_status_given_as_plain_string_is_checked_the_same_way() -> None:
    check_transition("pending_approval", "approved", confirmed=True, has_assignments=False)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition):
        check_transition("approved", "pending_approval", confirmed=True, has_assignments=False)  # type: ignore[arg-type]


def test_unknown_status_is_refused() -> None:
    with pytest.raises(IllegalTransition):
        check_transition(LeadStatus.APPROVED, "archived", confirmed=True, has_assignments=True)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition):
        check_transition("archived", LeadStatus.REJECTED, confirmed=True, has_assignments=False)  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(st.sampled_from(list(LeadStatus)), st.booleans(), st.booleans()),
        max_size=20,
    )
)
def test_any_sequence_of_accepted_moves_follows_the_lifecycle(
    attempts: list[tuple[LeadStatus, bool, bool]],
) -> None:
    """Random attempts on one lead: the accepted ones form a lifecycle path."""
    path: list[LeadStatus | None] = [None]
    check_transition(None, LeadStatus.PENDING_CONFIRMATION, confirmed=False, has_assignments=False)
    path.append(LeadStatus.PENDING_CONFIRMATION)
    for target, confirmed, has_assignments in attempts:
        try:
            check_transition(path[-1], target, confirmed=confirmed, has_assignments=has_assignments)
        except IllegalTransition:
            continue
        assert path[-1] not in TERMINAL
        path.append(target)
    reached = path[1:]
    assert len(set(reached)) == len(reached), "no state is visited twice"
    if LeadStatus.DISTRIBUTED in reached:
        assert reached.index(LeadStatus.APPROVED) < reached.index(LeadStatus.DISTRIBUTED)
        assert LeadStatus.REJECTED not in reached
    if LeadStatus.APPROVED in reached:
        assert LeadStatus.PENDING_APPROVAL in reached
    if LeadStatus.BAD_LEAD in reached:
        assert reached[-2] is LeadStatus.DISTRIBUTED
