"""How pages show values (components/format.py): answers, money, statuses."""

from decimal import Decimal

import pytest

from hotlead_app.components import format as fmt
from hotlead_app.domain.money import show_money

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


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("1530"), "$1,530.00"),
        (Decimal("1234567.5"), "$1,234,567.50"),
        (Decimal("99999999.99"), "$99,999,999.99"),
        (Decimal("-12.5"), "-$12.50"),
        (Decimal("-1530.25"), "-$1,530.25"),
        (Decimal("0"), "$0.00"),
        (Decimal("-0.00"), "$0.00"),
        (Decimal("-0.004"), "$0.00"),
        (Decimal("0.005"), "$0.01"),
        (Decimal("2.675"), "$2.68"),
        (Decimal("10.994999"), "$10.99"),
        (7, "$7.00"),
        ("12.50", "$12.50"),
        (" -3 ", "-$3.00"),
    ],
)
def test_money_is_shown_with_the_sign_thousands_and_two_places(amount: object, shown: str) -> None:
    assert show_money(amount, "USD") == shown


def test_money_halves_round_up_as_decimals_not_as_binary_floats() -> None:
    # float(2.675) is 2.67499…: a float path would show $2.67.
    assert show_money(Decimal("2.675")) == "$2.68"
    assert show_money(Decimal("1.005")) == "$1.01"


def test_money_refuses_floats_and_bools() -> None:
    with pytest.raises(TypeError):
        show_money(12.5)
    with pytest.raises(TypeError):
        show_money(True)


def test_money_in_another_currency_uses_its_sign_or_its_code() -> None:
    assert show_money(Decimal("1530"), "eur") == "€1,530.00"
    assert show_money(Decimal("-4"), "GBP") == "-£4.00"
    assert show_money(Decimal("1530"), "CHF") == "CHF 1,530.00"


def test_pages_show_money_in_the_platforms_currency() -> None:
    assert fmt.currency() == "USD"
    assert fmt.money("1530.00") == "$1,530.00"
    assert fmt.money(Decimal("-12.5")) == "-$12.50"
    assert fmt.money_or(None) == fmt.NO_AMOUNT
    assert fmt.money_header("Amount") == "Amount (USD)"
    assert fmt.money_sign() == "$"


# --------------------------------------------------------------------------- statuses


def test_statuses_are_words_with_a_colour() -> None:
    assert fmt.status_word(fmt.PROVIDER_STATUS, "auto_deactivated") == "Paused: balance too low"
    assert fmt.status_color(fmt.PROVIDER_STATUS, "auto_deactivated") == "orange"
    assert fmt.status_word(fmt.LEAD_STATUS, "pending_approval") == "Waiting for approval"
    assert fmt.status_word(fmt.RETURN_STATUS, "denied") == "Denied"
    assert fmt.status_color(fmt.DEPOSIT_STATUS, "completed") == "green"
    assert fmt.status_word(fmt.SUBSCRIPTION_STATUS, "insufficient_balance") == "Paused: balance too low"
    assert fmt.reason_color("filter_mismatch:bill") == "gray"
    assert fmt.reason_color("chosen") == "green"


def test_an_unknown_status_shows_its_key_in_gray() -> None:
    assert fmt.status_word(fmt.LEAD_STATUS, "archived") == "archived"
    assert fmt.status_color(fmt.LEAD_STATUS, "archived") == "gray"
    assert fmt.status_word(fmt.LEAD_STATUS, None) == ""


def test_every_stored_status_has_words() -> None:
    from hotlead_app.domain.leads import LeadStatus
    from hotlead_app.models import ProviderStatus
    from hotlead_app.models.payment import DEPOSIT_STATUSES
    from hotlead_app.models.subscription import PauseReason
    from hotlead_app.services.distribution import REASONS

    assert set(fmt.LEAD_STATUS) == {s.value for s in LeadStatus}
    assert set(fmt.PROVIDER_STATUS) == {s.value for s in ProviderStatus}
    assert set(fmt.DEPOSIT_STATUS) == set(DEPOSIT_STATUSES)
    pause = {v for k, v in vars(PauseReason).items() if k.isupper()}
    assert set(fmt.SUBSCRIPTION_STATUS) == pause | {"active"}
    assert set(REASONS) <= set(fmt.REASON_COLORS)


def test_ledger_movements_show_their_direction() -> None:
    assert fmt.signed_money("+12.50") == "+$12.50"
    assert fmt.signed_money("-1530.00") == "-$1,530.00"
    assert fmt.signed_money(Decimal("7")) == "+$7.00"
    assert fmt.signed_money(Decimal("0")) == "$0.00"
