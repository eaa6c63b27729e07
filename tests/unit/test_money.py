"""Money: two-place Decimals, never floats, signs from ledger entry types."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.domain.errors import InsufficientBalance, InvalidInput
from hotlead_app.domain.money import (
    MAX_AMOUNT,
    LedgerEntryType,
    format_money,
    new_balance,
    sign,
    signed_amount,
    to_amount,
    to_money,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", "12.50"),
        ("12.50", "12.50"),
        ("7", "7.00"),
        (" 7.1 ", "7.10"),
        (3, "3.00"),
        (Decimal("12.500"), "12.50"),
        (Decimal("1E+2"), "100.00"),
        ("-4.25", "-4.25"),
        ("0", "0.00"),
        ("-0.00", "0.00"),
        ("99999999.99", "99999999.99"),
    ],
)
def test_amount_is_read_as_an_exact_two_place_decimal(value: object, expected: str) -> None:
    amount = to_money(value)
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -2
    assert str(amount) == expected


@pytest.mark.parametrize("value", [12.5, 0.1, 1.0, float("nan")])
def test_float_amount_is_refused(value: float) -> None:
    with pytest.raises(InvalidInput) as refused:
        to_money(value)
    assert refused.value.details.keys() == {"amount"}


@pytest.mark.parametrize("value", ["12.505", "0.001", Decimal("1.001"), Decimal("0.0000000001")])
def test_amount_with_more_than_two_decimal_places_is_refused_not_rounded(value: object) -> None:
    with pytest.raises(InvalidInput):
        to_money(value)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        "NaN",
        "Infinity",
        "1e2",
        "1_000",
        "12,50",
        "",
        "abc",
        "+5",
        None,
        True,
        [1],
        10**40,
    ],
)
def test_value_that_is_not_a_finite_plain_number_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        to_money(value)


@pytest.mark.parametrize("value", ["100000000.00", Decimal("-100000000"), 100_000_000])
def test_amount_beyond_numeric_10_2_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        to_money(value)


def test_error_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidInput) as refused:
        to_money("x", field="price_per_lead")
    assert refused.value.code == "invalid_input"
    assert set(refused.value.details) == {"price_per_lead"}


@pytest.mark.parametrize("value", ["0", "0.00", "-1"])
def test_ledger_amount_must_be_positive(value: str) -> None:
    with pytest.raises(InvalidInput):
        to_amount(value)


@pytest.mark.parametrize(
    ("entry_type", "expected"),
    [("deposit", 1), ("refund", 1), ("credit", 1), ("charge", -1), ("debit", -1)],
)
def test_sign_of_each_entry_type(entry_type: str, expected: int) -> None:
    assert sign(LedgerEntryType(entry_type)) == expected
    assert sign(entry_type) == expected
    assert signed_amount(entry_type, "2.50") == Decimal("2.50") * expected


def test_ledger_entry_types_are_exactly_the_five_of_the_domain() -> None:
    assert {t.value for t in LedgerEntryType} == {"deposit", "charge", "refund", "credit", "debit"}


def test_unknown_entry_type_is_refused() -> None:
    with pytest.raises(InvalidInput):
        sign("bonus")


def test_signed_amount_refuses_a_non_positive_amount() -> None:
    with pytest.raises(InvalidInput):
        signed_amount(LedgerEntryType.CHARGE, "-5")


def test_money_is_formatted_with_two_places() -> None:
    assert format_money(Decimal("12.5")) == "12.50"
    assert format_money(Decimal("0")) == "0.00"
    assert format_money(Decimal("-3")) == "-3.00"
    assert format_money(MAX_AMOUNT) == "99999999.99"


def test_charge_that_empties_the_balance_is_allowed() -> None:
    assert new_balance("10.00", LedgerEntryType.CHARGE, "10.00") == Decimal("0.00")


def test_charge_that_would_overdraw_is_refused() -> None:
    with pytest.raises(InsufficientBalance) as refused:
        new_balance("10.00", LedgerEntryType.CHARGE, "10.01")
    assert refused.value.code == "insufficient_balance"
    assert refused.value.details == {"balance": "10.00", "amount": "10.01"}


def test_admin_debit_larger_than_the_balance_is_refused() -> None:
    with pytest.raises(InsufficientBalance):
        new_balance("5", LedgerEntryType.DEBIT, "6")


def test_reversed_deposit_may_overdraw_the_balance() -> None:
    assert new_balance("5", LedgerEntryType.DEBIT, "6", allow_overdraft=True) == Decimal("-1.00")


def test_deposit_that_would_overflow_the_balance_is_refused() -> None:
    with pytest.raises(InvalidInput):
        new_balance(MAX_AMOUNT, LedgerEntryType.DEPOSIT, "0.01")


CENTS = st.integers(1, 10**8).map(lambda c: Decimal(c).scaleb(-2))


@given(st.lists(st.tuples(st.sampled_from(list(LedgerEntryType)), CENTS), max_size=30))
def test_balance_equals_the_signed_sum_and_never_goes_negative(entries: list[tuple[LedgerEntryType, Decimal]]) -> None:
    balance = Decimal("0.00")
    posted: list[tuple[LedgerEntryType, Decimal]] = []
    for entry_type, amount in entries:
        try:
            balance = new_balance(balance, entry_type, amount)
        except (InsufficientBalance, InvalidInput):
            continue
        posted.append((entry_type, amount))
        assert balance >= 0
    adds = sum((a for t, a in posted if t.value in ("deposit", "refund", "credit")), Decimal(0))
    subtracts = sum((a for t, a in posted if t.value in ("charge", "debit")), Decimal(0))
    assert balance == adds - subtracts


@given(st.integers(-(10**10) + 1, 10**10 - 1))
def test_every_cent_amount_round_trips_through_text(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    assert to_money(format_money(amount)) == amount


def test_money_coming_in_pays_back_a_negative_balance_and_is_never_refused():
    from decimal import Decimal

    from hotlead_app.domain.money import new_balance

    assert new_balance(Decimal("-10.00"), "deposit", "4.00") == Decimal("-6.00")
    assert new_balance(Decimal("-10.00"), "refund", "10.00") == Decimal("0.00")
    with pytest.raises(InsufficientBalance):
        new_balance(Decimal("-10.00"), "charge", "1.00")
