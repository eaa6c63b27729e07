"""Emails show money as the pages do ($1,530.00) and a lead's answers by label in the
form's order (issue 16 items 4 and 5), checked on the stored, rendered email."""

from __future__ import annotations

from decimal import Decimal

from hotlead_app.db import unit_of_work
from hotlead_app.models import EmailMessage
from hotlead_app.services import distribution, email_templates, notifications
from tests.factories import approved_lead, assignments_of, deposit, make_market, make_provider

# Not alphabetical: the email must follow the form, not sort the keys.
FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {"name": "bill", "label": "Monthly bill", "type": "number", "required": False},
    {"name": "roof_type", "label": "Roof type", "type": "select", "required": True, "options": ["metal", "tile"]},
]


def _stored(email_id) -> EmailMessage:
    with unit_of_work() as uow:
        found = uow.session.get(EmailMessage, email_id)
        assert found is not None
        return found


def test_the_new_lead_email_lists_the_answers_by_label_in_the_forms_order(engine_db):
    market = make_market(levels=[("Solo", "1530.00", 1)], providers=1, balance="2000.00", fields=FIELDS)
    lead_id = approved_lead(market.slug, {"roof_type": "metal", "zip": "30301", "bill": 120})
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    (assignment,) = assignments_of(lead_id)

    composed = notifications.compose_new_lead(assignment_id=assignment.id)
    assert composed is not None
    email = _stored(composed.id)
    lines = email.body_text.splitlines()
    answers = [line for line in lines if line.startswith(("ZIP code:", "Monthly bill:", "Roof type:"))]
    assert answers == ["ZIP code: 30301", "Monthly bill: 120", "Roof type: metal"]
    assert not any(line.startswith(("zip:", "roof_type", "Zip:")) for line in lines)
    assert email_templates.money(Decimal("1530.00")) == "$1,530.00"
    assert "$1,530.00" in email.body_text
    assert "ZIP code: 30301" in (email.body_html or "")


def test_the_deposit_receipt_shows_the_amounts_as_money(engine_db):
    provider = make_provider()
    posted = deposit(provider.id, "1530.00")
    composed = notifications.compose_deposit_received(entry_id=posted.entry.id)
    assert composed is not None
    email = _stored(composed.id)
    assert f"We received your deposit of {email_templates.money('1530.00')}." in email.body_text
    assert f"Your balance after it: {email_templates.money('1530.00')}." in email.body_text
    assert "1530.00." not in email.body_text
