"""Admin endpoints (role admin).  ``memo`` becomes the audit row's admin_only_memo."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from hotlead_app.api.deps import principal_from_bearer_or_cookie, require_admin
from hotlead_app.api.pagination import PageParams, page
from hotlead_app.api.provider import _entry
from hotlead_app.domain import money
from hotlead_app.services import (
    accounts,
    audit,
    auth,
    catalog,
    distribution,
    leads,
    ledger,
    refunds,
)
from hotlead_app.services.reads import audit_trail, lead_search, ledger_entries, niches, providers
from hotlead_app.services.reads import lead_detail as lead_reads
from hotlead_app.settings import get_settings

router = APIRouter(prefix="/admin", tags=["admin"])


class MemoIn(BaseModel):
    memo: str | None = Field(default=None, max_length=5000)


class ReasonIn(MemoIn):
    reason: str = Field(min_length=1, max_length=2000)


class LeadStateOut(BaseModel):
    id: uuid.UUID
    status: str


class RefundOut(BaseModel):
    assignment_id: uuid.UUID
    provider_id: uuid.UUID
    amount: str
    ledger_entry_id: uuid.UUID


@router.post("/leads/{lead_id}/approve", response_model=LeadStateOut)
async def approve(
    lead_id: uuid.UUID, body: MemoIn | None = None, principal: auth.Principal = Depends(require_admin)
) -> LeadStateOut:
    memo = body.memo if body else None
    state = await run_in_threadpool(lambda: leads.approve_lead(lead_id=lead_id, actor=principal.actor, memo=memo))
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/leads/{lead_id}/reject", response_model=LeadStateOut)
async def reject(
    lead_id: uuid.UUID, body: ReasonIn, principal: auth.Principal = Depends(require_admin)
) -> LeadStateOut:
    state = await run_in_threadpool(
        lambda: leads.reject_lead(lead_id=lead_id, actor=principal.actor, reason=body.reason, memo=body.memo)
    )
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/leads/{lead_id}/bad-lead", response_model=LeadStateOut)
async def bad_lead(
    lead_id: uuid.UUID, body: ReasonIn, principal: auth.Principal = Depends(require_admin)
) -> LeadStateOut:
    state = await run_in_threadpool(
        lambda: leads.mark_bad_lead(lead_id=lead_id, actor=principal.actor, reason=body.reason, memo=body.memo)
    )
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/assignments/{assignment_id}/refund", response_model=RefundOut)
async def refund(
    assignment_id: uuid.UUID, body: ReasonIn, principal: auth.Principal = Depends(require_admin)
) -> RefundOut:
    done = await run_in_threadpool(
        lambda: refunds.refund_assignment(
            assignment_id=assignment_id, actor=principal.actor, reason=body.reason, memo=body.memo
        )
    )
    return RefundOut(
        assignment_id=done.assignment_id,
        provider_id=done.provider_id,
        amount=money.format_money(done.amount),
        ledger_entry_id=done.ledger_entry_id,
    )


@router.get("/leads/{lead_id}")
async def lead_detail(lead_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        detail = lead_reads.lead_record(principal.actor, lead_id=lead_id)
        decisions = distribution.explain(lead_id=lead_id)
        trail = audit.list_for(entity_type="lead", entity_id=lead_id, limit=500)
        return {
            **detail,
            "explanation": [
                {
                    "subscription_id": str(d.subscription_id),
                    "provider_id": str(d.provider_id),
                    "competition_level_id": str(d.competition_level_id),
                    "reason": d.reason,
                    "reason_text": lead_reads.reason_text(d.reason),
                }
                for d in decisions
            ],
            "audit_trail": [
                {
                    "id": str(a.id),
                    "action": a.action,
                    "actor_role": a.actor_role.value,
                    "actor_id": str(a.actor_id) if a.actor_id else None,
                    "before": a.before_state,
                    "after": a.after_state,
                    "admin_only_memo": a.admin_only_memo,
                    "created_at": a.created_at.isoformat(),
                }
                for a in reversed(trail)
            ],
        }

    return await run_in_threadpool(load)


@router.get("/leads")
async def list_leads(
    status: str | None = Query(None, max_length=32),
    niche: str | None = Query(None, max_length=64),
    email: str | None = Query(None, max_length=255),
    created_from: str | None = Query(None, max_length=10),
    created_to: str | None = Query(None, max_length=10),
    order: str = Query("newest", max_length=16),
    params: PageParams = Depends(),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """Newest first (``?order=oldest``: oldest first); ``?email=`` the whole address or
    its start, ``?created_from=&created_to=`` UTC days, both included."""
    rows = await run_in_threadpool(
        lambda: lead_search.search_leads(
            principal.actor,
            status=status,
            niche=niche,
            email=email,
            created_from=created_from,
            created_to=created_to,
            order=order,
            limit=params.limit,
            after=params.cursor,
        )
    )
    return page(rows, params.limit, lambda r: [r["created_at"], r["id"]])


class NicheIn(BaseModel):
    slug: Any = None
    name: Any = None
    fields: Any = None
    duplicate_window_days: Any = None
    name_required: Any = False  # whether the public form requires the consumer's name


@router.get("/niches")
async def list_niches(principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    return {"items": await run_in_threadpool(lambda: niches.list_niches(principal.actor)), "next_cursor": None}


@router.post("/niches", status_code=201)
async def create_niche(body: NicheIn, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    niche = await run_in_threadpool(
        lambda: catalog.create_niche(
            slug=body.slug,
            name=body.name,
            fields=body.fields if body.fields is not None else [],
            actor=principal.actor,
            duplicate_window_days=body.duplicate_window_days,
            name_required=body.name_required,
        )
    )
    return {
        "id": str(niche.id),
        "slug": niche.slug,
        "name": niche.name,
        "fields": niche.fields,
        "duplicate_window_days": niche.duplicate_window_days,
        "name_required": niche.name_required,
    }


def _level(lvl) -> dict[str, Any]:
    return {
        "id": str(lvl.id),
        "niche_id": str(lvl.niche_id),
        "name": lvl.name,
        "price_per_lead": money.format_money(lvl.price_per_lead),
        "max_providers": lvl.max_providers,
        "priority_order": lvl.priority_order,
        "active": lvl.active,
    }


@router.post("/niches/{niche_id}/competition-levels", status_code=201)
async def create_level(
    niche_id: uuid.UUID, body: dict[str, Any], principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    lvl = await run_in_threadpool(lambda: catalog.create_level(niche_id=niche_id, actor=principal.actor, values=body))
    return _level(lvl)


@router.get("/niches/{niche_id}/competition-levels")
async def list_levels(niche_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    levels = await run_in_threadpool(lambda: catalog.list_levels(principal.actor, niche_id=niche_id))
    return {"items": [_level(x) for x in levels], "next_cursor": None}


@router.patch("/competition-levels/{level_id}")
async def update_level(
    level_id: uuid.UUID, body: dict[str, Any], principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    lvl = await run_in_threadpool(lambda: catalog.update_level(level_id=level_id, actor=principal.actor, values=body))
    return _level(lvl)


class ProviderIn(BaseModel):
    name: Any = None
    email: Any = None
    password: Any = None


class ProviderPatch(BaseModel):
    status: Any = None
    memo: str | None = Field(default=None, max_length=5000)


class AdjustmentIn(BaseModel):
    type: Any = None
    amount: Any = None
    memo: str | None = Field(default=None, max_length=5000)


def _provider(p) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "name": p.name,
        "email": p.email,
        "status": p.status.value,
        "status_reason": p.status_reason,
        "balance": money.format_money(p.balance),
    }


@router.get("/providers")
async def list_providers(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    rows = await run_in_threadpool(
        lambda: providers.list_providers(principal.actor, limit=params.limit, after=params.cursor)
    )
    return page(rows, params.limit, lambda r: [r["name"], r["id"]])


@router.post("/providers", status_code=201)
async def create_provider(body: ProviderIn, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    provider = await run_in_threadpool(
        lambda: accounts.create_provider_account(
            name=body.name, email=body.email, password=body.password, actor=principal.actor
        )
    )
    return _provider(provider)


@router.patch("/providers/{provider_id}")
async def update_provider(
    provider_id: uuid.UUID, body: ProviderPatch, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    provider = await run_in_threadpool(
        lambda: catalog.set_provider_status(
            provider_id=provider_id, status=body.status, actor=principal.actor, memo=body.memo
        )
    )
    return _provider(provider)


@router.post("/providers/{provider_id}/adjustments", status_code=201)
async def adjust(
    provider_id: uuid.UUID,
    body: AdjustmentIn,
    idempotency_key: str | None = Header(None, min_length=1, max_length=200),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """An ``Idempotency-Key`` header makes a retried request post once."""
    key = f"adjustment:{idempotency_key}" if idempotency_key else None
    posted = await run_in_threadpool(
        lambda: ledger.adjust(
            provider_id=provider_id, type=body.type, amount=body.amount, actor=principal.actor, memo=body.memo, key=key
        )
    )
    return _entry(posted.entry)


@router.get("/ledger")
async def admin_ledger(
    provider_id: uuid.UUID | None = None,
    type: str | None = Query(None, max_length=16),
    date_from: str | None = Query(None, alias="from", max_length=10),
    date_to: str | None = Query(None, alias="to", max_length=10),
    params: PageParams = Depends(),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """Newest first, with the provider's name, the admin memo and the lead a charge or
    refund was for; ``?type=``, ``?from=`` and ``?to=`` (days, UTC, both included) filter."""
    rows = await run_in_threadpool(
        lambda: ledger_entries.all_entries(
            principal.actor,
            provider_id=provider_id,
            type=type,
            date_from=date_from,
            date_to=date_to,
            limit=params.limit,
            before_seq=params.cursor,
        )
    )
    return page(rows, params.limit, lambda r: r["seq"])


async def _admin_bearer_or_cookie(request: Request) -> auth.Principal:
    return await require_admin(await principal_from_bearer_or_cookie(request))


@router.get("/ledger.csv")
async def admin_ledger_csv(
    provider_id: uuid.UUID | None = None,
    type: str | None = Query(None, max_length=16),
    date_from: str | None = Query(None, alias="from", max_length=10),
    date_to: str | None = Query(None, alias="to", max_length=10),
    principal: auth.Principal = Depends(_admin_bearer_or_cookie),
) -> StreamingResponse:
    """The entries ``GET /admin/ledger`` lists with the same filters, all of them, as
    CSV (the ledger page's download link sends the session cookie)."""
    lines = await run_in_threadpool(
        lambda: ledger_entries.all_entries_csv(
            principal.actor,
            provider_id=provider_id,
            type=type,
            date_from=date_from,
            date_to=date_to,
            currency=get_settings().deposit_currency,
        )
    )
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ledger.csv"', "Cache-Control": "no-store"},
    )


