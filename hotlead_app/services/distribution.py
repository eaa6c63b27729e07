"""The distribution engine's entry points and its explanations.

The algorithm of DOMAIN.md runs inside PostgreSQL (``hotlead_distribute_lead``, latest
in ``alembic/sql/0009_snapshot_up.sql``): one function call per lead, the whole lead in
one transaction, serialized per niche by an advisory lock, providers locked in id
order.  This module calls it, publishes its after-commit jobs, and answers "why did
or didn't subscription S receive lead L?" from the compact decision record and the
immutable history (audit rows, ledger balances, assignments).
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from hotlead_app.db import get_engine, unit_of_work
from hotlead_app.domain.controls import PERIODS, period_bounds, schedule_open
from hotlead_app.domain.errors import NotFound
from hotlead_app.domain.fairness import fairness_key
from hotlead_app.domain.filters import first_mismatch
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.infra import metrics
from hotlead_app.infra.logging import bind
from hotlead_app.models import (
    CompetitionLevel,
    DistributionAttempt,
    DistributionRecord,
    Lead,
    LeadAssignment,
    ProviderSubscription,
)
from hotlead_app.models.provider import DEFAULT_TIME_ZONE
from hotlead_app.services import leads

#: A niche's window when no audited state of it carries one (the column's default).
DEFAULT_DUPLICATE_WINDOW_DAYS = 30

log = logging.getLogger(__name__)

REASONS = (
    "chosen",
    "level_inactive",
    "not_subscribed",
    "subscription_paused",
    "provider_inactive",
    "before_subscription",
    "filter_mismatch",
    "outside_schedule",
    "cap_reached",
    "spend_cap_reached",
    "duplicate_consumer",
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

#: Tests only: the instant the engine takes as "now" (SQL setting hotlead.now, read by
#: hotlead_now()) instead of the transaction's timestamp; None in production.
_frozen_now: datetime | None = None


def freeze_clock(now: datetime | None) -> None:
    """Tests only: make the engine's "now" ``now`` (timezone-aware), or real again
    with ``None``; periods, windows and DST changes are then tested without sleeping."""
    global _frozen_now
    if now is not None and now.tzinfo is None:
        raise ValueError("the frozen clock needs a timezone-aware instant")
    _frozen_now = now


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
                    if _frozen_now is not None:
                        raw.execute("SELECT set_config('hotlead.now', %s, true)", (_frozen_now.isoformat(),))
                    result = raw.execute("SELECT hotlead_distribute_lead(%s)", (lead_id,)).fetchone()[0]
                    if result["outcome"] == "no_eligible":
                        _keep_attempt(raw, lead_id, niche_id, result.get("levels") or [])
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


#: The latest attempt nobody could take: its plan, read in the snapshot of the plan
#: (the same REPEATABLE READ transaction), kept for the explanation of an approved lead.
KEEP_ATTEMPT = """
INSERT INTO distribution_attempts AS a
       (lead_id, niche_id, levels, audit_seq, ledger_seq, snapshot, attempts, attempted_at, clock_at)
VALUES (%(lead_id)s, %(niche_id)s, %(levels)s::jsonb,
        (SELECT coalesce(max(seq), 0) FROM audit_logs), (SELECT coalesce(max(seq), 0) FROM ledger_entries),
        pg_current_snapshot()::text, 1, now(), hotlead_now())
ON CONFLICT (lead_id) DO UPDATE
   SET levels = EXCLUDED.levels, audit_seq = EXCLUDED.audit_seq, ledger_seq = EXCLUDED.ledger_seq,
       snapshot = EXCLUDED.snapshot, attempts = a.attempts + 1, attempted_at = EXCLUDED.attempted_at,
       clock_at = EXCLUDED.clock_at
