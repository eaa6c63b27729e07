"""Monthly statements (API.md, last table): a provider's own under ``/provider``, any
provider's for admins under ``/admin/providers/{id}`` (an extension of API.md, see the
README).  ``{yyyy-mm}`` is a month in the provider's time zone: 400 when malformed, 404
when the provider has no statement for it.  The files also accept the back office's
session cookie, so a plain download link works in the browser."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from hotlead_app.api.deps import principal_from_bearer_or_cookie, require_admin, require_provider
from hotlead_app.services import auth, statement_files
from hotlead_app.services.reads import statements
from hotlead_app.settings import get_settings

provider_router = APIRouter(prefix="/provider", tags=["provider"])
admin_router = APIRouter(prefix="/admin", tags=["admin"])

PROVIDER_FILES = "/api/v1/provider/statements"


def admin_files(provider_id: uuid.UUID | str) -> str:
    return f"/api/v1/admin/providers/{provider_id}/statements"


async def _provider_from_link(request: Request) -> auth.Principal:
    return await require_provider(await principal_from_bearer_or_cookie(request))


async def _admin_from_link(request: Request) -> auth.Principal:
    return await require_admin(await principal_from_bearer_or_cookie(request))


def _summary(s: statements.StatementSummary, base: str) -> dict[str, Any]:
    return {
        "month": s.month.key,
        "label": s.month.label,
        "opening_balance": f"{s.opening:.2f}",
        "closing_balance": f"{s.closing:.2f}",
        "entries": s.entries,
        "to_date": s.to_date,
        "pdf_url": f"{base}/{s.month.key}.pdf",
        "csv_url": f"{base}/{s.month.key}.csv",
    }


def _pdf(st: statements.Statement) -> Response:
    body = statement_files.statement_pdf(st, currency=get_settings().deposit_currency)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{statement_files.file_name(st, "pdf")}"',
            "Cache-Control": "no-store",
        },
    )


def _csv(st: statements.Statement) -> StreamingResponse:
    return StreamingResponse(
        iter(list(statement_files.statement_csv(st))),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{statement_files.file_name(st, "csv")}"',
            "Cache-Control": "no-store",
        },
    )


async def _load(read: Callable[[], statements.Statement]) -> statements.Statement:
    return await run_in_threadpool(read)


# --------------------------------------------------------------------------- provider


@provider_router.get("/statements")
async def provider_statements(principal: auth.Principal = Depends(require_provider)) -> dict[str, Any]:
    """The months with a statement, newest first; the current month is ``to_date``."""
    rows = await run_in_threadpool(lambda: statements.provider_statements(principal.actor))
    return {"items": [_summary(s, PROVIDER_FILES) for s in rows], "next_cursor": None}


@provider_router.get("/statements/{month}.pdf")
async def provider_statement_pdf(month: str, principal: auth.Principal = Depends(_provider_from_link)) -> Response:
    return _pdf(await _load(lambda: statements.provider_statement(principal.actor, month=month)))


@provider_router.get("/statements/{month}.csv")
async def provider_statement_csv(
    month: str, principal: auth.Principal = Depends(_provider_from_link)
) -> StreamingResponse:
    return _csv(await _load(lambda: statements.provider_statement(principal.actor, month=month)))


# --------------------------------------------------------------------------- admin


@admin_router.get("/providers/{provider_id}/statements")
async def admin_statements(
    provider_id: uuid.UUID, principal: auth.Principal = Depends(require_admin)
) -> dict[str, Any]:
    rows = await run_in_threadpool(lambda: statements.admin_statements(principal.actor, provider_id=provider_id))
    return {"items": [_summary(s, admin_files(provider_id)) for s in rows], "next_cursor": None}


@admin_router.get("/providers/{provider_id}/statements/{month}.pdf")
async def admin_statement_pdf(
    provider_id: uuid.UUID, month: str, principal: auth.Principal = Depends(_admin_from_link)
) -> Response:
    return _pdf(await _load(lambda: statements.admin_statement(principal.actor, provider_id=provider_id, month=month)))


@admin_router.get("/providers/{provider_id}/statements/{month}.csv")
async def admin_statement_csv(
    provider_id: uuid.UUID, month: str, principal: auth.Principal = Depends(_admin_from_link)
) -> StreamingResponse:
    return _csv(await _load(lambda: statements.admin_statement(principal.actor, provider_id=provider_id, month=month)))
