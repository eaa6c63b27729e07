"""How the pages show values: money, dates, statuses and labels, in one place.

Pages turn what the services return into strings for their state once, with these;
nothing here computes with money (amounts stay ``Decimal`` until they are shown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hotlead_app.domain.money import format_money
from hotlead_app.domain.phones import display_phone, tel_href

#: What stands for a missing amount in a table.
NO_AMOUNT = "—"


# --------------------------------------------------------------------------- money


def money(amount: object) -> str:
    """Two places, no currency sign: ``Decimal("12.5")`` -> ``"12.50"``."""
    return format_money(amount)


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
    answers the form no longer names follow, by key (a field removed after the lead came)."""
    shown: list[tuple[str, str]] = []
    named: set[str] = set()
    for field in fields:
        name = str(field.get("name"))
        named.add(name)
        value = payload.get(name)
        if value not in (None, ""):
            shown.append((str(field.get("label") or name), str(value)))
    shown.extend(
        (key, str(payload[key])) for key in sorted(payload) if key not in named and payload[key] not in (None, "")
    )
    return shown


def answers_text(fields: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]) -> str:
    """``answers`` on one line: ``"Label: value · Label: value"``."""
    return " · ".join(f"{label}: {value}" for label, value in answers(fields, payload))


def pairs(values: Mapping[str, Any]) -> str:
    """``"key: value · key: value"``, without the empty values."""
    return " · ".join(f"{k}: {v}" for k, v in values.items() if v not in (None, ""))


# --------------------------------------------------------------------------- statuses

#: Lead statuses in charts.
LEAD_STATUS_COLORS = {
    "pending_confirmation": "var(--gray-8)",
    "pending_approval": "var(--amber-9)",
    "approved": "var(--blue-9)",
    "distributed": "var(--green-9)",
    "rejected": "var(--red-9)",
    "bad_lead": "var(--purple-9)",
}

#: Provider statuses: the badge colour and the sentence on the provider's page.
PROVIDER_STATUS_COLORS = {"active": "green", "auto_deactivated": "orange", "inactive": "gray"}
PROVIDER_STATUS_TEXT = {
    "active": "Active: receives the leads its subscriptions match.",
    "auto_deactivated": "Paused by the platform: the balance covers none of its subscriptions.",
    "inactive": "Switched off by an admin.",
}


def provider_status_color(status: str) -> str:
    return PROVIDER_STATUS_COLORS.get(status, "gray")


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