"""


def _keep_attempt(raw, lead_id: uuid.UUID, niche_id: uuid.UUID, levels: list[dict[str, Any]]) -> None:
    raw.execute(KEEP_ATTEMPT, {"lead_id": lead_id, "niche_id": niche_id, "levels": json.dumps(levels)})


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
    reason: str  # one of REASONS; filter_mismatch carries ":<field>", the caps ":<period>"

    @property
    def chosen(self) -> bool:
        return self.reason == "chosen"


# What an explanation reads of the past is "as of" each lead's plan: visible in the
# plan's snapshot or, for records from before snapshots were kept, numbered up to its
# watermark.  Every read below takes rows of (lead, entity, ...) as ONE jsonb document
# (``jsonb_to_recordset``: one parameter, whatever the number of subscriptions, instead
# of one array per column that the driver would dump element by element) and answers
# them all in one statement: one LATERAL index probe per row.
_AS_OF = "CASE WHEN r.snap IS NOT NULL THEN hotlead_visible({t}.txid, r.snap) ELSE {t}.seq <= r.seq END"


def _rows_param(rows: list[dict[str, Any]]) -> str:
    """The rows of a probe as one jsonb parameter (ids and instants as text)."""
    return json.dumps(rows, default=str, separators=(",", ":"))


def _latest_as_of(
    session, wanted: list[tuple[uuid.UUID, uuid.UUID, int, str | None]], latest: str, **params: Any
) -> dict[tuple[uuid.UUID, uuid.UUID], Any]:
    """For each (lead, entity, seq, snapshot) row ``r``: the one value ``latest`` (a
    SELECT of ``value`` ... LIMIT 1 reading ``r``) finds, in one statement."""
    if not wanted:
        return {}
    rows = session.execute(
        text(f"""
        SELECT r.lead_id, r.entity_id, x.value
          FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(lead_id uuid, entity_id uuid, seq bigint, snap text)
          CROSS JOIN LATERAL ({latest}) x
    """),
        {
            "rows": _rows_param([{"lead_id": w[0], "entity_id": w[1], "seq": w[2], "snap": w[3]} for w in wanted]),
            **params,
        },
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
    rows = session.execute(
        text("""
        SELECT r.lead_id, r.sub_id, (SELECT max(la.received_at) FROM lead_assignments la
                                      WHERE la.subscription_id = r.sub_id AND la.received_at < r.stamp)
          FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(lead_id uuid, sub_id uuid, stamp timestamptz)
    """),
        {"rows": _rows_param([{"lead_id": w[0], "sub_id": w[1], "stamp": w[2]} for w in wanted])},
    ).all()
    return {(row[0], row[1]): row[2] for row in rows}


@dataclass(frozen=True)
class _PeriodProbe:
    """One row of a per-period probe: whose history (``lead_id`` and a subscription
    or provider ``entity_id``), the periods to answer, each period's [start, end) in
    the provider's zone, and the row's own visibility bound (``stamp`` or ``snap``)."""

    lead_id: uuid.UUID
    entity_id: uuid.UUID
    bounds: dict[str, tuple[datetime, datetime]]
    stamp: datetime | None = None
    snap: str | None = None

    def as_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "lead_id": self.lead_id,
            "entity_id": self.entity_id,
            "since": min(start for start, _ in self.bounds.values()),
            "until": max(end for _, end in self.bounds.values()),
            "stamp": self.stamp,
            "snap": self.snap,
        }
        for period, (start, end) in self.bounds.items():
            row[f"{period}_start"], row[f"{period}_end"] = start, end
        return row


#: The columns every per-period probe reads its rows into.
_PERIOD_COLUMNS = (
    "lead_id uuid, entity_id uuid, since timestamptz, until timestamptz, stamp timestamptz, snap text, "
    + ", ".join(f"{p}_start timestamptz, {p}_end timestamptz" for p in PERIODS)
)


def _per_period(session, probes: list[_PeriodProbe], aggregate: str, source: str) -> list[Any]:
    """One statement for all ``probes``: for each, ONE index range scan of ``source``
    (rows ``x`` of the entity in [since, until), the union of its periods) folded into
    one ``aggregate`` per period (its ``{filter}``: ``x.at`` within the period); a period the probe does not
    ask for has null bounds (and its answer is ignored)."""
    if not probes:
        return []
    per_period = ", ".join(
        aggregate.format(filter=f"FILTER (WHERE x.at >= r.{p}_start AND x.at < r.{p}_end)") + f" AS {p}"
        for p in PERIODS
    )
    return list(
        session.execute(
            text(f"""
        SELECT r.lead_id, r.entity_id, {", ".join(f"c.{p}" for p in PERIODS)}
          FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_PERIOD_COLUMNS})
          CROSS JOIN LATERAL (SELECT {per_period} FROM ({source}) x) c
    """),
            {"rows": _rows_param([probe.as_row() for probe in probes])},
        ).all()
    )


def _counts_before(session, probes: list[_PeriodProbe]) -> dict[tuple[uuid.UUID, uuid.UUID, str], int]:
    """For each probe (lead, subscription, periods, stamp): the subscription's
    assignments made in each period before the lead's own (received before its first
    stamp; a niche's distributions are serialized, so that is "before this lead"),
    from ``ix_assignments_subscription_assigned``."""
    rows = _per_period(
        session,
        probes,
        "count(*) {filter}",
        """SELECT la.assigned_at AS at FROM lead_assignments la
            WHERE la.subscription_id = r.entity_id AND la.assigned_at >= r.since AND la.assigned_at < r.until
              AND la.received_at < r.stamp""",
    )
    wanted = {(p.lead_id, p.entity_id): p.bounds for p in probes}
    return {
        (row[0], row[1], period): int(row[2 + i])
        for row in rows
        for i, period in enumerate(PERIODS)
        if period in wanted[(row[0], row[1])]
    }


def _spent_as_of(session, probes: list[_PeriodProbe]) -> dict[tuple[uuid.UUID, uuid.UUID, str], Decimal]:
    """For each probe (lead, provider, periods, snapshot): what the provider's charges
    made in each period and visible in the lead's plan snapshot add up to (every
    assignment has one charge entry, stamped with the engine's now), from
    ``ix_ledger_provider_created``."""
    rows = _per_period(
        session,
        probes,
        "coalesce(sum(x.amount) {filter}, 0)",
        """SELECT le.created_at AS at, le.amount FROM ledger_entries le
            WHERE le.provider_id = r.entity_id AND le.type = 'charge'
              AND le.created_at >= r.since AND le.created_at < r.until AND hotlead_visible(le.txid, r.snap)""",
    )
    wanted = {(p.lead_id, p.entity_id): p.bounds for p in probes}
    return {
        (row[0], row[1], period): Decimal(row[2 + i])
        for row in rows
        for i, period in enumerate(PERIODS)
        if period in wanted[(row[0], row[1])]
    }


def _duplicates_before(
    session, wanted: list[tuple[uuid.UUID, uuid.UUID, datetime, datetime]]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The (lead, provider) rows, given (lead, provider, window start, stamp), whose
    provider had received before the lead's first stamp an assignment made after the
    window start of another lead of the same niche and consumer (email or phone)."""
    if not wanted:
        return set()
    rows = session.execute(
        text("""
        SELECT r.lead_id, r.pid
          FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(lead_id uuid, pid uuid, since timestamptz, stamp timestamptz)
          JOIN leads l ON l.id = r.lead_id
         WHERE EXISTS (
           SELECT 1 FROM leads l2 JOIN lead_assignments a ON a.lead_id = l2.id AND a.provider_id = r.pid
            WHERE l2.niche_id = l.niche_id AND l2.id <> l.id
              AND (l2.consumer_email = l.consumer_email OR l2.consumer_phone_e164 = l.consumer_phone_e164)
              AND a.assigned_at > r.since AND a.received_at < r.stamp)
    """),
        {"rows": _rows_param([{"lead_id": w[0], "pid": w[1], "since": w[2], "stamp": w[3]} for w in wanted])},
    ).all()
    return {(row[0], row[1]) for row in rows}


