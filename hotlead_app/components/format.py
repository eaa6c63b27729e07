"""How the pages show values: money, dates, statuses and labels, in one place.

Pages turn what the services return into strings for their state once, with these;
nothing here computes with money (amounts stay ``Decimal`` until they are shown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from hotlead_app.domain import forms
from hotlead_app.domain.money import currency_sign, show_money
from hotlead_app.domain.phones import display_phone, tel_href
from hotlead_app.settings import get_settings

#: What stands for a missing amount in a table.
NO_AMOUNT = "—"


# --------------------------------------------------------------------------- money


@cache
def currency() -> str:
    """The platform's currency code (settings ``deposit_currency``), read once."""
    return get_settings().currency


def money(amount: object) -> str:
    """Money as people read it, in the platform's currency: ``Decimal("1530")`` ->
    ``"$1,530.00"``, ``Decimal("-12.5")`` -> ``"-$12.50"``.  Takes a Decimal, an int or
    the plain strings the reads return (``"12.50"``), never a float."""
    return show_money(amount, currency())


def signed_money(amount: object) -> str:
    """A ledger movement: ``"+$12.50"`` in, ``"-$12.50"`` out (takes ``"+12.50"`` too)."""
    text = amount.strip() if isinstance(amount, str) else amount
    if isinstance(text, str) and text.startswith("+"):
        text = text[1:]
    shown = money(text)
    return shown if shown.startswith("-") or shown == money(0) else f"+{shown}"


def money_header(title: str) -> str:
    """A column of amounts in a CSV: ``"Amount"`` -> ``"Amount (USD)"``."""
    return f"{title} ({currency()})"


def money_sign() -> str:
    """``"$"``: the sign before an amount field."""
    return currency_sign(currency())


def money_or(amount: object | None, missing: str = NO_AMOUNT) -> str:
    """``money(amount)``, or ``missing`` when there is none."""
    return money(amount) if amount is not None else missing


# --------------------------------------------------------------------------- contact


def phone(value: str | None) -> str:
    """A stored phone (E.164) as people read it: ``"(404) 555-0101"`` for a US number,
    ``"+44 20 7946 0958"`` otherwise, ``""`` for none (:mod:`hotlead_app.domain.phones`)."""
    return display_phone(value)


def phone_href(value: str | None) -> str:
    """The ``tel:`` link of a stored phone, ``""`` for none."""
    return tel_href(value)


# --------------------------------------------------------------------------- dates


def when(value: str | datetime | None, *, seconds: bool = False) -> str:
    """A moment as stored (UTC), to the minute (``"2026-01-31 14:05"``) or to the
    second; ``""`` when there is none. Takes an ISO string or a datetime."""
    if not value:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else value
    return text[: 19 if seconds else 16].replace("T", " ")


def when_utc(value: str | datetime | None) -> str:
    """``when(value)`` followed by ``UTC``; ``""`` when there is none."""
    shown = when(value)
    return f"{shown} UTC" if shown else ""


# --------------------------------------------------------------------------- labels


def label(labels: Mapping[str, str], key: str) -> str:
    """The label of ``key`` in ``labels``, or the key itself."""
    return labels.get(key, key)


