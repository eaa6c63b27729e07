from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, pg_enum, timestamp, uuid_pk


class EmailStatus(str, enum.Enum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class EmailMessage(SQLModel, table=True):
    """Every email the platform composes: what was sent, to whom, and whether it left."""

    __tablename__ = "email_messages"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_email_messages_dedupe_key"),)

    id: uuid.UUID = uuid_pk()
    dedupe_key: str = Field(max_length=255)
    kind: str = Field(max_length=64)
    to_address: str = Field(max_length=255, index=True)
    subject: str = Field(max_length=255)
    body_text: str
    body_html: str | None = Field(default=None)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None)
    lead_id: uuid.UUID | None = Field(default=None, foreign_key="leads.id", index=True)
    status: EmailStatus = pg_enum(EmailStatus, "email_status", default=EmailStatus.queued)
    created_at: datetime = created_at_column()
    sent_at: datetime | None = timestamp()


class EmailEvent(SQLModel, table=True):
    """Opens recorded by the tracking pixel: information only, never a refund decision."""

    __tablename__ = "email_events"

    id: uuid.UUID = uuid_pk()
    email_id: uuid.UUID = Field(foreign_key="email_messages.id", nullable=False, index=True)
    kind: str = Field(max_length=32)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_column()