@dataclass(frozen=True)
class _Sub:
    """What an explanation needs of a subscription's row (the rest is its audited state)."""

    id: uuid.UUID
    provider_id: uuid.UUID
    competition_level_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class _Controls:
    """What the buyer controls' reasons read of the past (empty for decisions made
    before the engine kept its clock: no controls existed then)."""

    provider_settings: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = field(default_factory=dict)
    cap_counts: dict[tuple[uuid.UUID, uuid.UUID, str], int] = field(default_factory=dict)
    spent: dict[tuple[uuid.UUID, uuid.UUID, str], Decimal] = field(default_factory=dict)
    duplicates: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)


@dataclass(frozen=True)
class _History:
    """What the explanations need of the past, read once for every (lead, subscription)."""

    states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]
    provider_states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]]
    balances: dict[tuple[uuid.UUID, uuid.UUID], Decimal]
    last_received: dict[tuple[uuid.UUID, uuid.UUID], datetime | None]
    level_created: dict[uuid.UUID, datetime]
    controls: _Controls = field(default_factory=_Controls)


def _zone_of(settings_: dict[str, Any] | None) -> str:
    zone = (settings_ or {}).get("time_zone")
    return zone if isinstance(zone, str) and zone else DEFAULT_TIME_ZONE


def _spend_caps_of(settings_: dict[str, Any] | None) -> dict[str, str]:
    caps = (settings_ or {}).get("spend_caps")
    return caps if isinstance(caps, dict) else {}


