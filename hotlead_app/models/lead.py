from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models._types import created_at_column, jsonb, pg_enum, timestamp, uuid_pk


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(
            "status NOT IN ('pending_approval', 'approved', 'distributed', 'bad_lead') OR confirmed_at IS NOT NULL",
            name="ck_leads_confirmed_before_approval",
        ),
        Index("ix_leads_status_created_at", "status", "created_at"),
        Index("ix_leads_niche_status", "niche_id", "status"),
        Index("ix_leads_approved_waiting", "created_at", postgresql_where=text("status = 'approved'")),
        # Back-office lists newest first with no status filter (leads browser, missed leads,
        # date ranges, overview per day): keyset on (created_at, id), migration 0011.
        Index("ix_leads_created_at_id", "created_at", "id"),
        # "The same consumer twice": a niche's leads by consumer (migration 0017).
        Index("ix_leads_niche_consumer_email", "niche_id", "consumer_email", "created_at"),
        Index("ix_leads_niche_consumer_phone", "niche_id", "consumer_phone_e164", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    niche_id: uuid.UUID = Field(foreign_key="niches.id", nullable=False)
    status: LeadStatus = pg_enum(LeadStatus, "lead_status", default=LeadStatus.PENDING_CONFIRMATION)
    payload: dict[str, Any] = jsonb(default={})
    # The consumer's name (a standard field of every form; the niche says whether it is
    # required); None on leads made before migration 0023.
    name: str | None = Field(default=None, max_length=200)
    email: str = Field(max_length=255, index=True)
    phone: str | None = Field(default=None, max_length=50)
    referrer_url: str | None = Field(default=None)
    utm_params: dict[str, Any] | None = jsonb(nullable=True)
    partner_id: uuid.UUID | None = Field(default=None, foreign_key="partners.id")
    confirmation_token_hash: str | None = Field(default=None, max_length=255, index=True)
    confirmation_expires_at: datetime | None = timestamp()
    confirmed_at: datetime | None = timestamp()
    # Consent evidence: the consent text's version shown, the submitter's address and browser.
    consent_version: str | None = Field(default=None, max_length=32)
    consent_ip: str | None = Field(default=None, max_length=64)
    consent_user_agent: str | None = Field(default=None, max_length=500)
    # The niche's count of distributed leads before this one (drives level rotation).
    distribution_seq: int | None = Field(default=None)
    distributed_at: datetime | None = timestamp()
    # When it was approved (a subscription takes leads approved from its leads_from).
    approved_at: datetime | None = timestamp()
    # The consumer (email trimmed and lower-cased; phone in E.164, region US), set at
    # confirmation, and the latest earlier lead of the same consumer in the niche's window.
    consumer_email: str | None = Field(default=None, max_length=255)
    consumer_phone_e164: str | None = Field(default=None, max_length=20)
    duplicate_of: uuid.UUID | None = Field(default=None, foreign_key="leads.id")
    created_at: datetime = created_at_column()


class LeadRead(SQLModel):
    id: uuid.UUID
    niche_id: uuid.UUID
    status: LeadStatus
    name: str | None = None
    email: str
    phone: str | None
    payload: dict[str, Any]
    created_at: datetime
