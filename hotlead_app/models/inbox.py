"""A provider's lead inbox: its notification preferences, the private note it keeps on
each of its leads, and which email told it about each assignment."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from hotlead_app.models._types import created_at_column, money

#: Longest private note, in characters (the API and the page refuse more).
NOTE_MAX_CHARS = 2000
LEAD_EMAIL_MODES = ("instant", "digest")


class NotificationSettings(SQLModel, table=True):
    """How a provider hears about its leads (``instant``: one email per lead;
    ``digest``: one email an hour listing them) and its low-balance alert: one email
    when the balance goes below ``low_balance_threshold``, again only after it went
    back up to it (``low_balance_alerted`` remembers the side it is on).  A provider
    without a row has the defaults: instant emails, no alert."""

    __tablename__ = "provider_notification_settings"
    __table_args__ = (
        CheckConstraint("lead_emails IN ('instant', 'digest')", name="ck_notification_settings_lead_emails"),
        CheckConstraint(
            "low_balance_threshold IS NULL OR low_balance_threshold > 0",
            name="ck_notification_settings_threshold_positive",
        ),
    )

    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", primary_key=True)
    lead_emails: str = Field(default="instant", max_length=16)
    low_balance_threshold: Decimal | None = money(default=None, nullable=True)
    low_balance_alerted: bool = Field(default=False)
    # How many alerts were sent: the next one's dedupe key.
    low_balance_alerts: int = Field(default=0)
    updated_at: datetime = created_at_column()


class AssignmentNote(SQLModel, table=True):
    """The private note a provider keeps on one of its leads (one per assignment),
    seen by that provider only; ``updated_at`` says when it last changed (each change
    is also audited, without its text)."""

    __tablename__ = "assignment_notes"
    __table_args__ = (CheckConstraint(f"length(body) <= {NOTE_MAX_CHARS}", name="ck_assignment_notes_length"),)

    assignment_id: uuid.UUID = Field(foreign_key="lead_assignments.id", primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False, index=True)
    body: str = Field(default="")
    created_at: datetime = created_at_column()
    updated_at: datetime = created_at_column()


class LeadNotice(SQLModel, table=True):
    """Which email told the provider about an assignment: at most one row per
    assignment, claimed by the instant email or by the hourly digest in the same
    transaction as the email it writes, so each assignment is emailed exactly once."""

    __tablename__ = "lead_notices"
    __table_args__ = (Index("ix_lead_notices_provider_created", "provider_id", "created_at"),)

    assignment_id: uuid.UUID = Field(foreign_key="lead_assignments.id", primary_key=True)
    provider_id: uuid.UUID = Field(foreign_key="service_providers.id", nullable=False)
    kind: str = Field(max_length=16)  # instant, digest, before (assignments made before notices existed)
    email_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = created_at_column()
