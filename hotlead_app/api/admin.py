"""Admin endpoints (role admin).  ``memo`` becomes the audit row's admin_only_memo."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from hotlead_app.api.deps import require_admin
from hotlead_app.domain import money
from hotlead_app.services import audit, auth, distribution, leads, refunds
from hotlead_app.services import query as lead_query

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
async def approve(lead_id: uuid.UUID, body: MemoIn | None = None,
                  principal: auth.Principal = Depends(require_admin)) -> LeadStateOut:
    memo = body.memo if body else None
    state = await run_in_threadpool(lambda: leads.approve_lead(lead_id=lead_id, actor=principal.actor, memo=memo))
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/leads/{lead_id}/reject", response_model=LeadStateOut)
async def reject(lead_id: uuid.UUID, body: ReasonIn,
                 principal: auth.Principal = Depends(require_admin)) -> LeadStateOut:
    state = await run_in_threadpool(lambda: leads.reject_lead(
        lead_id=lead_id, actor=principal.actor, reason=body.reason, memo=body.memo))
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/leads/{lead_id}/bad-lead", response_model=LeadStateOut)
async def bad_lead(lead_id: uuid.UUID, body: ReasonIn,
                   principal: auth.Principal = Depends(require_admin)) -> LeadStateOut:
    state = await run_in_threadpool(lambda: leads.mark_bad_lead(
        lead_id=lead_id, actor=principal.actor, reason=body.reason, memo=body.memo))
    return LeadStateOut(id=state.id, status=state.status.value)


@router.post("/assignments/{assignment_id}/refund", response_model=RefundOut)
async def refund(assignment_id: uuid.UUID, body: ReasonIn,
                 principal: auth.Principal = Depends(require_admin)) -> RefundOut:
    done = await run_in_threadpool(lambda: refunds.refund_assignment(
        assignment_id=assignment_id, actor=principal.actor, reason=body.reason, memo=body.memo))
    return RefundOut(assignment_id=done.assignment_id, provider_id=done.provider_id,
                     amount=money.format_money(done.amount), ledger_entry_id=done.ledger_entry_id)


@router.get("/leads/{lead_id}")
async def lead_detail(lead_id: uuid.UUID, _: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        detail = lead_query.lead_detail(lead_id=lead_id)
        decisions = distribution.explain(lead_id=lead_id)
        trail = audit.list_for(entity_type="lead", entity_id=lead_id, limit=500)
        return {
            **detail,
            "explanation": [
                {"subscription_id": str(d.subscription_id), "provider_id": str(d.provider_id),
                 "competition_level_id": str(d.competition_level_id), "reason": d.reason}
                for d in decisions
            ],
            "audit_trail": [
                {"id": str(a.id), "action": a.action, "actor_role": a.actor_role.value,
                 "actor_id": str(a.actor_id) if a.actor_id else None, "before": a.before_state,
                 "after": a.after_state, "admin_only_memo": a.admin_only_memo,
                 "created_at": a.created_at.isoformat()}
                for a in reversed(trail)
            ],
        }

    return await run_in_threadpool(load)