def answers(fields: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A lead's answers as ``(label, value)`` in the form's order, without the empty ones;
    answers the form no longer names follow, by key (``domain.forms.answers``)."""
    return forms.answers(fields, payload)


def answers_text(fields: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> str:
    """``answers`` on one line: ``"Label: value · Label: value"``."""
    return " · ".join(f"{label}: {value}" for label, value in answers(fields, payload))


def pairs(values: Mapping[str, Any]) -> str:
    """``"key: value · key: value"``, without the empty values."""
    return " · ".join(f"{k}: {v}" for k, v in values.items() if v not in (None, ""))


# --------------------------------------------------------------------------- statuses
#
# One table per family of statuses: each value's words and its badge colour (a Radix
# colour name, for ``rx.badge(color_scheme=...)``).  Every page shows statuses through
# these, never the stored key; ``status_word`` / ``status_color`` fall back to the key
# in words and gray for a value a table does not know yet.

#: A lead's status (``domain.leads.LeadStatus``).
LEAD_STATUS: dict[str, tuple[str, str]] = {
    "pending_confirmation": ("Waiting for the consumer's confirmation", "gray"),
    "pending_approval": ("Waiting for approval", "amber"),
    "approved": ("Approved: being offered", "blue"),
    "distributed": ("Delivered", "green"),
    "rejected": ("Rejected", "red"),
    "bad_lead": ("Bad lead: refunded", "purple"),
}

#: A provider account's status (``models.ProviderStatus``).
PROVIDER_STATUS: dict[str, tuple[str, str]] = {
    "active": ("Active", "green"),
    "auto_deactivated": ("Paused: balance too low", "orange"),
    "inactive": ("Switched off by an admin", "gray"),
}

#: A subscription: ``"active"``, or the reason it is paused (``models.PauseReason``).
SUBSCRIPTION_STATUS: dict[str, tuple[str, str]] = {
    "active": ("Active", "green"),
    "insufficient_balance": ("Paused: balance too low", "orange"),
    "paused_by_provider": ("Paused by the provider", "gray"),
    "cancelled": ("Cancelled", "gray"),
    "filter_not_allowed": ("Paused: a filter names a field filters may not use", "red"),
}

#: A return request's status.
RETURN_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("Waiting for a decision", "amber"),
    "approved": ("Approved: refunded", "green"),
    "denied": ("Denied", "red"),
}

#: A deposit's status (``models.payment.DEPOSIT_STATUSES``).
DEPOSIT_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("Waiting for payment", "amber"),
    "completed": ("Paid", "green"),
    "failed": ("Failed", "red"),
    "expired": ("Expired", "gray"),
}

#: Why a subscription did or did not receive a lead (``services.distribution.REASONS``,
#: the assignment decisions): the colour only; the words come with the explanation
#: (``reason_text`` of the admin's or the provider's read), which names fields and periods.
REASON_COLORS: dict[str, str] = {
    "chosen": "green",
    "already_received": "blue",
    "level_full": "amber",
    "insufficient_balance": "orange",
    "spend_cap_reached": "orange",
    "cap_reached": "orange",
    "filter_mismatch": "gray",
    "outside_schedule": "gray",
    "duplicate_consumer": "gray",
    "before_subscription": "gray",
    "not_subscribed": "gray",
    "subscription_paused": "gray",
    "provider_inactive": "red",
    "level_inactive": "red",
    "unexplained": "gray",
    "not_distributed": "amber",
}


def status_word(table: Mapping[str, tuple[str, str]], value: str | None) -> str:
    """The words for ``value`` in one of the tables above (the value itself if unknown)."""
    return table[value][0] if value is not None and value in table else (value or "")


def status_color(table: Mapping[str, tuple[str, str]], value: str | None) -> str:
    """The badge colour for ``value`` in one of the tables above (gray if unknown)."""
    return table[value][1] if value is not None and value in table else "gray"


def reason_color(reason: str | None) -> str:
    """The badge colour of a decision reason (``"filter_mismatch:bill"`` counts as
    ``filter_mismatch``)."""
    return REASON_COLORS.get((reason or "").partition(":")[0], "gray")


#: Lead statuses in charts (CSS colours of the same hues).
LEAD_STATUS_COLORS = {key: f"var(--{color}-9)" for key, (_words, color) in LEAD_STATUS.items()}

#: Provider statuses: the badge colour and the sentence on the provider's page.
PROVIDER_STATUS_COLORS = {key: color for key, (_words, color) in PROVIDER_STATUS.items()}
PROVIDER_STATUS_TEXT = {
    "active": "Active: receives the leads its subscriptions match.",
    "auto_deactivated": "Paused by the platform: the balance covers none of its subscriptions.",
    "inactive": "Switched off by an admin.",
}


def provider_status_color(status: str) -> str:
    return status_color(PROVIDER_STATUS, status)


#: Deposits: the payment methods and what each status means to the provider.
PAYMENT_METHOD_LABELS = {"stripe": "Card (Stripe)", "paypal": "PayPal"}
DEPOSIT_STATUS_TEXT = {
    "pending": "Waiting for the payment to be confirmed…",
    "completed": "Payment received: your balance is updated.",
    "failed": "This payment did not go through; nothing was added.",
    "expired": "This payment page expired before it was paid; nothing was charged.",
}

#: Ledger entry types as the provider reads them.
LEDGER_TYPE_TEXT = {"deposit": "Deposit", "charge": "Lead", "refund": "Refund", "credit": "Credit", "debit": "Debit"}


def duplicate_label(lead_id: str | None) -> str:
    """ "Possible duplicate of lead 1a2b3c4d" (an earlier lead of the same consumer)."""
    return f"Possible duplicate of lead {lead_id[:8]}" if lead_id else ""


# --------------------------------------------------------------------------- contact


# --------------------------------------------------------------------------- why not me


def filter_rule(label: str, rule: object) -> str:
    """A subscription's filter on one field as a person reads it: ``"Monthly bill ≥ 100"``,
    ``"Roof type is metal or tile"``, ``"ZIP within 25 miles of 10001"``."""
    if isinstance(rule, list):
        values = [str(v) for v in rule]
        shown = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]
        return f"{label} is {shown}"
    if isinstance(rule, Mapping):
        parts = []
        if "near" in rule and isinstance(rule["near"], Mapping):
            parts.append(f"within {rule['near'].get('miles')} miles of {rule['near'].get('zip')}")
        if "states" in rule and isinstance(rule["states"], list):
            parts.append("in " + ", ".join(str(s) for s in rule["states"]))
        low, high = rule.get("min"), rule.get("max")
        if low is not None and high is not None:
            parts.append(f"from {low} to {high}")
        elif low is not None:
            parts.append(f"≥ {low}")
        elif high is not None:
            parts.append(f"≤ {high}")
        return f"{label} " + " and ".join(parts)
    return f"{label} {rule}"


def why_not(reason: Mapping[str, Any]) -> str:
    """The sentence of one "why not me" reason (``services/reads/missed_leads``): a
    filter names the field by its label and shows both values ("Your filter: Monthly
    bill ≥ 100; this lead: 80."), a balance too low shows the balance and the price."""
    code = str(reason.get("reason", "")).partition(":")[0]
    if code == "filter_mismatch" and reason.get("field_label"):
        label = str(reason["field_label"])
        value = reason.get("value")
        theirs = f"this lead: {value}" if value is not None else f"this lead gave no {label}"
        if reason.get("rule") is None:
            return f"Your filter on {label} did not match ({theirs}); you have changed that filter since."
        return f"Your filter: {filter_rule(label, reason['rule'])}; {theirs}."
    if code == "insufficient_balance" and reason.get("balance") is not None and reason.get("price") is not None:
        return f"Your balance ({money(reason['balance'])}) is below this level's price ({money(reason['price'])})."
    return str(reason.get("text", ""))
