"""Provider endpoints (role provider; only its own data)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from hotlead_app.api.deps import require_provider
from hotlead_app.services import auth, distribution

router = APIRouter(prefix="/provider", tags=["provider"])


@router.get("/leads/{lead_id}/explanation")
async def explanation(lead_id: uuid.UUID,
                      principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    decisions = await run_in_threadpool(
        lambda: distribution.explain(lead_id=lead_id, provider_id=principal.provider_id))
    return {
        "lead_id": str(lead_id),
        "items": [
            {"subscription_id": str(d.subscription_id), "competition_level_id": str(d.competition_level_id),
             "reason": d.reason}
            for d in decisions
        ],
    }
