"""The JSON-safe shape of one lead assignment, shared by the lead reads."""

from __future__ import annotations

from typing import TypedDict

from hotlead_app.domain import money
from hotlead_app.models import LeadAssignment


class AssignmentRow(TypedDict):
    id: str
    provider_id: str
    subscription_id: str
    competition_level_id: str
    charged_amount: str
    is_refunded: bool
    refunded_at: str | None
    refund_reason: str | None
    assigned_at: str


def assignment_row(a: LeadAssignment) -> AssignmentRow:
    return {
        "id": str(a.id),
        "provider_id": str(a.provider_id),
        "subscription_id": str(a.subscription_id),
        "competition_level_id": str(a.competition_level_id),
        "charged_amount": money.format_money(a.charged_amount),
        "is_refunded": a.is_refunded,
        "refunded_at": a.refunded_at.isoformat() if a.refunded_at else None,
        "refund_reason": a.refund_reason,
        "assigned_at": a.assigned_at.isoformat(),
    }
