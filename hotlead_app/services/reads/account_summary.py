"""A provider's account at a glance: balance, status and why, leads received this
week and month, paused subscriptions and the net spend per day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import func
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.models import LeadAssignment, LedgerEntry, PauseReason, ProviderSubscription, ServiceProvider
from hotlead_app.models._types import utcnow
from hotlead_app.services.reads._access import own_provider

STATUS_TEXT = {
    "active": "Active: you receive the leads your subscriptions match.",
    "auto_deactivated": "Paused automatically: your balance covers none of your subscriptions' prices. "
    "Add funds and they resume by themselves.",
    "inactive": "Switched off by an admin.",
}
INACTIVE_REASON_TEXT = {
    "payment_reversed": "A payment was taken back by the payment processor after it was spent; "
    "add funds to bring the balance back to zero, then contact support.",
    "admin": "Contact support to be switched on again.",
}


class DaySpend(TypedDict):
    day: str
    spend: str


class AccountSummary(TypedDict):
    id: str
    name: str
    balance: str
    status: str
    status_reason: str | None
    status_text: str
    needs_funds: bool
    leads_this_week: int
    leads_this_month: int
    active_subscriptions: int
    paused_subscriptions: int
    spend_per_day: list[DaySpend]


def account_summary(actor: Actor, *, days: int = 30, now: datetime | None = None) -> AccountSummary:
    """Balance, status and why, leads received this week (since Monday, UTC) and this
    month, paused subscriptions, and the net spend per day for the last ``days`` days."""
    provider_id = own_provider(actor)
    now = now or utcnow()
    today = now.date()
    week_start = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), now.tzinfo)
    month_start = datetime.combine(today.replace(day=1), datetime.min.time(), now.tzinfo)
    first_day = today - timedelta(days=days - 1)
    with unit_of_work() as uow:
        provider = uow.session.get(ServiceProvider, provider_id)
        if provider is None:
            raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
        week, month = uow.session.execute(
            select(
                func.count().filter(col(LeadAssignment.assigned_at) >= week_start),
                func.count().filter(col(LeadAssignment.assigned_at) >= month_start),
            ).where(
                LeadAssignment.provider_id == provider_id, LeadAssignment.assigned_at >= min(week_start, month_start)
            )
        ).one()
        day = func.date(LedgerEntry.created_at)
        per_day = uow.session.execute(
            select(day, LedgerEntry.type, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.provider_id == provider_id,
                col(LedgerEntry.type).in_([LedgerEntryType.CHARGE, LedgerEntryType.REFUND]),
                LedgerEntry.created_at >= datetime.combine(first_day, datetime.min.time(), now.tzinfo),
            )
            .group_by(day, LedgerEntry.type)
        ).all()
        paused = uow.session.execute(
            select(ProviderSubscription.pause_reason, func.count())
            .where(ProviderSubscription.provider_id == provider_id, col(ProviderSubscription.cancelled_at).is_(None))
            .group_by(ProviderSubscription.pause_reason)
        ).all()
    spend: dict[date, Decimal] = {}
    for when, entry_type, total in per_day:
        signed = total if entry_type == LedgerEntryType.CHARGE else -total
        spend[when] = spend.get(when, Decimal("0.00")) + signed
    counts = dict(paused)
    status = provider.status.value
    why = STATUS_TEXT.get(status, status)
    if status == "inactive" and provider.status_reason in INACTIVE_REASON_TEXT:
        why = f"{why} {INACTIVE_REASON_TEXT[provider.status_reason]}"
    low_balance = counts.get("insufficient_balance", 0)
    if status == "active" and low_balance:
        why = (
            f"{why} {low_balance} subscription(s) paused because the balance is below their price: "
            "add funds to resume them."
        )
    refused = counts.get(PauseReason.FILTER_NOT_ALLOWED, 0)
    if refused:
        why = (
            f"{why} {refused} subscription(s) paused because their filters name a field filters may not use: "
            "edit their filters, then resume them."
        )
    return {
        "id": str(provider.id),
        "name": provider.name,
        "balance": money.format_money(provider.balance),
        "status": status,
        "status_reason": provider.status_reason,
        "status_text": why,
        "needs_funds": status == "auto_deactivated"
        or low_balance > 0
        or provider.balance <= 0
        or provider.status_reason == "payment_reversed",
        "leads_this_week": week,
        "leads_this_month": month,
        "active_subscriptions": counts.get(None, 0),
        "paused_subscriptions": sum(n for reason, n in counts.items() if reason is not None),
        "spend_per_day": [
            {
                "day": (first_day + timedelta(days=i)).isoformat(),
                "spend": money.format_money(spend.get(first_day + timedelta(days=i), Decimal("0.00"))),
            }
            for i in range(days)
        ],
    }
