"""Subscription filters: which leads a subscription wants.

A filter set is a JSON object; every key must match the lead's payload (AND), and
``{}`` matches every lead. Each key is a payload field name (1 to 64 ASCII letters,
digits or ``_``) mapped to one rule:

* a **list** ``["a", "b", 10]``: the field's text is one of the listed values;
* a **range** ``{"min": 10, "max": 20}``: the field is a number within the inclusive
  bounds; either bound may be left out, not both. No other operator exists.

A field missing from the payload (or ``null``) never matches.

Text of a value (both for list entries and for the payload): it is what PostgreSQL's
``payload->>'field'`` gives for the JSON the app stores. Strings are themselves; ints
are their digits (``10`` -> ``"10"``, so ``10`` and ``"10"`` match each other); other
numbers are written in plain decimal notation from their shortest form
(``10.0`` -> ``"10.0"``, which does NOT match ``"10"``; ``1e20`` ->
``"100000000000000000000"``). Booleans, ``null``, objects and arrays never match a list
and cannot be listed.

Numbers: int, float or Decimal (never bool, NaN or infinity), or a string in plain
decimal notation (``"-12"``, ``"12.50"``; no spaces, exponent, ``+`` or ``_``). Floats
are read from their shortest repr (``0.1`` is exactly ``Decimal("0.1")``) and all
comparisons are done on ``Decimal``, never in float arithmetic. Range bounds must lie
within +-10**30 with at most 30 decimal places; listed numbers and payload numbers
whose plain text would pass 400 digits on either side of the point are refused /
never match.

``validate_filters`` returns a JSON-safe normalized copy: list entries become strings
(duplicates dropped, order kept); int bounds stay ints, every other accepted bound
becomes its plain decimal string (``10.5`` -> ``"10.5"``), so stored filters never hold
a float. ``matches``/``first_mismatch`` accept raw or normalized filters alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hotlead_app.domain.controls import geo_matches, validate_geo
from hotlead_app.domain.errors import InvalidFilters, InvalidInput

#: The ``details`` key used when the filter set as a whole is malformed.
ROOT_KEY = "filters"

_FIELD_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_OPERATORS = frozenset({"min", "max"})
_BOUND_DIGITS = 30  # integer digits and decimal places allowed in a range bound
_TEXT_DIGITS = 400  # beyond this a number's text is never compared


@dataclass(frozen=True)
class _OneOf:
    values: frozenset[str]


@dataclass(frozen=True)
class _Range:
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class _Geo:
    """A ZIP field's service area: ``near`` (centre ZIP and miles) and/or ``states``."""

    spec: tuple[tuple[str, object], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.spec)


_Rule = _OneOf | _Range | _Geo
_GEO_OPERATORS = frozenset({"near", "states"})


def to_number(value: object) -> Decimal | None:
    """``value`` as a finite Decimal if it is a number by the rule above, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    return None


def _digits(number: Decimal) -> tuple[int, int]:
    """(integer digits, decimal places) of ``number`` written in plain notation."""
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    return max(len(digits) + exponent, 1), max(-exponent, 0)


def _plain(number: Decimal, limit: int) -> str | None:
    """Plain decimal notation (no exponent, no ``-0``), or ``None`` past ``limit``."""
    whole, places = _digits(number)
    if whole > limit or places > limit:
        return None
    if number.is_zero():
        number = number.copy_abs()
    return format(number, "f")


def to_text(value: object, *, limit: int = _TEXT_DIGITS) -> str | None:
    """The text a list filter compares (see module docstring), or ``None`` for values
    that never match a list (bool, null, objects, arrays, NaN, infinity)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python will print
            return None
    number = to_number(value)
    return None if number is None else _plain(number, limit)


def _parse_list(spec: list[object]) -> tuple[_OneOf | None, str | None]:
    if not spec:
        return None, "must list at least one value"
    texts = [to_text(item) for item in spec]
    if any(text is None for text in texts):
        return None, "list values must be strings or finite numbers"
    return _OneOf(frozenset(texts)), None  # type: ignore[arg-type]


