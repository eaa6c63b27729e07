"""Buyer controls (DOMAIN.md "Buyer controls, returns and delivery"): time zone,
weekly schedule, lead caps, spend caps, ZIP geography and the consumer identity.

Validation lives here, in one place: each ``validate_*`` returns the value to store
or raises ``InvalidInput`` whose details name the field (``schedule.mon[0]``,
``caps.day``…).  The helpers below (``schedule_open``, ``period_bounds``,
``zip_mismatch``…) are the plain-Python reading of the rules that the explanations
and the tests use; the engine's SQL (``hotlead_app/engine/controls.sql``) must agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.phones import e164_or_none

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("day", "week", "month")
EARTH_RADIUS_MILES = 3958.8
MAX_MILES = Decimal("500")
MAX_CAP = 1_000_000
MAX_SPEND = Decimal("10000000.00")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")

# --------------------------------------------------------------------------- time zone


def validate_time_zone(value: object, *, field: str = "time_zone") -> str:
    if not isinstance(value, str) or not value or len(value) > 64 or value != value.strip():
        raise InvalidInput("The time zone is not valid.", details={field: "an IANA time zone, e.g. America/New_York"})
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "The time zone is not valid.", details={field: "an IANA time zone, e.g. America/New_York"}
        ) from None
    return value


# --------------------------------------------------------------------------- schedule


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def validate_schedule(value: object, *, field: str = "schedule") -> dict[str, list[list[str]]] | None:
    """``None`` (always open) or ``{"mon": [["08:00", "17:30"]], …}``: keys mon…sun,
    each window ``[start, end)`` as "HH:MM" (end may be "24:00"), start < end, a day's
    windows sorted and not overlapping.  A day not listed is closed."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput("The schedule is not valid.", details={field: "null or an object of days (mon…sun)"})
    errors: dict[str, str] = {}
    clean: dict[str, list[list[str]]] = {}
    for day, windows in value.items():
        where = f"{field}.{day}"
        if day not in DAYS:
            errors[where] = "days are mon, tue, wed, thu, fri, sat, sun"
            continue
        if not isinstance(windows, list):
            errors[where] = 'a list of ["HH:MM", "HH:MM"] windows'
            continue
        previous_end = -1
        day_clean: list[list[str]] = []
        for i, window in enumerate(windows):
            at = f"{where}[{i}]"
            if (
                not isinstance(window, list)
                or len(window) != 2
                or not all(isinstance(t, str) and _HHMM.fullmatch(t) for t in window)
            ):
                errors[at] = 'a window is ["HH:MM", "HH:MM"] (00:00 to 24:00)'
                break
            start, end = _minutes(window[0]), _minutes(window[1])
            if window[0] == "24:00" or start >= end:
                errors[at] = "a window starts before it ends"
                break
            if start < previous_end:
                errors[at] = "windows of a day are sorted and do not overlap"
                break
            previous_end = end
            day_clean.append([window[0], window[1]])
        else:
            clean[day] = day_clean
    if errors:
        raise InvalidInput("The schedule is not valid.", details=errors)
    return {day: clean[day] for day in DAYS if day in clean}


def schedule_open(schedule: Mapping[str, Any] | None, local: datetime) -> bool:
    """Whether ``local`` (a wall-clock time in the provider's zone) lies in a window."""
    if schedule is None:
        return True
    windows = schedule.get(DAYS[local.weekday()]) or []
    now = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    return any(_minutes(start) <= now < _minutes(end) for start, end in windows)


# --------------------------------------------------------------------------- caps


