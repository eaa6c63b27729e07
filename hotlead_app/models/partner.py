from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, uuid_pk


class Partner(SQLModel, table=True):
    """A traffic partner whose code attributes leads."""

    __tablename__ = "partners"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = created_at_column()