def _parse_range(spec: Mapping[object, object]) -> tuple[_Range | None, str | None]:
    if not spec:
        return None, "a range needs min, max or both"
    unknown = sorted(repr(key) for key in spec if key not in _OPERATORS)
    if unknown:
        return None, f"unknown operator {', '.join(unknown)} (use min and/or max)"
    bounds: dict[str, Decimal] = {}
    for name, raw in spec.items():
        number = to_number(raw)
        if number is None:
            return None, f'{name} must be a finite number, e.g. 10 or "10.5"'
        whole, places = _digits(number)
        if whole > _BOUND_DIGITS or places > _BOUND_DIGITS:
            return None, f"{name} is out of range"
        bounds[str(name)] = number
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None and low > high:
        return None, "min must not be greater than max"
    return _Range(low, high), None


def _parse_geo(spec: Mapping[object, object], field: str) -> tuple[_Geo | None, dict[str, str]]:
    try:
        clean = validate_geo(spec, field=field)
    except InvalidInput as exc:
        return None, {str(k): str(v) for k, v in exc.details.items()}
    return _Geo(tuple(sorted(clean.items()))), {}


def _is_geo(spec: object) -> bool:
    return isinstance(spec, Mapping) and any(key in _GEO_OPERATORS for key in spec)


def _parse_rule(spec: object) -> tuple[_Rule | None, str | None]:
    if isinstance(spec, list):
        return _parse_list(spec)
    if isinstance(spec, Mapping):
        return _parse_range(spec)
    return None, "must be a list of values, a {min, max} range, or near/states for a ZIP"


def _parse(filters: object) -> dict[str, _Rule]:
    """Every rule of ``filters``, or ``InvalidFilters`` naming each bad key."""
    if not isinstance(filters, Mapping):
        raise InvalidFilters(details={ROOT_KEY: "filters must be a JSON object"})
    rules: dict[str, _Rule] = {}
    errors: dict[str, str] = {}
    for field, spec in filters.items():
        if not isinstance(field, str) or not _FIELD_NAME.fullmatch(field):
            label = field if isinstance(field, str) else repr(field)
            errors[label] = "field names are 1 to 64 letters, digits or underscores"
            continue
        if _is_geo(spec):
            assert isinstance(spec, Mapping)
            geo, geo_errors = _parse_geo(spec, field)
            if geo is None:
                errors.update(geo_errors)
            else:
                rules[field] = geo
            continue
        rule, error = _parse_rule(spec)
        if rule is None:
            errors[field] = error or "invalid filter"
        else:
            rules[field] = rule
    if errors:
        raise InvalidFilters(details=errors)
    return rules


def _bound_json(raw: object, number: Decimal) -> int | str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return _plain(number, _BOUND_DIGITS) or format(number, "f")


def validate_filters(filters: object) -> dict[str, object]:
    """A normalized, JSON-safe copy of ``filters``; raises ``InvalidFilters`` whose
    details map every bad key to what is wrong with it."""
    rules = _parse(filters)  # raises on the first look, naming every bad key
    assert isinstance(filters, Mapping)
    normalized: dict[str, object] = {}
    for field, spec in filters.items():
        rule = rules[field]
        if isinstance(rule, _Geo):
            normalized[field] = rule.as_dict()
        elif isinstance(spec, list):
            texts = (to_text(item) for item in spec)
            normalized[field] = list(dict.fromkeys(texts))
        else:
            normalized[field] = {
                name: _bound_json(raw, to_number(raw))  # type: ignore[arg-type]
                for name, raw in sorted(spec.items())
            }
    return normalized


def _rule_matches(rule: _Rule, payload: Mapping[str, object], field: str) -> bool:
    value = payload.get(field)
    if value is None:
        return False
    if isinstance(rule, _Geo):
        return geo_matches(rule.as_dict(), value)
    if isinstance(rule, _OneOf):
        text = to_text(value)
        return text is not None and text in rule.values
    number = to_number(value)
    if number is None:
        return False
    if rule.low is not None and number < rule.low:
        return False
    return rule.high is None or number <= rule.high