def validate_caps(value: object, *, field: str = "caps") -> dict[str, int]:
    """``{"day": n, "week": n, "month": n}``, any subset, whole numbers ≥ 1."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("The caps are not valid.", details={field: 'an object like {"day": 5}'})
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for key, n in value.items():
        if key not in PERIODS:
            errors[f"{field}.{key}"] = "periods are day, week and month"
        elif isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CAP:
            errors[f"{field}.{key}"] = "a whole number of leads, at least 1"
        else:
            clean[key] = n
    if errors:
        raise InvalidInput("The caps are not valid.", details=errors)
    return {p: clean[p] for p in PERIODS if p in clean}


def validate_spend_caps(value: object, *, field: str = "spend_caps") -> dict[str, str]:
    """``{"day": "150.00", …}``, any subset, amounts > 0 with at most two decimals."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("The spend caps are not valid.", details={field: 'an object like {"day": "150.00"}'})
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for key, raw in value.items():
        where = f"{field}.{key}"
        if key not in PERIODS:
            errors[where] = "periods are day, week and month"
            continue
        amount: Decimal | None = None
        if isinstance(raw, str | int) and not isinstance(raw, bool):
            try:
                amount = Decimal(str(raw).strip())
            except InvalidOperation:
                amount = None
        if (
            amount is None
            or not amount.is_finite()
            or amount <= 0
            or amount > MAX_SPEND
            or amount != amount.quantize(Decimal("0.01"))
        ):
            errors[where] = 'an amount above zero with at most two decimals, e.g. "150.00"'
            continue
        clean[key] = f"{amount.quantize(Decimal('0.01'))}"
    if errors:
        raise InvalidInput("The spend caps are not valid.", details=errors)
    return {p: clean[p] for p in PERIODS if p in clean}


def period_bounds(now: datetime, zone: str, period: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar ``period`` holding ``now`` in ``zone``: the day from
    local midnight, the week from Monday 00:00, the month from the 1st 00:00."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    day = local.date()
    if period == "day":
        first, after = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)

    def at(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)

    return at(first), at(after)


@dataclass(frozen=True)
class ControlsCount:
    """Of leads a subscription's filters matched: how many its schedule and caps let
    through (``kept``), and why the others were not (``outside_schedule``, ``over_cap``)."""

    kept: int
    outside_schedule: int
    over_cap: int


def count_within_controls(
    instants: Iterable[datetime], *, schedule: Mapping[str, Any] | None, caps: Mapping[str, int], zone: str
) -> ControlsCount:
    """The live match count's rule for the buyer controls: the leads at ``instants``
    (when each was approved) taken in time order, as the engine would have offered
    them to one subscription; a lead outside the weekly ``schedule`` in ``zone`` is
    not counted, nor one that comes when the subscription's count in the lead's
    day / week / month (calendar periods in ``zone``) already reached that period's
    cap.  Spend caps (per provider, across subscriptions), the balance and the other
    buyers are not simulated: this is what the subscription alone would take."""
    tz = ZoneInfo(zone)
    taken: dict[tuple[str, datetime], int] = {}
    kept = outside = over = 0
    for at in sorted(instants):
        if not schedule_open(schedule, at.astimezone(tz)):
            outside += 1
            continue
        periods = [(period, period_bounds(at, zone, period)[0]) for period in PERIODS if period in caps]
        if any(taken.get(key, 0) >= caps[key[0]] for key in periods):
            over += 1
            continue
        for key in periods:
            taken[key] = taken.get(key, 0) + 1
        kept += 1
    return ControlsCount(kept=kept, outside_schedule=outside, over_cap=over)


# --------------------------------------------------------------------------- geography


@lru_cache(maxsize=1)
def zip_centroids() -> dict[str, tuple[float, float, str]]:
    """ZIP -> (latitude, longitude, state), from the pinned ``zipcodes`` package (the
    same data the migration loads into ``zip_centroids``)."""
    import zipcodes

    out: dict[str, tuple[float, float, str]] = {}
    for row in zipcodes.list_all():
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if len(row.get("zip_code") or "") == 5 and row.get("state"):
            out[row["zip_code"]] = (lat, lon, str(row["state"]))
    return out


@lru_cache(maxsize=1)
def state_codes() -> frozenset[str]:
    return frozenset(state for _lat, _lon, state in zip_centroids().values())


def zip5(value: object) -> str | None:
    """A ZIP value (a string) is its first five digits (``"10001-1234"`` -> ``"10001"``)."""
    if not isinstance(value, str):
        return None
    text = value[:5]
    return text if len(text) == 5 and text.isascii() and text.isdigit() else None


