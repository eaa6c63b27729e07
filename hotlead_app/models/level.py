from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money, uuid_pk


class CompetitionLevel(SQLModel, table=True):
    __tablename__ = "competition_levels"
    __table_args__ = (
        CheckConstraint("price_per_lead > 0", name="ck_levels_price_positive"),
        CheckConstraint("max_providers >= 1", name="ck_levels_max_providers_positive"),
        Index("ix_levels_niche_order", "niche_id", "priority_order", "id"),
    )

    id: uuid.UUID = uuid_pk()
    niche_id: uuid.UUID = Field(foreign_key="niches.id", nullable=False)
    name: str = Field(max_length=200)
    price_per_lead: Decimal = money()
    max_providers: int
    priority_order: int
    active: bool = Field(default=True)
    created_at: datetime = created_at_column()


class CompetitionLevelRead(SQLModel):
    id: uuid.UUID
    niche_id: uuid.UUID
    name: str
    price_per_lead: Decimal
    max_providers: int
    priority_order: int
    active: bool
