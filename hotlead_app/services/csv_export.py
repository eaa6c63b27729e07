"""CSV lines for every export, safe to open in a spreadsheet (no CSV/formula injection).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(tab and carriage return can hide such a start), so a lead's email, a niche's name or
any other **text** cell starting with one of those characters is written with a
leading ``'``, which makes the spreadsheet show the text as typed (OWASP's advice).

Our own numbers are not text: a cell given as a ``Decimal`` or an ``int`` (never a
``bool``) is written as the plain number, so signed money stays readable and sums in
the spreadsheet: ``Decimal("-12.00")`` is written ``-12.00``, and
``Number(Decimal("5.00"), plus_sign=True)`` ``+5.00``.  Such a cell can only hold
digits, a sign and a point, so it cannot be a formula.  The choice is: amounts and
counts are passed as numbers (never pre-formatted strings), everything else as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from hotlead_app.settings import get_settings

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Number:
    """One of our numbers for a CSV cell, optionally with an explicit ``+``."""

    __slots__ = ("text",)

    def __init__(self, value: Decimal | int, *, plus_sign: bool = False) -> None:
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"a Number is a Decimal or an int, not {type(value).__name__}")
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError("a Number is finite")
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        self.text = "+" + text if plus_sign and not text.startswith("-") else text


def money_column(name: str) -> str:
    """The header of a column of amounts: the amounts stay plain numbers, the header
    says their currency: ``"amount"`` -> ``"amount (USD)"``."""
    return f"{name} ({get_settings().currency})"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it, never run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Number):
        return value.text
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Number(value).text
    return neutralise(str(value))


def csv_line(values: Iterable[object]) -> str:
    """One CSV line (with its line end): numbers as numbers, every other cell as safe text."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell(v) for v in values])
    return buffer.getvalue()