def _parse_ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _attempt_record(attempt: DistributionAttempt) -> DistributionRecord:
    """An attempt that found nobody, as the decision record the explanations read
    (a plan with nobody chosen; never stored)."""
    return DistributionRecord(
        lead_id=attempt.lead_id,
        niche_id=attempt.niche_id,
        distribution_seq=0,
        levels=attempt.levels,
        audit_seq=attempt.audit_seq,
        ledger_seq=attempt.ledger_seq,
        snapshot=attempt.snapshot,
        decided_at=attempt.attempted_at,
        clock_at=attempt.clock_at,
    )


def _explain_one(
    history: _History,
    record: DistributionRecord,
    lead: Lead,
    sub: _Sub,
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
    now = record.clock_at
    leads_from = _parse_ts(state.get("leads_from"))
    approved = lead.approved_at or lead.created_at
    if now is not None and leads_from is not None and approved < leads_from:
        return decide("before_subscription")
    mismatch = first_mismatch(state.get("filters") or {}, lead.payload)
    if mismatch is not None:
        return decide(f"filter_mismatch:{mismatch}")
    # The provider's charges for this lead made before this level.
    level_position = {lvl["level_id"]: i for i, lvl in enumerate(levels)}
    earlier = [
        a
        for a in assignments
        if a.provider_id == sub.provider_id and level_position.get(str(a.competition_level_id), 99) <= index
    ]
    price = Decimal(level["price"])
    if now is not None:
        settings_ = history.controls.provider_settings.get((lead.id, sub.provider_id))
        zone = _zone_of(settings_)
        if not schedule_open(state.get("schedule"), now.astimezone(ZoneInfo(zone))):
            return decide("outside_schedule")
        caps = state.get("caps") or {}
        for period in PERIODS:
            if period in caps and history.controls.cap_counts.get((lead.id, sub.id, period), 0) >= int(caps[period]):
                return decide(f"cap_reached:{period}")
        spend_caps = _spend_caps_of(settings_)
        this_lead = sum((a.charged_amount for a in earlier), Decimal("0.00"))
        for period in PERIODS:
            if period in spend_caps:
                spent = history.controls.spent.get((lead.id, sub.provider_id, period), Decimal("0.00"))
                if spent + this_lead + price > Decimal(spend_caps[period]):
                    return decide(f"spend_cap_reached:{period}")
        if (lead.id, sub.provider_id) in history.controls.duplicates:
            return decide("duplicate_consumer")
    balance = history.balances.get((lead.id, sub.provider_id), Decimal("0.00")) - sum(
        (a.charged_amount for a in earlier), Decimal("0.00")
    )
    if balance < price:
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


def _read_controls(
    session,
    records: dict[uuid.UUID, DistributionRecord],
    leads_by_id: dict[uuid.UUID, Lead],
    subs_by_niche: dict[uuid.UUID, list[_Sub]],
    assignments: dict[uuid.UUID, list[LeadAssignment]],
    states: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]],
    provider_rows: list[tuple[uuid.UUID, uuid.UUID, int, str | None]],
) -> _Controls:
    """The buyer controls' history for every (lead, subscription), in a fixed number
    of statements: the providers' zone and spend caps in force (their latest audited
    state carrying ``time_zone``), the subscriptions' assignments per capped period,
    the providers' charges per spend-capped period, and the duplicate consumers."""
    timed = {lead_id for lead_id, r in records.items() if r.clock_at is not None}
    if not timed:
        return _Controls()
    settings_rows = [row for row in provider_rows if row[0] in timed]
    provider_settings = _states_as_of(session, "provider", settings_rows, key="time_zone")
    niche_rows = [
        (lead_id, leads_by_id[lead_id].niche_id, records[lead_id].audit_seq, records[lead_id].snapshot)
        for lead_id in timed
    ]
    niche_states = _states_as_of(session, "niche", niche_rows, key="duplicate_window_days")
    bounds_cache: dict[tuple[datetime, str, str], tuple[datetime, datetime]] = {}

    def bounds(now: datetime, zone: str, periods: list[str]) -> dict[str, tuple[datetime, datetime]]:
        found = {}
        for period in periods:
            key = (now, zone, period)
            if key not in bounds_cache:
                bounds_cache[key] = period_bounds(now, zone, period)
            found[period] = bounds_cache[key]
        return found

    count_probes: list[_PeriodProbe] = []
    spend_probes: list[_PeriodProbe] = []
    dup_rows = []
    for lead_id in timed:
        record, lead = records[lead_id], leads_by_id[lead_id]
        now = record.clock_at
        assert now is not None
        first_stamp = assignments[lead_id][0].received_at if assignments[lead_id] else now + timedelta(days=36500)
        subs = subs_by_niche.get(lead.niche_id, [])
        for sub in subs:
            caps = (states.get((lead_id, sub.id)) or {}).get("caps") or {}
            periods = [period for period in PERIODS if period in caps]
            if periods:
                zone = _zone_of(provider_settings.get((lead_id, sub.provider_id)))
                count_probes.append(_PeriodProbe(lead_id, sub.id, bounds(now, zone, periods), stamp=first_stamp))
        for pid in sorted({sub.provider_id for sub in subs}):
            settings_ = provider_settings.get((lead_id, pid))
            spend_caps = _spend_caps_of(settings_)
            periods = [period for period in PERIODS if period in spend_caps]
            if periods and record.snapshot is not None:
                zone = _zone_of(settings_)
                spend_probes.append(_PeriodProbe(lead_id, pid, bounds(now, zone, periods), snap=record.snapshot))
            niche_state = niche_states.get((lead_id, lead.niche_id)) or {}
            window = int(niche_state.get("duplicate_window_days", DEFAULT_DUPLICATE_WINDOW_DAYS))
            if window > 0 and (lead.consumer_email is not None or lead.consumer_phone_e164 is not None):
                dup_rows.append((lead_id, pid, now - timedelta(days=window), first_stamp))
    return _Controls(
        provider_settings=provider_settings,
        cap_counts=_counts_before(session, count_probes),
        spent=_spent_as_of(session, spend_probes),
        duplicates=_duplicates_before(session, dup_rows),
    )


