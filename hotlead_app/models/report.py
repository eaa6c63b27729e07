from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column


class LedgerDailyTotal(SQLModel, table=True):
    """A roll-up of one closed UTC day of the ledger, per entry type, for the admin
    overview's money charts.  The ledger is append-only, so a closed day's totals can
    never change: a row is written once (when a report or the nightly job first needs
    the day) and only read afterwards.  Days with no entries get a zero row, so
    "computed" and "nothing happened" are told apart."""

    __tablename__ = "ledger_daily_totals"
    __table_args__ = (CheckConstraint("entries >= 0", name="ck_ledger_daily_entries"),)

    day: date = Field(primary_key=True)
    type: str = Field(primary_key=True, max_length=32)
    total: Decimal = Field(sa_column=Column(Numeric(14, 2, asdecimal=True), nullable=False))
    entries: int = Field(nullable=False)
    computed_at: datetime = created_at_column()
