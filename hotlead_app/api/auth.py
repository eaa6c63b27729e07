"""Sign-in and sign-out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from hotlead_app.api.client import client_info
from hotlead_app.api.deps import bearer_token, current_principal
from hotlead_app.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    email: Any = None
    password: Any = None


class LoginOut(BaseModel):
    token: str
    role: str
    expires_at: datetime


class MeOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    provider_id: uuid.UUID | None = None


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request) -> LoginOut:
    ip = client_info(request).ip
    signed = await run_in_threadpool(lambda: auth.login(email=body.email, password=body.password, client_ip=ip))
    return LoginOut(token=signed.token, role=signed.role, expires_at=signed.expires_at)


@router.post("/logout", status_code=204)
async def logout(token: str = Depends(bearer_token)) -> None:
    await run_in_threadpool(lambda: auth.logout(token=token))


class LoggedOutEverywhere(BaseModel):
    sessions_ended: int


@router.post("/logout-everywhere", response_model=LoggedOutEverywhere)
async def logout_everywhere(principal: auth.Principal = Depends(current_principal)) -> LoggedOutEverywhere:
    """Ends every session of the caller's account, this one included (API keys stay)."""
    ended = await run_in_threadpool(lambda: auth.logout_everywhere(principal=principal))
    return LoggedOutEverywhere(sessions_ended=ended)


@router.get("/me", response_model=MeOut)
async def me(principal: auth.Principal = Depends(current_principal)) -> MeOut:
    return MeOut(id=principal.user_id, email=principal.email, role=principal.role, provider_id=principal.provider_id)