def explain(
    *, lead_id: uuid.UUID, provider_id: uuid.UUID | None = None, subscription_ids: list[uuid.UUID] | None = None
) -> list[Decision]:
    """Why each subscription of the lead's niche (or of one provider) did or did not
    receive this lead, as things stood when it was distributed; for a lead still
    ``approved``, as things stood at its latest attempt (empty before any)."""
    found = explain_many(lead_ids=[lead_id], provider_id=provider_id, subscription_ids=subscription_ids)
    if lead_id not in found:
        raise NotFound("No such lead.", details={"lead_id": str(lead_id)})
    return found[lead_id]


def explain_many(
    *, lead_ids: list[uuid.UUID], provider_id: uuid.UUID | None = None, subscription_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[Decision]]:
    """``explain`` for several leads in a fixed number of statements (a page of missed
    leads): ``{lead_id: decisions}`` for each lead that exists (for an approved lead, at
    its latest attempt; an empty list for a lead never attempted)."""
    with unit_of_work() as uow:
        session = uow.session
        leads_by_id = {lead.id: lead for lead in session.exec(select(Lead).where(col(Lead.id).in_(lead_ids))).all()}
        records = {
            r.lead_id: r
            for r in session.exec(
                select(DistributionRecord).where(col(DistributionRecord.lead_id).in_(list(leads_by_id)))
            ).all()
        }
        # An approved lead nobody could take yet: its latest attempt stands for the record.
        waiting = [i for i, lead in leads_by_id.items() if i not in records and lead.status == LeadStatus.APPROVED]
        for attempt in (
            session.exec(select(DistributionAttempt).where(col(DistributionAttempt.lead_id).in_(waiting))).all()
            if waiting
            else []
        ):
            records[attempt.lead_id] = _attempt_record(attempt)
        assignments: dict[uuid.UUID, list[LeadAssignment]] = {lead_id: [] for lead_id in records}
        for a in session.exec(
            select(LeadAssignment)
            .where(col(LeadAssignment.lead_id).in_(list(records)))
            .order_by(col(LeadAssignment.received_at))
        ).all():
            assignments[a.lead_id].append(a)
        niche_ids = {leads_by_id[lead_id].niche_id for lead_id in records}
        # Only the columns an explanation reads: what a subscription was then comes
        # from its audited state, so its JSON columns are never decoded here.
        query = (
            sa_select(
                col(ProviderSubscription.id),
                col(ProviderSubscription.provider_id),
                col(ProviderSubscription.competition_level_id),
                col(ProviderSubscription.created_at),
                col(CompetitionLevel.niche_id),
                col(CompetitionLevel.created_at),
            )
            .join(CompetitionLevel, col(CompetitionLevel.id) == col(ProviderSubscription.competition_level_id))
            .where(col(CompetitionLevel.niche_id).in_(list(niche_ids)))
            .order_by(col(ProviderSubscription.id))
        )
        if provider_id is not None:
            query = query.where(col(ProviderSubscription.provider_id) == provider_id)
        if subscription_ids is not None:
            query = query.where(col(ProviderSubscription.id).in_(subscription_ids))
        subs_by_niche: dict[uuid.UUID, list[_Sub]] = {}
        level_created: dict[uuid.UUID, datetime] = {}
        for sub_id, pid, level_id, sub_created, niche_id, created_at in (
            session.execute(query).all() if niche_ids else []
        ):
            subs_by_niche.setdefault(niche_id, []).append(_Sub(sub_id, pid, level_id, sub_created))
            level_created[level_id] = created_at

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
        states = _states_as_of(session, "subscription", sub_rows, key="active")
        history = _History(
            states=states,
            provider_states=_states_as_of(session, "provider", provider_rows, key="status"),
            balances=_balances_as_of(session, balance_rows),
            last_received=_last_received_before(session, stamp_rows),
            level_created=level_created,
            controls=_read_controls(session, records, leads_by_id, subs_by_niche, assignments, states, provider_rows),
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
