from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, timestamp, uuid_pk


class AuthSession(SQLModel, table=True):
    """A signed-in browser or API client.  Only the token's SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: uuid.UUID = uuid_pk()
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", nullable=False, index=True)
    created_at: datetime = created_at_column()
    expires_at: datetime = timestamp(nullable=False)
    revoked_at: datetime | None = timestamp()
