"""CSV cells: text that a spreadsheet would run as a formula is neutralised, our numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotlead_app.services.csv_export import FORMULA_STARTS, Number, cell, csv_line


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_like_a_formula_gets_a_quote(start):
    assert cell(f'{start}HYPERLINK("http://evil.example","x")') == f'\'{start}HYPERLINK("http://evil.example","x")'


def test_ordinary_text_and_empty_cells_are_unchanged():
    assert [cell(v) for v in ("Roofing", "a=b", "", None, " =x")] == ["Roofing", "a=b", "", "", " =x"]


def test_our_numbers_stay_signed_and_readable():
    line = csv_line(
        [Decimal("-12.00"), Number(Decimal("5.00"), plus_sign=True), Number(Decimal("-2.50"), plus_sign=True), 7]
    )
    assert next(csv.reader(io.StringIO(line))) == ["-12.00", "+5.00", "-2.50", "7"]
    # The same characters as text are neutralised: only typed numbers are trusted.
    assert cell("-12.00") == "'-12.00"
    with pytest.raises(TypeError):
        Number("-1")
    with pytest.raises(TypeError):
        Number(True)


@given(st.text())
def test_no_text_cell_ever_starts_like_a_formula(text):
    written = next(csv.reader(io.StringIO(csv_line([text]), newline="")), [""])
    assert not "".join(written).startswith(FORMULA_STARTS)


def test_a_money_columns_header_names_the_currency() -> None:
    from hotlead_app.services.csv_export import money_column

    assert money_column("amount") == "amount (USD)"
