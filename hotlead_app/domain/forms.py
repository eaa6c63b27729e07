"""A niche's lead form and the validation of what a person submits through it.

A form is a list of fields ``{name, label, type, required, options}`` with ``type``
one of ``text|number|select|zip|email|phone``.  ``validate_submission`` returns the
normalized values or raises :class:`InvalidInput` naming every bad field at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.phones import normalize_phone
from hotlead_app.domain.text import SINGLE_LINE_MESSAGE, check_single_line, single_line_error

FIELD_TYPES = ("text", "number", "select", "zip", "email", "phone")
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
ZIP_RE = re.compile(r"^\d{5}(?:-\d{4})?$")
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TEXT = 2000
MAX_NAME = 200


@dataclass(frozen=True)
class Submission:
    name: str  # "" when the person gave none (and the niche does not require one)
    email: str
    phone: str | None
    payload: dict[str, Any]


def normalize_email(value: object) -> str:
    """A trimmed, syntactically valid address (domain part lower-cased), or ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Enter your email address.")
    email = value.strip()
    if len(email) > 255 or not EMAIL_RE.match(email):
        raise ValueError("Enter a valid email address, like name@example.com.")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_name(value: object) -> str:
    """The consumer's name, trimmed, on one line, or ValueError; ``""`` when blank."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("Enter your name as text.")
    name = " ".join(check_single_line(value.strip()).split())
    if len(name) > MAX_NAME:
        raise ValueError(f"Keep your name under {MAX_NAME} characters.")
    return name


def _normalize_number(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValueError("Enter a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("Enter a number.") from None
    if not number.is_finite():
        raise ValueError("Enter a number.")
    if abs(number) >= Decimal("1e12"):
        raise ValueError("That number is too large.")
    if number == number.to_integral_value():
        return int(number)
    return format(number.normalize(), "f")


def normalize_field(field: dict[str, Any], value: object) -> Any:
    """One field's value, normalized, or ValueError with a sentence for the person."""
    kind = field["type"]
    if kind == "number":
        return _normalize_number(value)
    if not isinstance(value, str):
        raise ValueError("Enter text here.")
    text = check_single_line(value.strip())
    if kind == "text":
        if len(text) > MAX_TEXT:
            raise ValueError(f"Keep this under {MAX_TEXT} characters.")
        return text
    if kind == "select":
        options = [str(o) for o in field.get("options") or []]
        if text not in options:
            raise ValueError(f"Choose one of: {', '.join(options)}.")
        return text
    if kind == "zip":
        if not ZIP_RE.match(text):
            raise ValueError("Enter a 5-digit ZIP code, like 30301.")
        return text
    if kind == "email":
        return normalize_email(text)
    if kind == "phone":
        return normalize_phone(text)
    raise ValueError(f"unknown field type {kind!r}")


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_submission(
    fields: list[dict[str, Any]],
    *,
    email: object,
    phone: object,
    payload: object,
    name: object = None,
    name_required: bool = False,
) -> Submission:
    """Validate a lead against its niche's form; every error is reported at once.

    ``name``, ``email`` and ``phone`` are the standard fields of every form: the email
    is required, the name when the niche says so (``name_required``), the phone never;
    a phone is stored in E.164 (:mod:`hotlead_app.domain.phones`)."""
    errors: dict[str, str] = {}
    clean_name = ""
    try:
        clean_name = normalize_name(name)
    except ValueError as exc:
        errors["name"] = str(exc)
    else:
        if name_required and not clean_name:
            errors["name"] = "Enter your name."
    clean_email = ""
    try:
        clean_email = normalize_email(email)
    except ValueError as exc:
        errors["email"] = str(exc)
    clean_phone = None
    if not _is_blank(phone):
        try:
            clean_phone = normalize_phone(phone)
        except ValueError as exc:
            errors["phone"] = str(exc)
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise InvalidInput("The form answers must be an object.", details={"payload": "must be an object"})
    known = {f["name"] for f in fields}
    for key in payload:
        if key not in known:
            errors[f"payload.{key}"] = "This niche's form has no such field."
    clean: dict[str, Any] = {}
    for field in fields:
        key = field["name"]
        value = payload.get(key)
        if _is_blank(value):
            if field.get("required"):
                errors[f"payload.{key}"] = f"{field.get('label') or key} is required."
            continue
        try:
            clean[key] = normalize_field(field, value)
        except ValueError as exc:
            errors[f"payload.{key}"] = str(exc)
    if errors:
        raise InvalidInput("Some answers need another look.", details=errors)
    return Submission(name=clean_name, email=clean_email, phone=clean_phone, payload=clean)


def validate_form_fields(fields: object) -> list[dict[str, Any]]:
    """A niche's form definition, normalized, or InvalidInput naming the bad entries."""
    if not isinstance(fields, list):
        raise InvalidInput("The form must be a list of fields.", details={"fields": "must be a list"})
    errors: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, field in enumerate(fields):
        where = f"fields[{i}]"
        if not isinstance(field, dict):
            errors[where] = "must be an object"
            continue
        name = field.get("name")
        kind = field.get("type")
        if not isinstance(name, str) or not FIELD_NAME_RE.match(name):
            errors[f"{where}.name"] = "lower-case letters, digits and _, starting with a letter"
        elif name in seen or name in ("email", "phone"):
            errors[f"{where}.name"] = "duplicate or reserved field name"
        if kind not in FIELD_TYPES:
            errors[f"{where}.type"] = f"one of {', '.join(FIELD_TYPES)}"
        options = field.get("options")
        if kind == "select" and (
            not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options)
        ):
            errors[f"{where}.options"] = "a select needs a non-empty list of strings"
        label = field.get("label")
        if error := single_line_error(label):
            errors[f"{where}.label"] = error
        if isinstance(options, list) and any(single_line_error(o) for o in options):
            errors[f"{where}.options"] = f"each option {SINGLE_LINE_MESSAGE}"
        if isinstance(name, str):
            seen.add(name)
        clean.append(
            {
                "name": name,
                "label": str(field.get("label") or name),
                "type": kind,
                "required": bool(field.get("required", False)),
                **({"options": list(options)} if kind == "select" and isinstance(options, list) else {}),
            }
        )
    if errors:
        raise InvalidInput("The form definition is not valid.", details=errors)
    return clean


def answers(fields: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A lead's answers as ``(label, value)`` in the form's order, without the empty ones;
    answers the form no longer names follow, by key (a field removed after the lead came).
    Pages (``components.format.answers``) and emails show a lead's answers with this."""
    shown: list[tuple[str, str]] = []
    named: set[str] = set()
    for field in fields:
        name = str(field.get("name"))
        named.add(name)
        value = payload.get(name)
        if value not in (None, ""):
            shown.append((str(field.get("label") or name), str(value)))
    shown.extend(
        (key, str(payload[key])) for key in sorted(payload) if key not in named and payload[key] not in (None, "")
    )
    return shown
