from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from hotlead_app.domain.returns import DEFAULT_RETURN_REASONS_SQL, default_return_reasons
from hotlead_app.models._types import created_at_column, jsonb, timestamp, uuid_pk


class NicheBase(SQLModel):
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class Niche(NicheBase, table=True):
    __tablename__ = "niches"

    id: uuid.UUID = uuid_pk()
    # The lead form: a list of {name, label, type, required, options}.
    fields: list[dict[str, Any]] = jsonb(default=[], server_default="'[]'::jsonb")
    # Number of this niche's leads that reached `distributed` (drives level rotation).
    distributed_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The latest last_received_at stamp given in this niche: stamps strictly increase.
    last_received_stamp: datetime | None = timestamp()
    # Returns (DOMAIN.md "Returns"): the window, the reason codes offered, the cap on a
    # provider's return rate and the rate below which a request is approved at once.
    return_window_hours: int = Field(default=72, sa_column_kwargs={"server_default": "72"})
    return_reasons: list[dict[str, Any]] = Field(
        default_factory=default_return_reasons,
        sa_column=Column(JSONB, nullable=False, server_default=text(DEFAULT_RETURN_REASONS_SQL)),
    )
    max_return_rate_percent: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    auto_approve_returns_below_percent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # "The same consumer twice": days an earlier sale of a consumer blocks another (0: off).
    duplicate_window_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    # Whether the form asks the consumer's name as required (it is always asked).
    name_required: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    created_at: datetime = created_at_column()


class NicheRead(NicheBase):
    id: uuid.UUID
    fields: list[dict[str, Any]]
    duplicate_window_days: int = 30
    name_required: bool = False