def first_mismatch(filters: object, payload: object) -> str | None:
    """The first field (in sorted order) whose rule the payload fails, or ``None``
    when the lead matches. Raises ``InvalidFilters`` for malformed filters."""
    rules = _parse(filters)
    fields: Mapping[str, object] = payload if isinstance(payload, Mapping) else {}
    for field in sorted(rules):
        if not _rule_matches(rules[field], fields, field):
            return field
    return None


def matches(filters: object, payload: object) -> bool:
    """Whether a lead with ``payload`` matches every rule of ``filters``."""
    return first_mismatch(filters, payload) is None


# --------------------------------------------------------------------------- which fields

#: Form field types a filter may name, and the one operator each takes (DOMAIN.md
#: "Which fields a filter may name"). Any other field (text, email, phone, or a name
#: the niche's form lacks) is refused: a filter must never reveal free text of the
#: leads a provider did not buy (missed leads show the fields its filters name).
FILTERABLE_TYPES: dict[str, str] = {"select": "list", "zip": "list", "number": "range"}

_OPERATOR_TEXT = {"list": "a list of values", "range": "a {min, max} range"}
# A zip field also takes ``near`` and ``states`` (an object); the text says so.
_ZIP_TEXT = "a list of ZIP codes, near (centre ZIP and miles) or states"


def filterable_fields(form_fields: object) -> dict[str, str]:
    """Name -> type of the form's fields a filter may name."""
    out: dict[str, str] = {}
    for field in form_fields if isinstance(form_fields, list) else []:
        if isinstance(field, Mapping) and field.get("type") in FILTERABLE_TYPES and isinstance(field.get("name"), str):
            out[field["name"]] = str(field["type"])
    return out


def refused_fields(filters: object, form_fields: object) -> dict[str, str]:
    """Each key of ``filters`` the niche's form does not allow, with why (empty when
    every key names a select, ZIP or number field with that type's operator)."""
    if not isinstance(filters, Mapping):
        return {}
    allowed = filterable_fields(form_fields)
    types = {
        f["name"]: f.get("type")
        for f in (form_fields if isinstance(form_fields, list) else [])
        if isinstance(f, Mapping) and isinstance(f.get("name"), str)
    }
    refused: dict[str, str] = {}
    for name, rule in filters.items():
        label = name if isinstance(name, str) else repr(name)
        kind = allowed.get(label)
        if kind is None:
            if label in types:
                refused[label] = f"A filter may not name a {types[label]} field: only select, ZIP and number fields."
            else:
                refused[label] = "This niche's form has no such field."
            continue
        operator = FILTERABLE_TYPES[kind]
        if kind == "zip" and _is_geo(rule):
            continue  # near / states: DOMAIN.md "Geography"
        if (operator == "list") != isinstance(rule, list) or _is_geo(rule):
            text = _ZIP_TEXT if kind == "zip" else _OPERATOR_TEXT[operator]
            refused[label] = f"A {kind} field is filtered with {text}."
    return refused


def check_fields(filters: object, form_fields: object) -> None:
    """Raise ``InvalidFilters`` naming every key of ``filters`` the form does not allow."""
    refused = refused_fields(filters, form_fields)
    if refused:
        raise InvalidFilters("A filter may name only the niche's select, ZIP and number fields.", details=refused)


def validate_for_form(filters: object, form_fields: object) -> dict[str, object]:
    """``validate_filters`` and then ``check_fields``: what a subscription may store."""
    clean = validate_filters({} if filters is None else filters)
    check_fields(clean, form_fields)
    return clean


def shown_fields(filters: object, form_fields: object) -> set[str]:
    """The payload fields a missed lead may show: those ``filters`` name, and only
    of the form's select, ZIP and number fields (never text, email or phone)."""
    names = {name for name in filters if isinstance(name, str)} if isinstance(filters, Mapping) else set()
    return names & set(filterable_fields(form_fields))
