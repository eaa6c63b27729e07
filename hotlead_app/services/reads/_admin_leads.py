"""The admin's row of a lead (contact, consent evidence, attribution), shared by the
approval queue, the lead search and the lead detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlmodel import col, select

from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import Lead, Niche, Partner
from hotlead_app.services.reads._access import iso


class AdminLeadRow(TypedDict):
    id: str
    status: str
    niche: str
    niche_name: str
    name: str  # the consumer's name ("" when the lead has none)
    email: str
    phone: str
    payload: dict[str, Any]
    referrer_url: str
    utm_params: dict[str, Any]
    partner: str
    partner_name: str
    consent_version: str
    consent_ip: str
    consent_user_agent: str
    created_at: str
    confirmed_at: str | None
    waiting: str
    #: DOMAIN.md "The same consumer twice": the earlier lead this one may duplicate.
    duplicate_of: str | None


def waiting(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"


def lead_row(lead: Lead, niche: Niche, partner: Partner | None, now: datetime) -> AdminLeadRow:
    utm = lead.utm_params or {}
    return {
        "id": str(lead.id),
        "status": lead.status.value,
        "niche": niche.slug,
        "niche_name": niche.name,
        "name": lead.name or "",
        "email": lead.email,
        "phone": lead.phone or "",
        "payload": dict(lead.payload or {}),
        "referrer_url": lead.referrer_url or "",
        "utm_params": dict(utm),
        "partner": partner.code if partner else "",
        "partner_name": partner.name if partner else "",
        "consent_version": lead.consent_version or "",
        "consent_ip": lead.consent_ip or "",
        "consent_user_agent": lead.consent_user_agent or "",
        "created_at": lead.created_at.isoformat(),
        "confirmed_at": iso(lead.confirmed_at),
        "waiting": waiting(lead.confirmed_at, now) if lead.status == LeadStatus.PENDING_APPROVAL else "",
        "duplicate_of": str(lead.duplicate_of) if lead.duplicate_of else None,
    }


def lead_query() -> Any:
    return (
        select(Lead, Niche, Partner)
        .join(Niche, col(Niche.id) == Lead.niche_id)
        .join(Partner, col(Partner.id) == Lead.partner_id, isouter=True)
    )
