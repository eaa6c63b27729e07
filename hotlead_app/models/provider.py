from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, jsonb, money, pg_enum, uuid_pk

#: The server default of ``time_zone`` (new providers take HOTLEAD_DEFAULT_TIME_ZONE).
DEFAULT_TIME_ZONE = "America/New_York"


class ProviderStatus(str, enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    AUTO_DEACTIVATED = "auto_deactivated"


class ServiceProvider(SQLModel, table=True):
    """A business that buys leads.  ``balance`` is a cache of the signed sum of its
    ledger entries, changed only by the ledger trigger in the same transaction."""

    __tablename__ = "service_providers"
    __table_args__ = (CheckConstraint("balance >= 0 OR status = 'inactive'", name="ck_providers_balance_not_negative"),)

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=200)
    email: str = Field(max_length=255)
    status: ProviderStatus = pg_enum(ProviderStatus, "provider_status", default=ProviderStatus.ACTIVE)
    # Why an admin or the platform set the status: e.g. payment_reversed, insufficient_balance.
    status_reason: str | None = Field(default=None, max_length=64)
    balance: Decimal = money(default=Decimal("0.00"))
    # Buyer controls (DOMAIN.md "Time zone, schedules, caps"): an IANA zone, and
    # {"day"|"week"|"month": "amount"} ceilings on what its assignments may charge.
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE, max_length=64, sa_column_kwargs={"server_default": DEFAULT_TIME_ZONE}
    )
    spend_caps: dict[str, str] = jsonb(default={}, server_default="'{}'::jsonb")
    created_at: datetime = created_at_column()


class ProviderRead(SQLModel):
    id: uuid.UUID
    name: str
    email: str
    status: ProviderStatus
    status_reason: str | None
    balance: Decimal
    time_zone: str = DEFAULT_TIME_ZONE
    spend_caps: dict[str, str] = {}
    created_at: datetime
