"""Lead lifecycle: the state table of DOMAIN.md as data, and the one check that
every change of a lead's status goes through.

| from                   | to                   | trigger          | condition             |
|------------------------|----------------------|------------------|-----------------------|
| (new)                  | pending_confirmation | public_submit    |                       |
| pending_confirmation   | pending_approval     | confirm          | confirmed             |
| pending_confirmation,  | rejected             | admin_reject     | no assignment         |
| pending_approval,      |                      |                  |                       |
| approved               |                      |                  |                       |
| pending_approval       | approved             | admin_approve    | confirmed             |
| approved               | distributed          | distribution     | at least 1 assignment |
| distributed            | bad_lead             | admin_bad_lead   |                       |

Every other move (including staying in the same state) is refused. ``rejected`` and
``bad_lead`` are terminal. A lead never reaches ``pending_approval`` (nor later
states) without ``confirmed_at``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from hotlead_app.domain.errors import IllegalTransition


class LeadStatus(str, enum.Enum):
    """The status of a lead."""

    PENDING_CONFIRMATION = "pending_confirmation"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    DISTRIBUTED = "distributed"
    REJECTED = "rejected"
    BAD_LEAD = "bad_lead"


_S = LeadStatus

#: (from, to) -> the trigger allowed to make that move. ``None`` is a new lead.
TRANSITIONS: Mapping[tuple[LeadStatus | None, LeadStatus], str] = MappingProxyType(
    {
        (None, _S.PENDING_CONFIRMATION): "public_submit",
        (_S.PENDING_CONFIRMATION, _S.PENDING_APPROVAL): "confirm",
        (_S.PENDING_CONFIRMATION, _S.REJECTED): "admin_reject",
        (_S.PENDING_APPROVAL, _S.REJECTED): "admin_reject",
        (_S.APPROVED, _S.REJECTED): "admin_reject",
        (_S.PENDING_APPROVAL, _S.APPROVED): "admin_approve",
        (_S.APPROVED, _S.DISTRIBUTED): "distribution",
        (_S.DISTRIBUTED, _S.BAD_LEAD): "admin_bad_lead",
    }
)

#: States a lead never leaves.
TERMINAL: frozenset[LeadStatus] = frozenset({_S.REJECTED, _S.BAD_LEAD})


def _as_status(value: object) -> LeadStatus | None:
    """``value`` as a LeadStatus (``None`` stays ``None``); unknown values give ``None``
    too, which the table then refuses as a target."""
    if value is None:
        return None
    try:
        return LeadStatus(value)
    except (ValueError, TypeError):
        return None


def _label(value: object) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, LeadStatus) else str(value)


def _refuse(current: object, target: object, why: str) -> IllegalTransition:
    frm, to = _label(current), _label(target)
    return IllegalTransition(
        f"A lead cannot go from {frm or 'new'} to {to}: {why}.",
        details={"from": frm, "to": to},
    )


def trigger_for(current: LeadStatus | None, target: LeadStatus) -> str | None:
    """The trigger name of the move (``"admin_approve"``, …), or ``None`` if the
    table has no such move. Conditions are not checked here."""
    return TRANSITIONS.get((_as_status(current), _as_status(target)))  # type: ignore[arg-type]


def check_transition(
    current: LeadStatus | None,
    target: LeadStatus,
    *,
    confirmed: bool,
    has_assignments: bool,
) -> None:
    """Raise ``IllegalTransition`` unless the lead may go from ``current`` to
    ``target``.

    ``current`` is ``None`` for a lead being created. ``confirmed`` says whether the
    lead's ``confirmed_at`` is set once the move is made (the confirm step sets it in
    the same transaction, so it passes ``True``). ``has_assignments`` says whether the
    lead has at least one assignment (for ``distributed``: once this distribution's
    assignments are made).
    """
    cur, tgt = _as_status(current), _as_status(target)
    if tgt is None or (current is not None and cur is None):
        raise _refuse(current, target, "unknown status")
    if (cur, tgt) not in TRANSITIONS:
        if cur in TERMINAL:
            raise _refuse(current, target, f"{cur.value} is final")
        raise _refuse(current, target, "the lead lifecycle does not allow it")
    if tgt in (LeadStatus.PENDING_APPROVAL, LeadStatus.APPROVED) and not confirmed:
        raise _refuse(current, target, "the lead has not been confirmed")
    if tgt is LeadStatus.REJECTED and has_assignments:
        raise _refuse(current, target, "the lead already has assignments")
    if tgt is LeadStatus.DISTRIBUTED and not has_assignments:
        raise _refuse(current, target, "no provider received it")


def allowed_targets(current: LeadStatus | None) -> set[LeadStatus]:
    """The states the table lets a lead in ``current`` move to, before conditions
    (empty for terminal states)."""
    cur = _as_status(current)
    if current is not None and cur is None:
        return set()
    return {to for (frm, to) in TRANSITIONS if frm is cur}
