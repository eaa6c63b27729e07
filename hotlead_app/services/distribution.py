"""The distribution engine's entry points and its explanations.

The algorithm of DOMAIN.md runs inside PostgreSQL (``hotlead_distribute_lead``, latest
in ``alembic/sql/0009_snapshot_up.sql``): one function call per lead, the whole lead in
one transaction, serialized per niche by an advisory lock, providers locked in id
order.  This module calls it, publishes its after-commit jobs, and answers "why did
or didn't subscription S receive lead L?" from the compact decision record and the
immutable history (audit rows, ledger balances, assignments).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from hotlead_app.db import get_engine, unit_of_work
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.fairness import fairness_key
from hotlead_app.domain.filters import first_mismatch
from hotlead_app.infra import metrics
from hotlead_app.infra.logging import bind
from hotlead_app.models import (
    CompetitionLevel,
    DistributionRecord,
    Lead,
    LeadAssignment,
    ProviderSubscription,
)
from hotlead_app.services import leads

log = logging.getLogger(__name__)

REASONS = (
    "chosen",
    "level_inactive",
    "not_subscribed",
    "subscription_paused",
    "provider_inactive",
    "filter_mismatch",
    "insufficient_balance",
    "already_received",
    "level_full",
)


@dataclass(frozen=True)
class DistributionResult:
    lead_id: uuid.UUID
    outcome: str  # distributed | no_eligible | not_approved | not_found
    distribution_seq: int | None = None
    assignments: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    niche_id: uuid.UUID | None = None


RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def distribute_lead(*, lead_id: uuid.UUID, attempts: int = 12) -> DistributionResult:
    """Distribute one approved lead, all or nothing.  Safe to call twice: a lead
    that is no longer ``approved`` is left alone.  A serialization failure or a
    deadlock with another niche's distribution (they may share providers) is retried
    after a short random pause."""
    started = time.perf_counter()
    for attempt in range(1, attempts + 1):
        try:
            result = _distribute_once(lead_id)
            _record(result, time.perf_counter() - started)
            return result
        except (DBAPIError, psycopg.Error) as exc:
            sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == attempts:
                raise
            log.info("distribution of lead %s hit %s; retrying (%d)", lead_id, sqlstate, attempt)
            # Another niche's distribution charged one of our providers: let it finish.
            time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
    raise AssertionError("unreachable")


def _record(result: DistributionResult, seconds: float) -> None:
    """Metrics and one log line for a committed distribution."""
    metrics.DISTRIBUTION_DURATION.observe(seconds)
    with bind(lead_id=result.lead_id):
        log.info(
            "distribution of lead: %s, %d assignment(s) in %.3f s", result.outcome, len(result.assignments), seconds
        )
    if result.outcome != "distributed":
        return
    for assignment in result.assignments:
        with bind(lead_id=result.lead_id, provider_id=assignment.get("provider_id")):
            log.info("lead assigned for %s", assignment.get("charged_amount"))
    niche = metrics.niche_label(result.niche_id)
    metrics.lead_transition(niche, "approved", "distributed")
    metrics.ASSIGNMENTS.labels(niche).inc(len(result.assignments))
    charged = sum((Decimal(str(a["charged_amount"])) for a in result.assignments), Decimal("0"))
    metrics.CHARGES_AMOUNT.inc(metrics.amount(charged))


def _distribute_once(lead_id: uuid.UUID) -> DistributionResult:
    """The niche's lock for the session, then the engine in one REPEATABLE READ
    transaction whose snapshot is taken after that lock: every query of the plan
    reads the same snapshot, which the decision record keeps for the explanations.
    A provider changed by another niche's distribution after that snapshot makes the
    charge fail with a serialization error, and the caller retries the whole lead."""
    with get_engine().connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None  # a live pooled connection
        raw.autocommit = True
        try:
            niche_id = raw.execute("SELECT hotlead_lock_niche_of(%s)", (lead_id,)).fetchone()[0]
            if niche_id is None:
                return DistributionResult(lead_id=lead_id, outcome="not_found")
            try:
                with raw.transaction():
                    raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    result = raw.execute("SELECT hotlead_distribute_lead(%s)", (lead_id,)).fetchone()[0]
            finally:
                raw.execute("SELECT hotlead_unlock_niche(%s)", (niche_id,))
        except BaseException:
            conn.invalidate()  # never hand a connection that may hold a lock back to the pool
            raise
        finally:
            if not raw.closed:
                raw.autocommit = False
    return DistributionResult(
        lead_id=lead_id,
        outcome=result["outcome"],
        distribution_seq=result.get("distribution_seq"),
        assignments=list(result.get("assignments") or []),
        changes=list(result.get("changes") or []),
        niche_id=niche_id,
    )


def retry_waiting(*, niche_id: uuid.UUID | None = None, limit: int = 500) -> dict[str, int]:
    """Try again every lead still ``approved``; one failure does not stop the run."""
    counts = {"distributed": 0, "waiting": 0, "failed": 0}
    for lead_id in leads.waiting_lead_ids(niche_id=niche_id, limit=limit):
        try:
            result = distribute_lead(lead_id=lead_id)
        except Exception:
            log.exception("distribution of lead %s failed", lead_id)
            counts["failed"] += 1
            continue
        counts["distributed" if result.outcome == "distributed" else "waiting"] += 1
    return counts


# --------------------------------------------------------------------------- explanations


@dataclass(frozen=True)
class Decision:
    subscription_id: uuid.UUID
    provider_id: uuid.UUID
    competition_level_id: uuid.UUID
    reason: str  # one of REASONS; filter_mismatch carries ":<field>"

    @property
    def chosen(self) -> bool:
        return self.reason == "chosen"


# What an explanation reads of the past is "as of" each lead's plan: visible in the
# plan's snapshot or, for records from before snapshots were kept, numbered up to its
# watermark.  Every read below takes rows of (lead, entity) and answers them all in one
# statement: a LATERAL index probe per row.
_AS_OF = "CASE WHEN r.snap IS NOT NULL THEN hotlead_visible({t}.txid, r.snap) ELSE {t}.seq <= r.seq END"


def _latest_as_of(
    session, wanted: list[tuple[uuid.UUID, uuid.UUID, int, str | None]], latest: str, **params: Any
) -> dict[tuple[uuid.UUID, uuid.UUID], Any]:
    """For each (lead, entity, seq, snapshot) row ``r``: the one value ``latest`` (a
    SELECT of ``value`` ... LIMIT 1 reading ``r``) finds, in one statement."""
    if not wanted:
        return {}
    leads_, entities, seqs, snaps = (list(col) for col in zip(*wanted, strict=True))
    rows = session.execute(
        text(f"""
        SELECT r.lead_id, r.entity_id, x.value
          FROM unnest(CAST(:leads AS uuid[]), CAST(:entities AS uuid[]), CAST(:seqs AS bigint[]),
                      CAST(:snaps AS text[])) AS r(lead_id, entity_id, seq, snap)
          CROSS JOIN LATERAL ({latest}) x
    """),
        {"leads": leads_, "entities": entities, "seqs": seqs, "snaps": snaps, **params},
    ).all()
    return {(row[0], row[1]): row[2] for row in rows}


def _states_as_of(
    session, entity_type: str, wanted: list[tuple[uuid.UUID, uuid.UUID, int, str | None]], *, key: str
) -> dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]:
    """For each (lead, entity, seq, snapshot): the entity's latest full state then.
    Only rows whose after-state carries ``key`` count: some audit rows of an entity
    record an event, not its state (an admin's ``balance_credit`` has no ``status``)."""
    return _latest_as_of(
        session,
        wanted,
        f"""
        SELECT al.after_state AS value FROM audit_logs al
         WHERE al.entity_type = :entity_type AND al.entity_id = r.entity_id
           AND {_AS_OF.format(t="al")} AND jsonb_exists(al.after_state, :key)
         ORDER BY al.seq DESC LIMIT 1""",
        entity_type=entity_type,
        key=key,
    )


def _balances_as_of(
    session,
    wanted: list[tuple[uuid.UUID, uuid.UUID, int, str | None]],
) -> dict[tuple[uuid.UUID, uuid.UUID], Decimal]:
    """For each (lead, provider, seq, snapshot): the balance after the provider's last
    ledger entry in force then."""
    return _latest_as_of(
        session,
        wanted,
        f"""
        SELECT le.balance_after AS value FROM ledger_entries le
         WHERE le.provider_id = r.entity_id AND {_AS_OF.format(t="le")}
         ORDER BY le.seq DESC LIMIT 1""",
    )


def _last_received_before(
    session,
    wanted: list[tuple[uuid.UUID, uuid.UUID, datetime]],
) -> dict[tuple[uuid.UUID, uuid.UUID], datetime | None]:
    """For each (lead, subscription, stamp): the subscription's last lead received
    before the stamp (its fairness stamp when the lead was planned)."""
    if not wanted:
        return {}
    leads_, subs, stamps = (list(col) for col in zip(*wanted, strict=True))
    rows = session.execute(
        text("""
        SELECT r.lead_id, r.sub_id, (SELECT max(la.received_at) FROM lead_assignments la
                                      WHERE la.subscription_id = r.sub_id AND la.received_at < r.stamp)
          FROM unnest(CAST(:leads AS uuid[]), CAST(:subs AS uuid[]), CAST(:stamps AS timestamptz[]))
               AS r(lead_id, sub_id, stamp)
    """),
        {"leads": leads_, "subs": subs, "stamps": stamps},
    ).all()
    return {(row[0], row[1]): row[2] for row in rows}


@dataclass(frozen=True)
class _History:
    """What the explanations need of the past, read once for every (lead, subscription)."""

    states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]
    provider_states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]
    balances: dict[tuple[uuid.UUID, uuid.UUID], Decimal]
    last_received: dict[tuple[uuid.UUID, uuid.UUID], datetime | None]
    level_created: dict[uuid.UUID, datetime]


