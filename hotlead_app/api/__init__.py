"""The HTTP surface: ``/api/v1`` (REST, its own OpenAPI document) and the ops routes.

``build_app()`` returns the FastAPI app that Reflex mounts its own routes into
(``rx.App(api_transformer=...)``), so pages, websocket and API share one port.
"""

from __future__ import annotations

from fastapi import FastAPI

from hotlead_app.api import admin, admin_console, auth, docs, errors, ops, payments, provider, public, statements
from hotlead_app.api.limits import BodySizeLimit
from hotlead_app.api.sanity import RefuseUnstorableText

API_PREFIX = "/api/v1"


def build_api_v1() -> FastAPI:
    api = FastAPI(
        title="Find Me A Hot Lead API",
        version="1.0.0",
        # Served by api/docs.py: in dev to anyone, elsewhere to a signed-in admin only.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    errors.install(api)
    # No NUL or non-UTF-8 text reaches a route (400); inside the size limit below.
    api.add_middleware(RefuseUnstorableText)
    # 16 KB for every body; processor webhooks may be larger.
    api.add_middleware(BodySizeLimit, larger={"/webhooks/": payments.MAX_WEBHOOK_BYTES})
    api.include_router(docs.router)
    api.include_router(public.router)
    api.include_router(auth.router)
    api.include_router(provider.router)
    api.include_router(admin.router)
    api.include_router(admin_console.router)
    api.include_router(payments.provider_router)
    api.include_router(payments.webhook_router)
    api.include_router(payments.admin_router)
    api.include_router(statements.provider_router)
    api.include_router(statements.admin_router)
    return api


def build_app() -> FastAPI:
    from hotlead_app.infra.logging import RequestIdMiddleware
    from hotlead_app.infra.metrics import HttpMetricsMiddleware

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    # Every request (API, ops, Reflex's own routes): counted by route template, with an id in the logs.
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(ops.router)
    app.mount(API_PREFIX, build_api_v1())
    return app
