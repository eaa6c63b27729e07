"""Public endpoints: no authentication."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from hotlead_app.api.client import client_info
from hotlead_app.services import intake

router = APIRouter(tags=["public"])


class NicheOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    fields: list[dict[str, Any]]
    name_required: bool = False  # whether POST /leads needs the consumer's `name`


class LeadIn(BaseModel):
    niche: str = Field(max_length=64)
    name: Any = None
    email: Any = None
    phone: Any = None
    payload: Any = None
    referrer_url: Any = None
    utm_params: Any = None
    partner_code: Any = None


class LeadCreated(BaseModel):
    id: uuid.UUID
    status: str


@router.get("/niches", response_model=list[NicheOut])
async def list_niches() -> list[NicheOut]:
    niches = await run_in_threadpool(intake.list_active_niches)
    return [NicheOut(id=n.id, slug=n.slug, name=n.name, fields=n.fields, name_required=n.name_required) for n in niches]


@router.post("/leads", status_code=201, response_model=LeadCreated)
async def submit_lead(body: LeadIn, request: Request) -> LeadCreated:
    client = client_info(request)
    lead = await run_in_threadpool(
        lambda: intake.submit_lead(
            niche_slug=body.niche,
            name=body.name,
            email=body.email,
            phone=body.phone,
            payload=body.payload,
            referrer_url=body.referrer_url,
            utm_params=body.utm_params,
            partner_code=body.partner_code,
            client=client,
        )
    )
    return LeadCreated(id=lead.id, status=lead.status.value)


class ConfirmIn(BaseModel):
    token: str = Field(max_length=500)


@router.post("/leads/confirm", response_model=LeadCreated)
async def confirm_lead(body: ConfirmIn, request: Request) -> LeadCreated:
    client = client_info(request)
    state = await run_in_threadpool(lambda: intake.confirm(token=body.token, client=client))
    return LeadCreated(id=state.id, status=state.status.value)


class ResendIn(BaseModel):
    email: Any = None
    lead_id: Any = None


@router.post("/leads/resend-confirmation", status_code=202)
async def resend_confirmation(body: ResendIn, request: Request) -> dict[str, str]:
    client = client_info(request)
    await run_in_threadpool(lambda: intake.resend_confirmation(email=body.email, lead_id=body.lead_id, client=client))
    return {"status": "accepted"}
