"""Admin endpoints behind the console pages: the overview's figures, the approval
queue with its decision data and one lead's full view.  The pages call the same
read modules (``services/reads``: ``overview``, ``approval_queue``,
``lead_detail``); the leads browser's list is
``GET /admin/leads`` (api/admin.py)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from hotlead_app.api.deps import require_admin
from hotlead_app.api.pagination import PageParams, page
from hotlead_app.services import auth
from hotlead_app.services.reads import approval_queue as queue_reads
from hotlead_app.services.reads import lead_detail
from hotlead_app.services.reads import overview as overview_reads

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/reports/overview")
async def overview(
    days: int = Query(30, ge=1, le=overview_reads.MAX_DAYS), principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    """Leads per day by status, revenue per day, providers by status, approval backlog."""
    return dict(await run_in_threadpool(lambda: overview_reads.overview(principal.actor, days=days)))


@router.get("/reports/backlog")
async def backlog(principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    queue = await run_in_threadpool(lambda: queue_reads.backlog(principal.actor))
    return {
        "count": queue.count,
        "oldest_confirmed_at": queue.oldest_confirmed_at.isoformat() if queue.oldest_confirmed_at else None,
    }


@router.get("/approval-queue")
async def approval_queue(
    params: PageParams = Depends(), principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    """``pending_approval`` leads oldest first with payload, contact, attribution,
    consent evidence and time waiting."""
    rows = await run_in_threadpool(
        lambda: queue_reads.approval_queue(principal.actor, limit=params.limit, after=params.cursor)
    )
    return page(rows, params.limit, lambda r: [r["created_at"], r["id"]])


@router.get("/leads/{lead_id}/view")
async def lead_view(lead_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)) -> dict[str, Any]:
    """The lead detail page's data: assignments with names, Global Bad Lead's refunds,
    the explanation for every subscription, and the history with memos."""
    return dict(await run_in_threadpool(lambda: lead_detail.admin_lead(principal.actor, lead_id=lead_id)))