@router.get("/audit-logs")
async def audit_logs(
    entity_type: str | None = Query(None, max_length=64),
    entity_id: uuid.UUID | None = None,
    by: str | None = Query(None, max_length=255),
    params: PageParams = Depends(),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """``?by=`` names who acted: a role, a user id or a login's email."""
    rows = await run_in_threadpool(
        lambda: audit_trail.audit_trail(
            principal.actor,
            entity_type=entity_type,
            entity_id=entity_id,
            by=by,
            limit=params.limit,
            before_seq=params.cursor,
        )
    )
    return page(rows, params.limit, lambda r: r["seq"])


# --------------------------------------------------------------------------- admin console


class NichePatch(BaseModel):
    name: Any = None
    fields: Any = None
    active: Any = None
    return_window_hours: Any = None
    return_reasons: Any = None
    max_return_rate_percent: Any = None
    auto_approve_returns_below_percent: Any = None
    duplicate_window_days: Any = None
    name_required: Any = None  # whether the public form requires the consumer's name
    memo: str | None = Field(default=None, max_length=5000)


@router.get("/niches/{niche_id}")
async def get_niche(niche_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    return dict(await run_in_threadpool(lambda: niches.niche_detail(principal.actor, niche_id=niche_id)))


@router.patch("/niches/{niche_id}")
async def update_niche(
    niche_id: uuid.UUID, body: NichePatch, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    """Any of ``{name, fields, active, duplicate_window_days}`` and the return settings; the slug does not change."""
    values = body.model_dump(exclude_unset=True, exclude={"memo"})

    def change() -> dict[str, Any]:
        catalog.update_niche(niche_id=niche_id, actor=principal.actor, values=values, memo=body.memo)
        detail = dict(niches.niche_detail(principal.actor, niche_id=niche_id))
        detail.pop("levels", None)
        detail.pop("distributed_count", None)
        return detail

    return await run_in_threadpool(change)


@router.get("/providers/{provider_id}")
async def provider_detail(provider_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    """The provider, its logins and its subscriptions (niche, level, price)."""
    return dict(await run_in_threadpool(lambda: providers.provider_detail(principal.actor, provider_id=provider_id)))


# --------------------------------------------------------------------------- returns

from hotlead_app.api.provider import return_out  # noqa: E402
from hotlead_app.services import returns as returns_service  # noqa: E402
from hotlead_app.services.reads import conversion as conversion_reads  # noqa: E402
from hotlead_app.services.reads import return_requests  # noqa: E402


class DenyIn(MemoIn):
    reason: Any = None


@router.get("/returns")
async def admin_returns(
    status: str | None = Query(None, max_length=16),
    niche_id: uuid.UUID | None = None,
    provider_id: uuid.UUID | None = None,
    params: PageParams = Depends(),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """Newest first; ``?status=pending|approved|denied``, ``?niche_id=``, ``?provider_id=``."""
    rows = await run_in_threadpool(
        lambda: return_requests.admin_returns(
            principal.actor,
            status=status,
            niche_id=niche_id,
            provider_id=provider_id,
            limit=params.limit,
            after=params.cursor,
        )
    )
    return page(rows, params.limit, lambda r: [r["created_at"], r["id"]])


@router.post("/returns/{return_id}/approve")
async def approve_return(
    return_id: uuid.UUID, body: MemoIn | None = None, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    """Refunds the assignment as an admin refund would; 409 ``already_decided`` once decided."""
    memo = body.memo if body else None
    done = await run_in_threadpool(
        lambda: returns_service.approve_return(request_id=return_id, actor=principal.actor, memo=memo)
    )
    return return_out(done)


@router.post("/returns/{return_id}/deny")
async def deny_return(
    return_id: uuid.UUID, body: DenyIn, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    """``reason`` is required (400 without it); nothing is refunded."""
    done = await run_in_threadpool(
        lambda: returns_service.deny_return(
            request_id=return_id, actor=principal.actor, reason=body.reason, memo=body.memo
        )
    )
    return return_out(done)


# --------------------------------------------------------------------------- reports


@router.get("/reports/conversion")
async def conversion(
    by: str = Query("niche", max_length=16),
    from_: str | None = Query(None, alias="from", max_length=10),
    to: str | None = Query(None, max_length=10),
    principal: auth.Principal = Depends(require_admin),
) -> dict[str, Any]:
    """Won ÷ assignments and won value ``?by=niche|level|partner|utm_source&from=&to=``
    (days, both included; the last 30 days by default)."""
    report = await run_in_threadpool(
        lambda: conversion_reads.conversion_report(principal.actor, by=by, from_=from_, to=to)
    )
    return {"by": report["by"], "from": report["from_"], "to": report["to"], "items": report["rows"]}
