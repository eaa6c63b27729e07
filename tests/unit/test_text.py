"""Text that may reach an email header is one line: CR, LF and other control
characters are refused where names are entered (domain/text.py)."""

from __future__ import annotations

import pytest

from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.forms import validate_form_fields, validate_submission
from hotlead_app.domain.text import check_single_line, single_line_error

BAD = [
    "Acme\r\nBcc: victim@example.com",
    "Acme\nRoofing",
    "Acme\rRoofing",
    "tab\there",
    "nul\x00",
    "nel\x85",
    "ls\u2028",
]
GOOD = ["Acme Roofing", "Müller & Söhne GmbH", "O'Brien — Roofs (Atlanta)", "屋根工事"]


@pytest.mark.parametrize("value", BAD)
def test_control_characters_are_refused(value):
    assert single_line_error(value)
    with pytest.raises(ValueError, match="one line"):
        check_single_line(value)


@pytest.mark.parametrize("value", GOOD)
def test_ordinary_names_pass(value):
    assert single_line_error(value) is None
    assert check_single_line(value) == value


def test_a_lead_text_answer_with_a_line_break_is_a_field_error():
    fields = validate_form_fields([{"name": "full_name", "label": "Your name", "type": "text"}])
    with pytest.raises(InvalidInput) as caught:
        validate_submission(fields, email="a@example.com", phone=None, payload={"full_name": "Jo\r\nBcc: x@y.z"})
    assert set(caught.value.details) == {"payload.full_name"}
    ok = validate_submission(fields, email="a@example.com", phone=None, payload={"full_name": "  Jo Smith "})
    assert ok.payload == {"full_name": "Jo Smith"}


def test_a_form_label_or_option_with_a_line_break_is_a_field_error():
    with pytest.raises(InvalidInput) as caught:
        validate_form_fields(
            [
                {"name": "a", "label": "A\nB", "type": "text"},
                {"name": "b", "type": "select", "options": ["x", "y\r\nz"]},
            ]
        )
    assert set(caught.value.details) == {"fields[0].label", "fields[1].options"}
