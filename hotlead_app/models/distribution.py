from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, jsonb, timestamp


class DistributionRecord(SQLModel, table=True):
    """The compact decision record of one lead's distribution.

    ``levels`` lists, in traversal order, each level with its price, its
    ``max_providers``, the chosen subscriptions in order and, when the level was
    filled, the fairness key of the last one chosen (the cutoff).  Its size grows
    with the number of levels and providers chosen, never with subscriptions.
    ``snapshot`` is the database snapshot the plan was made in (the engine plans in
    one REPEATABLE READ snapshot taken after the niche lock): the audit and ledger
    rows visible in it are the history the explanations read.  ``audit_seq`` /
    ``ledger_seq`` are the older, sequence-based watermarks (records without a snapshot).
    """

    __tablename__ = "distribution_records"

    lead_id: uuid.UUID = Field(foreign_key="leads.id", primary_key=True)
    niche_id: uuid.UUID = Field(foreign_key="niches.id", nullable=False)
    distribution_seq: int
    levels: list[dict[str, Any]] = jsonb(default=[])
    audit_seq: int = Field(default=0, sa_type=BigInteger)
    ledger_seq: int = Field(default=0, sa_type=BigInteger)
    # pg_current_snapshot() of the planning: history visible in it is "as of" the decision.
    snapshot: str | None = Field(default=None)
    decided_at: datetime = created_at_column()
    # The engine's "now" (hotlead_now(): the transaction timestamp, or the test clock):
    # the periods, windows and duplicate window of the buyer controls were read at it.
    clock_at: datetime | None = timestamp()


class DistributionAttempt(SQLModel, table=True):
    """The latest attempt to distribute a lead that nobody could take (the engine's
    ``no_eligible``): its plan (every level, none chosen) and the snapshot it read, so
    an approved lead's explanation says why each subscription could not take it then.
    One row per lead, replaced at each attempt (the retries run every minute); a
    distributed lead's decision is its ``distribution_records`` row."""

    __tablename__ = "distribution_attempts"

    lead_id: uuid.UUID = Field(foreign_key="leads.id", primary_key=True)
    niche_id: uuid.UUID = Field(foreign_key="niches.id", nullable=False)
    levels: list[dict[str, Any]] = jsonb(default=[])
    audit_seq: int = Field(default=0, sa_type=BigInteger)
    ledger_seq: int = Field(default=0, sa_type=BigInteger)
    snapshot: str | None = Field(default=None)
    #: How many attempts found nobody (this row is the latest).
    attempts: int = Field(default=1)
    attempted_at: datetime = created_at_column()
    # The engine's "now" at the attempt (hotlead_now()), as in distribution_records.
    clock_at: datetime | None = timestamp()
