"""How pages show a lead's answers (components/format.py)."""

from hotlead_app.components import format as fmt

FIELDS = [
    {"name": "service", "label": "Service needed", "type": "text"},
    {"name": "bill", "label": "Monthly bill", "type": "number"},
    {"name": "zip", "label": "ZIP code", "type": "zip"},
]


def test_answers_follow_the_forms_order_with_labels_and_skip_empty_ones() -> None:
    payload = {"zip": "30301", "bill": 120, "service": ""}
    assert fmt.answers(FIELDS, payload) == [("Monthly bill", "120"), ("ZIP code", "30301")]


def test_answers_the_form_no_longer_names_come_last_by_key() -> None:
    payload = {"old_b": "x", "service": "Roof", "old_a": 1}
    assert fmt.answers(FIELDS, payload) == [("Service needed", "Roof"), ("old_a", "1"), ("old_b", "x")]
    assert fmt.answers_text(FIELDS, payload) == "Service needed: Roof · old_a: 1 · old_b: x"