def _parse_ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _explain_one(
    history: _History,
    record: DistributionRecord,
    lead: Lead,
    sub: ProviderSubscription,
    assignments: list[LeadAssignment],
) -> Decision:
    def decide(reason: str) -> Decision:
        return Decision(sub.id, sub.provider_id, sub.competition_level_id, reason)

    levels = record.levels
    index = next((i for i, lvl in enumerate(levels) if lvl["level_id"] == str(sub.competition_level_id)), None)
    if index is None:
        # Not in the plan: inactive then, or not created yet (then nothing on it existed).
        created = history.level_created.get(sub.competition_level_id)
        if created is not None and created > record.decided_at:
            return decide("not_subscribed")
        return decide("level_inactive")
    level = levels[index]
    if str(sub.id) in level["chosen"]:
        return decide("chosen")
    state = history.states.get((lead.id, sub.id))
    if state is None:
        return decide("not_subscribed")
    if not state.get("active"):
        return decide("subscription_paused")
    provider_state = history.provider_states.get((lead.id, sub.provider_id))
    if provider_state is None or provider_state.get("status") != "active":
        return decide("provider_inactive")
    mismatch = first_mismatch(state.get("filters") or {}, lead.payload)
    if mismatch is not None:
        return decide(f"filter_mismatch:{mismatch}")
    # The provider's balance after this lead's charges made before this level.
    level_position = {lvl["level_id"]: i for i, lvl in enumerate(levels)}
    earlier = [
        a
        for a in assignments
        if a.provider_id == sub.provider_id and level_position.get(str(a.competition_level_id), 99) <= index
    ]
    balance = history.balances.get((lead.id, sub.provider_id), Decimal("0.00")) - sum(
        (a.charged_amount for a in earlier), Decimal("0.00")
    )
    if balance < Decimal(level["price"]):
        return decide("insufficient_balance")
    if earlier:
        return decide("already_received")
    cutoff = level.get("cutoff")
    if cutoff is not None:
        last = history.last_received.get((lead.id, sub.id))
        mine = fairness_key(last, sub.created_at, sub.id)
        cutoff_created = _parse_ts(cutoff[1])
        assert cutoff_created is not None  # the engine records a chosen subscription's created_at
        theirs = fairness_key(_parse_ts(cutoff[0]), cutoff_created, uuid.UUID(cutoff[2]))
        if mine > theirs:
            return decide("level_full")
    return decide("unexplained")


