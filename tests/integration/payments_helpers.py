"""Shared set-up for the payments tests: a provider that can sign in, and database reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts
from tests.factories import unique_email

PASSWORD = "correct horse battery"


@dataclass
class Payer:
    provider_id: uuid.UUID
    email: str
    headers: dict[str, str]


def payer(api: str, name: str = "Payer") -> Payer:
    email = unique_email("payer")
    provider = accounts.create_provider_account(name=name, email=email, password=PASSWORD, actor=admin())
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return Payer(provider.id, email, {"Authorization": f"Bearer {resp.json()['token']}"})


def rows(sql: str, **params) -> list:
    with unit_of_work() as uow:
        return list(uow.session.execute(text(sql), params).all())


def one(sql: str, **params):
    found = rows(sql, **params)
    assert len(found) == 1, found
    return found[0]


def ledger_of(provider_id: uuid.UUID) -> list:
    return rows(
        "SELECT type, amount, idempotency_key, balance_after, is_reversal FROM ledger_entries "
        "WHERE provider_id = :p ORDER BY seq",
        p=provider_id,
    )


def provider_row(provider_id: uuid.UUID):
    return one("SELECT status, status_reason, balance FROM service_providers WHERE id = :p", p=provider_id)


def deposit_row(deposit_id: str | uuid.UUID):
    return one(
        "SELECT status, amount, checkout_id, payment_id, ledger_entry_id, reversed_amount, failure_reason "
        "FROM deposits WHERE id = :d",
        d=uuid.UUID(str(deposit_id)),
    )


def age_deposit(deposit_id: str | uuid.UUID, minutes: int) -> None:
    """Move a deposit's creation ``minutes`` into the past (reconciliation waits before capturing)."""
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE deposits SET created_at = created_at - make_interval(mins => :m) WHERE id = :d"),
            {"m": minutes, "d": uuid.UUID(str(deposit_id))},
        )


def webhook_outcome(event_id: str):
    """(outcome, note) of a stored event; the note says what processing did."""
    return one("SELECT outcome, error FROM webhook_events WHERE event_id = :e", e=event_id)


def outbox_tasks(task: str) -> list:
    return rows("SELECT args FROM outbox WHERE task = :t ORDER BY created_at", t=task)


def money(value: str) -> Decimal:
    return Decimal(value)
