"""Phone numbers, one way everywhere: parsed with ``phonenumbers`` (region US), stored
in E.164 (``+14045550101``) and shown in the national format for US numbers
(``(404) 555-0101``), the international one otherwise (``+44 20 7946 0958``).

``normalize_phone`` is what a form or the API accepts (a sentence for the person on
a bad number); ``e164_or_none`` is the same parse for the "same consumer twice" key,
which never refuses; ``display_phone`` is how every page and email shows a number."""

from __future__ import annotations

import phonenumbers

REGION = "US"
MAX_INPUT = 50


def _parse(value: object) -> phonenumbers.PhoneNumber | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_INPUT:
        return None
    try:
        number = phonenumbers.parse(value.strip(), REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_phone(value: object) -> str:
    """The number in E.164, or ValueError with a sentence for the person."""
    number = _parse(value)
    if number is None:
        raise ValueError("Enter a valid phone number, like (404) 555-0101, or +44 20 7946 0958 outside the US.")
    return _e164(number)


def e164_or_none(value: object) -> str | None:
    """The number in E.164, or None when absent or not a valid number."""
    number = _parse(value)
    return _e164(number) if number is not None else None


def display_phone(value: object) -> str:
    """``"+14045550101"`` -> ``"(404) 555-0101"``; ``"+442079460958"`` ->
    ``"+44 20 7946 0958"``; ``""`` for none; a value that is not a valid number (a lead
    stored before numbers were checked) as it was stored."""
    if value is None or value == "":
        return ""
    number = _parse(value)
    if number is None:
        return str(value)
    if phonenumbers.region_code_for_number(number) == REGION:
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def tel_href(value: object) -> str:
    """A ``tel:`` link for the number (E.164 when it parses), or ``""``."""
    e164 = e164_or_none(value)
    if e164 is not None:
        return f"tel:{e164}"
    return f"tel:{value}" if isinstance(value, str) and value.strip() else ""