def explain(
    *, lead_id: uuid.UUID, provider_id: uuid.UUID | None = None, subscription_ids: list[uuid.UUID] | None = None
) -> list[Decision]:
    """Why each subscription of the lead's niche (or of one provider) did or did not
    receive this lead, as things stood when it was distributed."""
    found = explain_many(lead_ids=[lead_id], provider_id=provider_id, subscription_ids=subscription_ids)
    if lead_id not in found:
        raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
    return found[lead_id]


def explain_many(
    *, lead_ids: list[uuid.UUID], provider_id: uuid.UUID | None = None, subscription_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[Decision]]:
    """``explain`` for several leads in a fixed number of statements (a page of missed
    leads): ``{lead_id: decisions}`` for each lead that exists (an empty list for a lead
    never distributed)."""
    with unit_of_work() as uow:
        session = uow.session
        leads_by_id = {lead.id: lead for lead in session.exec(select(Lead).where(col(Lead.id).in_(lead_ids))).all()}
        records = {
            r.lead_id: r
            for r in session.exec(
                select(DistributionRecord).where(col(DistributionRecord.lead_id).in_(list(leads_by_id)))
            ).all()
        }
        assignments: dict[uuid.UUID, list[LeadAssignment]] = {lead_id: [] for lead_id in records}
        for a in session.exec(
            select(LeadAssignment)
            .where(col(LeadAssignment.lead_id).in_(list(records)))
            .order_by(col(LeadAssignment.received_at))
        ).all():
            assignments[a.lead_id].append(a)
        niche_ids = {leads_by_id[lead_id].niche_id for lead_id in records}
        query = (
            select(ProviderSubscription, CompetitionLevel.niche_id, CompetitionLevel.created_at)
            .join(CompetitionLevel, col(CompetitionLevel.id) == col(ProviderSubscription.competition_level_id))
            .where(col(CompetitionLevel.niche_id).in_(list(niche_ids)))
            .order_by(col(ProviderSubscription.id))
        )
        if provider_id is not None:
            query = query.where(ProviderSubscription.provider_id == provider_id)
        if subscription_ids is not None:
            query = query.where(col(ProviderSubscription.id).in_(subscription_ids))
        subs_by_niche: dict[uuid.UUID, list[ProviderSubscription]] = {}
        level_created: dict[uuid.UUID, datetime] = {}
        for sub, niche_id, created_at in session.exec(query).all() if niche_ids else []:
            subs_by_niche.setdefault(niche_id, []).append(sub)
            level_created[sub.competition_level_id] = created_at

        sub_rows, provider_rows, balance_rows, stamp_rows = [], [], [], []
        for lead_id, record in records.items():
            subs = subs_by_niche.get(leads_by_id[lead_id].niche_id, [])
            first_stamp = assignments[lead_id][0].received_at if assignments[lead_id] else record.decided_at
            for sub in subs:
                sub_rows.append((lead_id, sub.id, record.audit_seq, record.snapshot))
                stamp_rows.append((lead_id, sub.id, first_stamp))
            for pid in sorted({sub.provider_id for sub in subs}):
                provider_rows.append((lead_id, pid, record.audit_seq, record.snapshot))
                balance_rows.append((lead_id, pid, record.ledger_seq, record.snapshot))
        history = _History(
            states=_states_as_of(session, "subscription", sub_rows, key="active"),
            provider_states=_states_as_of(session, "provider", provider_rows, key="status"),
            balances=_balances_as_of(session, balance_rows),
            last_received=_last_received_before(session, stamp_rows),
            level_created=level_created,
        )
        return {
            lead_id: [
                _explain_one(history, records[lead_id], lead, sub, assignments[lead_id])
                for sub in subs_by_niche.get(lead.niche_id, [])
            ]
            if lead_id in records
            else []
            for lead_id, lead in leads_by_id.items()
        }