def miles_between(a: str, b: str) -> float | None:
    """Great-circle miles between two ZIP centroids (haversine), or None if unknown."""
    places = zip_centroids()
    if a not in places or b not in places:
        return None
    lat1, lon1, _ = places[a]
    lat2, lon2, _ = places[b]
    # The same float operations, in the same order, as hotlead_zip_within (SQL).
    p1, p2 = math.radians(lat1), math.radians(lat2)
    s1, s2 = math.sin((p2 - p1) / 2), math.sin(math.radians(lon2 - lon1) / 2)
    h = s1 * s1 + math.cos(p1) * math.cos(p2) * s2 * s2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def validate_geo(spec: Mapping[object, object], *, field: str) -> dict[str, Any]:
    """A ZIP field's ``{"near": {"zip", "miles"}, "states": [...]}`` (either or both)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in spec:
        if key not in ("near", "states"):
            errors[f"{field}.{key}"] = "a ZIP filter is a list, near or states"
    if "near" in spec:
        near = spec["near"]
        where = f"{field}.near"
        if not isinstance(near, Mapping) or set(near) != {"zip", "miles"}:
            errors[where] = '{"zip": "10001", "miles": 25}'
        else:
            centre = zip5(near["zip"]) if isinstance(near["zip"], str) else None
            if centre is None or centre not in zip_centroids() or len(str(near["zip"])) not in (5, 10):
                errors[f"{where}.zip"] = "a known US ZIP code"
            miles = near["miles"]
            number: Decimal | None = None
            if isinstance(miles, int | float | str) and not isinstance(miles, bool):
                try:
                    number = Decimal(str(miles))
                except InvalidOperation:
                    number = None
            if number is None or not number.is_finite() or not 0 < number <= MAX_MILES:
                errors[f"{where}.miles"] = "more than 0 and at most 500"
            elif number.as_tuple().exponent < -2:  # type: ignore[operator]
                errors[f"{where}.miles"] = "at most two decimals"
            if f"{where}.zip" not in errors and f"{where}.miles" not in errors:
                assert centre is not None and number is not None
                clean["near"] = {"zip": centre, "miles": int(number) if number == int(number) else float(number)}
    if "states" in spec:
        states = spec["states"]
        where = f"{field}.states"
        if not isinstance(states, list) or not states or not all(isinstance(s, str) for s in states):
            errors[where] = 'a list of state codes, e.g. ["NY", "NJ"]'
        else:
            unknown = [s for s in states if s not in state_codes()]
            if unknown:
                errors[where] = f"unknown state code(s): {', '.join(unknown[:5])}"
            else:
                clean["states"] = sorted(set(states))
    if not spec:
        errors[field] = "a ZIP filter is a list, near or states"
    if errors:
        raise InvalidInput("The ZIP filter is not valid.", details=errors)
    return clean


def geo_matches(rule: Mapping[str, Any], value: object) -> bool:
    """Whether a payload ZIP meets a stored ``near``/``states`` rule (both if both)."""
    z = zip5(value)
    if z is None or z not in zip_centroids():
        return False
    if "states" in rule and zip_centroids()[z][2] not in rule["states"]:
        return False
    if "near" in rule:
        miles = miles_between(z, str(rule["near"]["zip"]))
        if miles is None or miles > float(rule["near"]["miles"]):
            return False
    return True


# --------------------------------------------------------------------------- the consumer


def consumer_email(email: object) -> str | None:
    if not isinstance(email, str) or not email.strip():
        return None
    return email.strip().lower()


def consumer_phone(phone: object) -> str | None:
    """The phone in E.164, parsed with region US, or None when absent or not a number
    (the one parser of :mod:`hotlead_app.domain.phones`, as the forms store it)."""
    return e164_or_none(phone)


def next_window_open(schedule: Mapping[str, Any] | None, now: datetime, zone: str) -> datetime | None:
    """When the schedule next opens after ``now`` (an aware time), as a wall-clock time
    in ``zone``; ``None`` when it is open now, or never opens (no window at all)."""
    local = now.astimezone(ZoneInfo(zone))
    if schedule_open(schedule, local) or not schedule:
        return None
    minute_now = local.hour * 60 + local.minute
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for start, _end in schedule.get(DAYS[day.weekday()]) or []:
            at = _minutes(start)
            if offset == 0 and at <= minute_now:
                continue
            return datetime.combine(day, time(at // 60, at % 60), tzinfo=ZoneInfo(zone))
    return None
