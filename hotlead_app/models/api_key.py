from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, timestamp, uuid_pk


class ApiKey(SQLModel, table=True):
    """A provider's key for the API: shown once, stored as its SHA-256."""

    __tablename__ = "api_keys"

    id: uuid.UUID = uuid_pk()
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False, index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_column()
    last_used_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()
