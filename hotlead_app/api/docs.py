"""The API's own documents: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

In ``dev`` anyone may read them; elsewhere only a signed-in admin (a bearer token, or
the back office's session cookie when opened in the browser).  Anyone else gets the
same 404 as an unknown path, so the documents do not advertise the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from hotlead_app.api.deps import principal_from_bearer_or_cookie
from hotlead_app.domain.errors import NotFound
from hotlead_app.services import auth
from hotlead_app.settings import get_settings

router = APIRouter(include_in_schema=False)


async def docs_reader(request: Request) -> None:
    if get_settings().is_dev:
        return
    try:
        principal: auth.Principal | None = await principal_from_bearer_or_cookie(request)
    except auth.NotAuthenticated:
        principal = None
    if principal is None or principal.role != "admin":
        raise NotFound("Not Found")


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/openapi.json", dependencies=[Depends(docs_reader)])
async def openapi(request: Request) -> JSONResponse:
    document: dict[str, Any] = dict(request.app.openapi())
    if _root(request):  # mounted under /api/v1: the paths are relative to it
        document["servers"] = [{"url": _root(request)}]
    return JSONResponse(document)


@router.get("/docs", dependencies=[Depends(docs_reader)])
async def swagger(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=f"{_root(request)}/openapi.json", title="Find Me A Hot Lead API")


@router.get("/redoc", dependencies=[Depends(docs_reader)])
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=f"{_root(request)}/openapi.json", title="Find Me A Hot Lead API")
