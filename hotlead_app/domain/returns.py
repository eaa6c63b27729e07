"""Returns and outcomes: the plain rules (DOMAIN.md "Returns", "Outcomes").

The services (``services/returns.py``, ``services/outcomes.py``) read the numbers
from the database and ask these functions; tests check them without a database.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hotlead_app.domain import money
from hotlead_app.domain.errors import Conflict, InvalidInput
from hotlead_app.domain.text import single_line_error

DEFAULT_RETURN_WINDOW_HOURS = 72
DEFAULT_MAX_RETURN_RATE_PERCENT = 20
DEFAULT_AUTO_APPROVE_BELOW_PERCENT = 0
DEFAULT_RETURN_REASONS: tuple[dict[str, str], ...] = (
    {"code": "wrong_contact", "label": "Wrong contact details"},
    {"code": "duplicate", "label": "Duplicate lead"},
    {"code": "out_of_area", "label": "Outside my service area"},
    {"code": "not_a_real_request", "label": "Not a real request"},
    {"code": "already_hired", "label": "Already hired someone"},
)
# The column's server default: the same list, as SQL.
DEFAULT_RETURN_REASONS_SQL = "'" + json.dumps(list(DEFAULT_RETURN_REASONS)).replace("'", "''") + "'::jsonb"

RATE_PERIOD = timedelta(days=30)
NOTE_MAX = 2000
REASON_MAX = 2000

RETURN_SETTINGS = (
    "return_window_hours",
    "return_reasons",
    "max_return_rate_percent",
    "auto_approve_returns_below_percent",
)


def default_return_reasons() -> list[dict[str, str]]:
    return [dict(r) for r in DEFAULT_RETURN_REASONS]


# --------------------------------------------------------------------------- refusals


class ReturnRefused(Conflict):
    """A return request the rules refuse (409 with the rule's code, nothing written)."""

    code = "return_refused"


class ReturnAlreadyRequested(ReturnRefused):
    code = "already_requested"
    default_message = "This lead already has a return request."


class ReturnWindowClosed(ReturnRefused):
    code = "return_window_closed"
    default_message = "The time to return this lead has passed."


class ReturnRateExceeded(ReturnRefused):
    code = "return_rate_exceeded"
    default_message = "You have reached the most returns allowed for the last 30 days."


class ReturnAlreadyDecided(Conflict):
    code = "already_decided"
    default_message = "This return request was already decided."


# --------------------------------------------------------------------------- rules


def window_closes_at(assigned_at: datetime, window_hours: int) -> datetime:
    return assigned_at + timedelta(hours=window_hours)


def window_open(assigned_at: datetime, window_hours: int, now: datetime) -> bool:
    """Open up to and including the last instant of the window."""
    return now <= window_closes_at(assigned_at, window_hours)


def return_allowance(assignments_30d: int, max_rate_percent: int) -> int:
    """How many returns (pending or approved, this one included) the last 30 days allow:
    max(1, floor(assignments × rate / 100))."""
    return max(1, (assignments_30d * max_rate_percent) // 100)


def rate_allows(*, requests_30d_including_this: int, assignments_30d: int, max_rate_percent: int) -> bool:
    return requests_30d_including_this <= return_allowance(assignments_30d, max_rate_percent)


def auto_approves(*, approved_30d: int, assignments_30d: int, below_percent: int) -> bool:
    """Approved at once when approved ÷ assignments (last 30 days) is below the
    threshold (0: off).  Integers only: approved × 100 < threshold × assignments."""
    if below_percent <= 0 or assignments_30d <= 0:
        return False
    return approved_30d * 100 < below_percent * assignments_30d


# --------------------------------------------------------------------------- settings


def _percent(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        return None
    return value


def clean_return_settings(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The return settings among ``values``, validated: (clean, errors by field)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "return_window_hours" in values:
        hours = values["return_window_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 24 * 365:
            errors["return_window_hours"] = "a whole number of hours, 0 to 8760"
        else:
            clean["return_window_hours"] = hours
    for key in ("max_return_rate_percent", "auto_approve_returns_below_percent"):
        if key in values:
            percent = _percent(values[key])
            if percent is None:
                errors[key] = "a whole number from 0 to 100"
            else:
                clean[key] = percent
    if "return_reasons" in values:
        reasons = values["return_reasons"]
        if not isinstance(reasons, list) or not 1 <= len(reasons) <= 30:
            errors["return_reasons"] = "a list of 1 to 30 {code, label}"
        else:
            seen: set[str] = set()
            out: list[dict[str, str]] = []
            for i, item in enumerate(reasons):
                code = item.get("code") if isinstance(item, dict) else None
                label = item.get("label") if isinstance(item, dict) else None
                if not isinstance(item, dict) or set(item) - {"code", "label"}:
                    errors[f"return_reasons[{i}]"] = "an object {code, label}"
                elif (
                    not isinstance(code, str)
                    or not 1 <= len(code) <= 64
                    or not all(c.islower() or c.isdigit() or c == "_" for c in code)
                ):
                    errors[f"return_reasons[{i}].code"] = "lower-case letters, digits and _, at most 64"
                elif code in seen:
                    errors[f"return_reasons[{i}].code"] = "used twice"
                elif not isinstance(label, str) or not label.strip() or len(label) > 200:
                    errors[f"return_reasons[{i}].label"] = "required, at most 200 characters"
                elif error := single_line_error(label):
                    errors[f"return_reasons[{i}].label"] = error
                else:
                    seen.add(code)
                    out.append({"code": code, "label": label.strip()})
            if not any(k.startswith("return_reasons") for k in errors):
                clean["return_reasons"] = out
    return clean, errors


# --------------------------------------------------------------------------- outcomes

OUTCOMES = ("contacted", "appointment", "won", "lost")


def clean_outcome(outcome: Any, value: Any, reason: Any) -> tuple[str, Decimal | None, str | None]:
    """``{outcome, value?, reason?}`` validated: a value only for ``won``, a reason only
    for ``lost``; InvalidInput naming each bad field."""
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "one of " + ", ".join(OUTCOMES)
    amount: Decimal | None = None
    if value is not None:
        if outcome != "won":
            errors["value"] = "only a won lead has a value"
        else:
            try:
                amount = money.to_amount(value, field="value")
            except InvalidInput as exc:
                errors["value"] = exc.details.get("value", exc.message)
    text: str | None = None
    if reason is not None:
        if outcome != "lost":
            errors["reason"] = "only a lost lead has a reason"
        elif not isinstance(reason, str) or len(reason) > REASON_MAX:
            errors["reason"] = f"text, at most {REASON_MAX} characters"
        else:
            text = reason.strip() or None
    if errors:
        raise InvalidInput("The outcome is not valid.", details=errors)
    return str(outcome), amount, text
