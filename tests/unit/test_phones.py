"""One phone parser (region US, E.164) and one way to show a number."""

from __future__ import annotations

import pytest

from hotlead_app.components import format as fmt
from hotlead_app.domain import controls
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.forms import normalize_name, validate_submission
from hotlead_app.domain.phones import display_phone, e164_or_none, normalize_phone, tel_href


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(404) 555-0101", "+14045550101"),
        ("404-555-0101", "+14045550101"),
        ("404.555.0101", "+14045550101"),
        ("+1 404 555 0100", "+14045550100"),
        ("1 (404) 555-0100", "+14045550100"),
        ("  4045550100  ", "+14045550100"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_a_valid_number_is_stored_in_e164(typed, stored):
    assert normalize_phone(typed) == stored
    assert e164_or_none(typed) == stored


@pytest.mark.parametrize("typed", ["12", "555-0100", "(000) 555-0101", "call me maybe", "+1 212 555 010", "", None, 42])
def test_an_invalid_number_is_refused_with_a_sentence(typed):
    with pytest.raises(ValueError, match="valid phone number"):
        normalize_phone(typed)
    assert e164_or_none(typed) is None


def test_us_numbers_show_nationally_and_others_internationally():
    assert display_phone("+14045550101") == "(404) 555-0101"
    assert display_phone("+442079460958") == "+44 20 7946 0958"
    assert fmt.phone("+14045550101") == "(404) 555-0101"
    assert fmt.phone(None) == "" and fmt.phone("") == ""
    # A number stored before numbers were checked is shown as it was stored.
    assert display_phone("not a phone") == "not a phone"
    # An older row stored without "+1" still shows formatted.
    assert display_phone("4045550101") == "(404) 555-0101"


def test_the_phone_link_dials_e164():
    assert tel_href("+14045550101") == "tel:+14045550101"
    assert fmt.phone_href("(404) 555-0101") == "tel:+14045550101"
    assert tel_href(None) == "" and tel_href("") == ""


def test_the_same_consumer_key_is_the_stored_phone():
    for typed in ("(404) 555-0101", "+1 404 555 0101"):
        assert controls.consumer_phone(typed) == normalize_phone(typed)


def test_format_round_trip_for_every_us_shape():
    for typed in ("(404) 555-0101", "404-555-0101", "+1 404 555 0101"):
        assert display_phone(normalize_phone(typed)) == "(404) 555-0101"


FORM = [{"name": "zip", "label": "ZIP code", "type": "zip", "required": True}]


def test_the_name_is_trimmed_and_required_only_when_the_niche_says_so():
    ok = validate_submission(FORM, name="  Dana   Smith ", email="a@example.com", phone=None, payload={"zip": "30301"})
    assert ok.name == "Dana Smith"
    blank = validate_submission(FORM, name="", email="a@example.com", phone=None, payload={"zip": "30301"})
    assert blank.name == ""
    with pytest.raises(InvalidInput) as refused:
        validate_submission(
            FORM, name=" ", name_required=True, email="a@example.com", phone="12", payload={"zip": "30301"}
        )
    assert refused.value.details == {
        "name": "Enter your name.",
        "phone": normalize_phone_error("12"),
    }


def normalize_phone_error(value: str) -> str:
    with pytest.raises(ValueError) as exc:
        normalize_phone(value)
    return str(exc.value)


def test_a_name_on_two_lines_or_too_long_is_refused():
    with pytest.raises(ValueError):
        normalize_name("Dana\nBcc: x@example.com")
    with pytest.raises(ValueError, match="under 200"):
        normalize_name("x" * 201)
    assert normalize_name(None) == ""
