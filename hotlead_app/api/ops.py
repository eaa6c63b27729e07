"""Operations endpoints, outside /api/v1: liveness, readiness, metrics.

``GET /bench/bare`` (a bare JSON answer, the framework's own cost) exists only when
the process starts with ``HOTLEAD_BENCH_BARE=1`` (``bench/intake.py`` sets it on the
server it starts); it is never in any OpenAPI document.
"""

from __future__ import annotations

import os

import redis
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hotlead_app.db import get_engine
from hotlead_app.settings import get_settings

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}"


def _check_redis() -> str | None:
    try:
        client = redis.Redis.from_url(
            get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1
        )
        try:
            client.ping()
        finally:
            client.close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}"


@router.get("/readyz")
async def readyz(response: Response) -> dict[str, object]:
    db_error = await run_in_threadpool(_check_database)
    redis_error = await run_in_threadpool(_check_redis)
    checks = {"database": db_error or "ok", "redis": redis_error or "ok"}
    ready = db_error is None and redis_error is None
    response.status_code = 200 if ready else 503
    return {"status": "ready" if ready else "unavailable", "checks": checks}


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


_PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@router.get("/e/o/{token}.gif", include_in_schema=False)
async def email_open(token: str, request: Request) -> Response:
    """The tracking pixel: records an open (information only) and always answers a GIF."""
    from hotlead_app.api.client import client_info
    from hotlead_app.services import notifications

    client = client_info(request)
    try:
        await run_in_threadpool(lambda: notifications.record_open(
            token=token[:200], ip=client.ip, user_agent=client.user_agent))
    except Exception:  # never break an email's rendering over a counter
        pass
    return Response(_PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


BENCH_BARE_ENV = "HOTLEAD_BENCH_BARE"


def _add_bench_routes(target: APIRouter) -> None:
    """The bench-only baseline: no database, no Redis, no validation, just JSON."""

    @target.get("/bench/bare", include_in_schema=False)
    async def bench_bare() -> dict[str, bool]:
        return {"ok": True}


# Decided once, when the router is built (at import): the route does not exist otherwise.
if os.environ.get(BENCH_BARE_ENV) == "1":
    _add_bench_routes(router)
