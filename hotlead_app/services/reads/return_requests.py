"""Return requests: a provider's own, newest first; the admin queue by status, with
each provider's return rate of the last 30 days."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from sqlalchemy import and_, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import col

from hotlead_app.db import unit_of_work
from hotlead_app.domain import money
from hotlead_app.domain import returns as rules
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.models import LeadAssignment, Niche, ReturnRequest, ServiceProvider
from hotlead_app.models._types import utcnow
from hotlead_app.services.checks import page_limit, time_cursor
from hotlead_app.services.reads._access import admin_only, iso, own_provider

STATUSES = ("pending", "approved", "denied")


class ReturnRow(TypedDict):
    id: str
    assignment_id: str
    lead_id: str
    provider_id: str
    niche: str
    status: str
    reason: str
    reason_label: str
    note: str | None
    charged_amount: str
    created_at: str
    decided_at: str | None
    deny_reason: str | None


class AdminReturnRow(ReturnRow):
    provider_name: str
    provider_return_rate_percent: float


def _label(niche: Niche, code: str) -> str:
    return next((r["label"] for r in niche.return_reasons if r.get("code") == code), code)


def _row(r: ReturnRequest, a: LeadAssignment, niche: Niche) -> ReturnRow:
    return {
        "id": str(r.id),
        "assignment_id": str(r.assignment_id),
        "lead_id": str(a.lead_id),
        "provider_id": str(r.provider_id),
        "niche": niche.slug,
        "status": r.status,
        "reason": r.reason,
        "reason_label": _label(niche, r.reason),
        "note": r.note,
        "charged_amount": money.format_money(a.charged_amount),
        "created_at": r.created_at.isoformat(),
        "decided_at": iso(r.decided_at),
        "deny_reason": r.deny_reason,
    }


def _query(after: object):
    query = (
        select_columns(ReturnRequest, LeadAssignment, Niche)
        .join(LeadAssignment, col(LeadAssignment.id) == ReturnRequest.assignment_id)
        .join(Niche, col(Niche.id) == ReturnRequest.niche_id)
    )
    key = time_cursor(after)
    if key:
        at, last_id = key
        query = query.where(
            or_(
                col(ReturnRequest.created_at) < at,
                and_(col(ReturnRequest.created_at) == at, col(ReturnRequest.id) < last_id),
            )
        )
    return query.order_by(col(ReturnRequest.created_at).desc(), col(ReturnRequest.id).desc())


def provider_returns(actor: Actor, *, limit: int = 50, after: object = None) -> list[ReturnRow]:
    """The provider's return requests newest first (up to limit + 1 rows); ``after``
    is the ``[created_at, id]`` of the previous page's last row."""
    provider_id = own_provider(actor)
    page_limit(limit)
    with unit_of_work() as uow:
        rows = uow.session.execute(
            _query(after).where(col(ReturnRequest.provider_id) == provider_id).limit(limit + 1)
        ).all()
        return [_row(r, a, n) for r, a, n in rows]


def admin_returns(
    actor: Actor,
    *,
    status: str | None = None,
    niche_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    limit: int = 50,
    after: object = None,
) -> list[AdminReturnRow]:
    """Every return request newest first, filtered by status, niche, provider; each
    with its provider's approved returns ÷ assignments of the last 30 days (percent)."""
    admin_only(actor)
    page_limit(limit)
    if status is not None and status not in STATUSES:
        raise InvalidInput("Unknown status.", details={"status": "pending, approved or denied"})
    with unit_of_work() as uow:
        query = _query(after)
        if status:
            query = query.where(col(ReturnRequest.status) == status)
        if niche_id:
            query = query.where(col(ReturnRequest.niche_id) == niche_id)
        if provider_id:
            query = query.where(col(ReturnRequest.provider_id) == provider_id)
        rows = uow.session.execute(query.limit(limit + 1)).all()
        providers = {r.provider_id for r, _a, _n in rows}
        rates = _rates(uow, providers)
        names: dict[uuid.UUID, str] = {}
        if providers:
            found = uow.session.execute(
                select_columns(col(ServiceProvider.id), col(ServiceProvider.name)).where(
                    col(ServiceProvider.id).in_(providers)
                )
            ).all()
            names = {row[0]: row[1] for row in found}
        return [
            {
                **_row(r, a, n),
                "provider_name": names.get(r.provider_id, ""),
                "provider_return_rate_percent": rates.get(r.provider_id, 0.0),
            }
            for r, a, n in rows
        ]


def _rates(uow: Any, providers: set[uuid.UUID]) -> dict[uuid.UUID, float]:
    if not providers:
        return {}
    since = utcnow() - rules.RATE_PERIOD
    assigned = dict(
        uow.session.execute(
            select_columns(col(LeadAssignment.provider_id), func.count())
            .where(col(LeadAssignment.provider_id).in_(providers), col(LeadAssignment.assigned_at) >= since)
            .group_by(col(LeadAssignment.provider_id))
        ).all()
    )
    approved = dict(
        uow.session.execute(
            select_columns(col(ReturnRequest.provider_id), func.count())
            .where(
                col(ReturnRequest.provider_id).in_(providers),
                col(ReturnRequest.created_at) >= since,
                col(ReturnRequest.status) == "approved",
            )
            .group_by(col(ReturnRequest.provider_id))
        ).all()
    )
    return {p: round(100.0 * approved.get(p, 0) / assigned[p], 1) if assigned.get(p) else 0.0 for p in providers}
