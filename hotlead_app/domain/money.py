"""Money: Decimal with two places, never float; signs come from ledger entry types.

* Amounts fit ``NUMERIC(10,2)``: at most ``MAX_AMOUNT`` in absolute value.
* Input is Decimal, int or a string in plain notation (``"12.5"``, ``"-3"``;
  surrounding spaces are ignored). Floats, bools, NaN and infinity are refused, and
  so is a value with more than two decimal places: nothing is ever rounded
  (``"12.500"`` is fine, it is exactly 12.50; ``"12.505"`` is refused).
* A ledger entry's ``amount`` is positive; ``deposit``, ``refund`` and ``credit`` add
  it to the balance, ``charge`` and ``debit`` subtract it.
* A balance never goes below zero, except for a processor-reversed deposit
  (``allow_overdraft=True``, see DOMAIN.md "Money").
"""

from __future__ import annotations

import enum
import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from hotlead_app.domain.errors import InsufficientBalance, InvalidInput

MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_PLAIN = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")
_CONTEXT = Context(prec=40)


class LedgerEntryType(str, enum.Enum):
    """Kinds of ledger entry."""

    DEPOSIT = "deposit"
    CHARGE = "charge"
    REFUND = "refund"
    CREDIT = "credit"
    DEBIT = "debit"


_SIGNS = {
    LedgerEntryType.DEPOSIT: 1,
    LedgerEntryType.REFUND: 1,
    LedgerEntryType.CREDIT: 1,
    LedgerEntryType.CHARGE: -1,
    LedgerEntryType.DEBIT: -1,
}


def sign(type: LedgerEntryType | str) -> int:
    """+1 for entries that add to the balance, -1 for those that subtract."""
    try:
        return _SIGNS[LedgerEntryType(type)]
    except (ValueError, TypeError):
        raise InvalidInput("Unknown ledger entry type.", details={"type": f"unknown type {type!r}"}) from None


def _bad(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid {field}: {why}.", details={field: why})


def _to_decimal(value: object, field: str) -> Decimal:
    if isinstance(value, float):
        raise _bad(field, 'write amounts as strings like "12.50", never as floats')
    if isinstance(value, bool):
        raise _bad(field, "must be a number like 12.50")
    if isinstance(value, int):
        return Decimal(value) if abs(value) <= MAX_AMOUNT else Decimal("Infinity")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN.fullmatch(text):
            return Decimal(text)
        raise _bad(field, "must be a number like 12.50")
    raise _bad(field, "must be a number like 12.50")


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """``value`` as a Decimal with exactly two places; ``InvalidInput`` (details keyed
    by ``field``) for floats, non-numbers, NaN/infinity, more than two decimal places,
    or more than ``MAX_AMOUNT`` in absolute value."""
    number = _to_decimal(value, field)
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise _bad(field, f"must be a finite number of at most {MAX_AMOUNT}")
    try:
        cents = number.quantize(CENT, context=_CONTEXT)
    except InvalidOperation:  # too many digits to quantize: cannot be 2 places
        raise _bad(field, "has more than two decimal places") from None
    if cents != number:
        raise _bad(field, "has more than two decimal places")
    return ZERO if cents.is_zero() else cents


def to_amount(value: object, *, field: str = "amount") -> Decimal:
    """Like ``to_money`` but strictly positive: ledger amounts, prices, deposits."""
    amount = to_money(value, field=field)
    if amount <= 0:
        raise _bad(field, "must be greater than zero")
    return amount


def signed_amount(type: LedgerEntryType | str, amount: object) -> Decimal:
    """The entry's effect on the balance: ``+amount`` or ``-amount`` by its type.
    ``amount`` must be positive."""
    return to_amount(amount) * sign(type)


def new_balance(
    balance: object,
    type: LedgerEntryType | str,
    amount: object,
    *,
    allow_overdraft: bool = False,
) -> Decimal:
    """The balance after posting the entry. Raises ``InsufficientBalance`` if money
    going out would leave it below zero (unless ``allow_overdraft``, reserved for
    processor-reversed deposits) and ``InvalidInput`` if it would exceed ``MAX_AMOUNT``.
    Money coming in is never refused: after a reversal it pays back a negative balance."""
    before = to_money(balance, field="balance")
    after = before + signed_amount(type, amount)
    if after < 0 and sign(type) < 0 and not allow_overdraft:
        raise InsufficientBalance(
            f"The balance of {format_money(before)} does not cover {format_money(to_amount(amount))}.",
            details={"balance": format_money(before), "amount": format_money(to_amount(amount))},
        )
    if abs(after) > MAX_AMOUNT:
        raise _bad("amount", f"the balance would exceed {MAX_AMOUNT}")
    return ZERO if after.is_zero() else after


def format_money(amount: object) -> str:
    """Two-place plain text for JSON and screens: ``Decimal("12.5")`` -> ``"12.50"``."""
    return format(to_money(amount), "f")


# An amount as a person types it in a page: an optional "$", digits with optional
# thousands separators in groups of three, optional decimals ("$45", "$1,200.50", "45").
_TYPED = re.compile(r"\$?\s*((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)")


def parse_typed_money(text: object, *, field: str = "amount") -> Decimal:
    """An amount typed into a page (a level's price, a cap) as Decimal with two places:
    ``"$45"`` → 45.00, ``"$1,200.50"`` → 1200.50, ``"45"`` → 45.00.  Anything else
    (empty, ``"45$"``, ``"1,20"``, ``"12.505"``, a negative) → ``InvalidInput`` keyed
    by ``field``, for the page to show next to that field.  The API keeps its plain
    strings (``"45.00"``): this is for people, not for programs."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(field, "enter an amount like $45 or 1,200.50")
    match = _TYPED.fullmatch(text.strip())
    if match is None:
        raise _bad(field, "enter an amount like $45 or 1,200.50")
    return to_money(match.group(1).replace(",", ""), field=field)


#: Currency signs for the currencies we show; any other code is written before the amount.
CURRENCY_SIGNS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


def show_money(amount: object, currency: str = "USD") -> str:
    """An amount as people read it: ``Decimal("1530")`` -> ``"$1,530.00"``, a negative
    one ``"-$12.50"``, another currency ``"CHF 12.50"``.  For screens, emails and CSV
    headers only (JSON keeps ``format_money``).  Takes a Decimal, an int or a plain
    numeric string, never a float; more than two places are rounded half up (a shown
    average), never truncated."""
    if isinstance(amount, (float, bool)):
        raise TypeError("money is shown from Decimal, int or str, never from float or bool")
    number = _to_decimal(amount, "amount")
    if not number.is_finite():
        raise _bad("amount", "must be a finite number")
    cents = number.quantize(CENT, rounding=ROUND_HALF_UP, context=_CONTEXT)
    code = currency.strip().upper()
    sign = CURRENCY_SIGNS.get(code)
    digits = format(abs(cents), ",.2f")
    shown = f"{sign}{digits}" if sign else f"{code} {digits}"
    return f"-{shown}" if cents < 0 else shown


def currency_sign(currency: str = "USD") -> str:
    """The sign of ``currency`` (``"$"``), or its code when it has none of ours."""
    code = currency.strip().upper()
    return CURRENCY_SIGNS.get(code, code)
