from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, pg_enum, uuid_pk


class UserRole(str, enum.Enum):
    ADMIN = "admin"
    PROVIDER = "provider"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role <> 'provider' OR provider_id IS NOT NULL", name="ck_users_provider_link"),)

    id: uuid.UUID = uuid_pk()
    email: str = Field(max_length=255, unique=True)  # stored lower-cased
    password_hash: str = Field(max_length=255)
    role: UserRole = pg_enum(UserRole, "user_role")
    provider_id: uuid.UUID | None = Field(default=None, foreign_key="service_providers.id")
    active: bool = Field(default=True)
    created_at: datetime = created_at_column()
