"""The ledger: the only way money moves.

``post`` appends one entry, idempotent on its key.  The provider row is locked
first, so posts for one provider are serialized; the database trigger on
``ledger_entries`` moves the cached balance in the same statement and refuses an
overdraft (but for a processor's reversal).  After every post the balance rules
run (auto-pause / resume, auto_deactivated <-> active), audited, in the same
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import Conflict, InvalidInput, NotFound
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.models import LedgerEntry, LedgerEntryRead, ProviderStatus, ServiceProvider
from hotlead_app.services import audit, outbox


@dataclass(frozen=True)
class Posted:
    entry: LedgerEntryRead
    created: bool
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Drift:
    provider_id: uuid.UUID
    name: str
    cached_balance: Decimal
    ledger_balance: Decimal


@contextmanager
def _maybe_uow(uow: UnitOfWork | None) -> Iterator[UnitOfWork]:
    if uow is not None:
        yield uow
    else:
        with unit_of_work() as own:
            yield own


def lock_provider(uow: UnitOfWork, provider_id: uuid.UUID) -> ServiceProvider:
    provider = uow.session.exec(
        select(ServiceProvider).where(ServiceProvider.id == provider_id).with_for_update()
    ).first()
    if provider is None:
        raise NotFound("No such provider.", details={"provider_id": str(provider_id)})
    uow.session.refresh(provider)
    return provider


def apply_balance_rules(uow: UnitOfWork, provider_id: uuid.UUID, direction: str = "both") -> list[dict[str, Any]]:
    """Run the database's balance rules for one provider (``decrease`` pauses,
    ``increase`` resumes, ``both`` reconciles); its email job is in the outbox."""
    result = uow.session.execute(
        text("SELECT hotlead_apply_balance_rules(:pid, :direction)"), {"pid": provider_id, "direction": direction}
    ).scalar_one()
    return list(result.get("changes") or [])


def post(
    *,
    provider_id: uuid.UUID,
    type: LedgerEntryType | str,
    amount: object,
    key: str,
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
    memo: str | None = None,
    reversal: bool = False,
    uow: UnitOfWork | None = None,
) -> Posted:
    """Append one entry.  The same ``key`` posted again returns the first entry."""
    entry_type = LedgerEntryType(type)
    value = money.to_amount(amount)
    if not key or len(key) > 255:
        raise InvalidInput("An idempotency key is required.", details={"key": "1 to 255 characters"})
    if reversal and entry_type is not LedgerEntryType.DEBIT:
        raise InvalidInput("Only a debit can be a reversal.", details={"type": entry_type.value})
    with _maybe_uow(uow) as work:
        provider = lock_provider(work, provider_id)
        existing = work.session.exec(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()
        if existing is not None:
            if (existing.provider_id, existing.type, existing.amount) != (provider_id, entry_type, value):
                raise Conflict(
                    "This idempotency key was already used for another entry.",
                    details={"key": key},
                )
            return Posted(LedgerEntryRead.model_validate(existing, from_attributes=True), created=False)
        # The trigger refuses overdrafts too; this gives the person a clear message first.
        money.new_balance(provider.balance, entry_type, value, allow_overdraft=reversal)
        entry = LedgerEntry(
            provider_id=provider_id,
            type=entry_type,
            amount=value,
            idempotency_key=key,
            related_entity_type=related_type,
            related_entity_id=related_id,
            memo=memo,
            is_reversal=reversal,
        )
        work.session.add(entry)
        work.session.flush()
        work.session.refresh(entry)
        changes = apply_balance_rules(work, provider_id, "increase" if money.sign(entry_type) > 0 else "decrease")
        if money.sign(entry_type) > 0:
            outbox.add(work, jobs.RETRY_WAITING)
        if entry_type is LedgerEntryType.DEPOSIT:
            outbox.add(work, jobs.EMAIL_DEPOSIT_RECEIVED, entry_id=str(entry.id))
        return Posted(LedgerEntryRead.model_validate(entry, from_attributes=True), created=True, changes=changes)


def reverse_deposit(
    *,
    provider_id: uuid.UUID,
    amount: object,
    key: str,
    memo: str | None = None,
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
    uow: UnitOfWork | None = None,
) -> Posted:
    """A payment processor took back a deposit (refund, dispute).  The debit is
    posted even when it overdraws; then the provider is set ``inactive`` with reason
    ``payment_reversed`` and admins are alerted.  In the caller's transaction when given."""
    value = money.to_amount(amount)
    with _maybe_uow(uow) as uow:
        provider = lock_provider(uow, provider_id)
        overdraws = provider.balance - value < 0
        already = uow.session.exec(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()
        if overdraws and already is None and provider.status != ProviderStatus.INACTIVE:
            before = audit.snapshot(provider)
            provider.status = ProviderStatus.INACTIVE
            provider.status_reason = "payment_reversed"
            uow.session.add(provider)
            uow.session.flush()
            audit.record(
                uow,
                actor=SYSTEM,
                entity_type="provider",
                entity_id=provider_id,
                action="deactivated_payment_reversed",
                before=before,
                after=audit.snapshot(provider),
            )
        posted = post(
            provider_id=provider_id,
            type=LedgerEntryType.DEBIT,
            amount=value,
            key=key,
            related_type=related_type,
            related_id=related_id,
            memo=memo,
            reversal=overdraws,
            uow=uow,
        )
        if posted.created and overdraws:
            outbox.add(
                uow,
                jobs.EMAIL_ADMIN_ALERT,
                subject="Payment reversed on a spent balance",
                provider_id=str(provider_id),
                amount=money.format_money(value),
                key=key,
            )
        return posted


def adjust(
    *, provider_id: uuid.UUID, type: str, amount: object, actor: Actor, memo: str | None = None, key: str | None = None
) -> Posted:
    """An admin's manual credit or debit; a debit larger than the balance is refused."""
    if type not in ("credit", "debit"):
        raise InvalidInput("An adjustment is a credit or a debit.", details={"type": "credit or debit"})
    with unit_of_work() as uow:
        adjustment_id = uuid.uuid4()
        posted = post(
            provider_id=provider_id,
            type=type,
            amount=amount,
            key=key or f"adjustment:{adjustment_id}",
            related_type="adjustment",
            related_id=adjustment_id,
            memo=memo,
            uow=uow,
        )
        if posted.created:
            audit.record(
                uow,
                actor=actor,
                entity_type="provider",
                entity_id=provider_id,
                action=f"balance_{type}",
                before=None,
                after={
                    "entry_id": str(posted.entry.id),
                    "amount": money.format_money(posted.entry.amount),
                    "balance_after": money.format_money(posted.entry.balance_after),
                },
                memo=memo,
            )
        return posted


def list_entries(
    *, provider_id: uuid.UUID | None = None, limit: int = 50, before_seq: object = None
) -> list[LedgerEntryRead]:
    """Newest first, keyset-paginated on ``seq`` (``before_seq`` from a client: checked)."""
    from hotlead_app.services.checks import seq_cursor

    before_seq = seq_cursor(before_seq)
    with unit_of_work() as uow:
        query = select(LedgerEntry).order_by(col(LedgerEntry.seq).desc()).limit(limit)
        if provider_id is not None:
            query = query.where(LedgerEntry.provider_id == provider_id)
        if before_seq is not None:
            query = query.where(col(LedgerEntry.seq) < before_seq)
        return [LedgerEntryRead.model_validate(e, from_attributes=True) for e in uow.session.exec(query)]


def balance_drift() -> list[Drift]:
    """Providers whose cached balance differs from the signed sum of their entries."""
    with unit_of_work() as uow:
        rows = uow.session.execute(
            text("SELECT provider_id, name, cached_balance, ledger_balance FROM balance_drift ORDER BY provider_id")
        ).all()
    return [Drift(r.provider_id, r.name, r.cached_balance, r.ledger_balance) for r in rows]
