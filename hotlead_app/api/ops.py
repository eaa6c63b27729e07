"""Operations endpoints, outside /api/v1: liveness, readiness, metrics.

``/metrics`` and ``/readyz`` are internal: in ``dev`` they answer on the public port;
in staging and prod the public port answers them only with ``Authorization: Bearer
$HOTLEAD_METRICS_TOKEN`` (when a token is configured) and otherwise says 404, while
:func:`build_internal_app` (served on ``HOTLEAD_INTERNAL_PORT`` by
``hotlead_app.api.internal``) answers them without a token.

``GET /bench/bare`` (a bare JSON answer, the framework's own cost) and ``GET
/bench/write`` (the same after one INSERT and commit into the bench's own table) exist
only when the process starts with ``HOTLEAD_BENCH_BARE=1`` (``bench/intake.py`` sets
it on the server it starts); they are never in any OpenAPI document.
"""

from __future__ import annotations

import hmac
import os

import redis
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from hotlead_app.db import get_engine
from hotlead_app.infra import metrics as metrics_export
from hotlead_app.services import ops_gauges
from hotlead_app.settings import get_settings

router = APIRouter()
internal_router = APIRouter()
# Every process that serves /metrics (the public app, the internal server) builds these
# routers: the scrape includes the gauges read from PostgreSQL, Redis and the backups.
ops_gauges.register()


def internal_access(request: Request) -> None:
    """Open in dev; elsewhere only with the scrape token as a Bearer credential."""
    settings = get_settings()
    if settings.is_dev:
        return
    token = settings.metrics_token
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode()):
        return
    # The same answer as a path that does not exist: the public port shows nothing.
    raise HTTPException(status_code=404, detail="Not Found")


@router.get("/healthz")
@internal_router.get("/healthz")
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
        client = redis.Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}"


@router.get("/readyz", dependencies=[Depends(internal_access)])
@internal_router.get("/readyz")
async def readyz(response: Response) -> dict[str, object]:
    db_error = await run_in_threadpool(_check_database)
    redis_error = await run_in_threadpool(_check_redis)
    checks = {"database": db_error or "ok", "redis": redis_error or "ok"}
    ready = db_error is None and redis_error is None
    response.status_code = 200 if ready else 503
    return {"status": "ready" if ready else "unavailable", "checks": checks}


@router.get("/metrics", dependencies=[Depends(internal_access)])
@internal_router.get("/metrics")
async def metrics() -> Response:
    body, content_type = await run_in_threadpool(metrics_export.render)
    return Response(body, media_type=content_type)


def build_internal_app() -> FastAPI:
    """``/healthz``, ``/readyz`` and ``/metrics`` without a token, for the internal port."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(internal_router)
    return app


_PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@router.get("/e/o/{token}.gif", include_in_schema=False)
async def email_open(token: str, request: Request) -> Response:
    """The tracking pixel: records an open (information only) and always answers a GIF."""
    from hotlead_app.api.client import client_info
    from hotlead_app.services import notifications

    client = client_info(request)
    try:
        await run_in_threadpool(
            lambda: notifications.record_open(token=token[:200], ip=client.ip, user_agent=client.user_agent)
        )
    except Exception:  # never break an email's rendering over a counter
        pass
    return Response(_PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


BENCH_BARE_ENV = "HOTLEAD_BENCH_BARE"


#: The bench's own small table (created by ``bench/intake.py`` in its throw-away
#: database, never by a migration): ``GET /bench/write`` appends one row to it.
BENCH_WRITE_TABLE = "bench_writes"


def _bench_write() -> None:
    """One INSERT and its commit, on a pooled psycopg connection of the app's engine."""
    conn = get_engine().raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(f"INSERT INTO {BENCH_WRITE_TABLE} (note) VALUES (%s)", ("bench",))
        conn.commit()
    finally:
        conn.close()  # back to the pool


def _add_bench_routes(target: APIRouter) -> None:
    """The bench-only baselines: a bare JSON answer (no database, no Redis, no
    validation), and the same answer after one durable write (one INSERT and commit)."""

    @target.get("/bench/bare", include_in_schema=False)
    async def bench_bare() -> dict[str, bool]:
        return {"ok": True}

    @target.get("/bench/write", include_in_schema=False)
    async def bench_write() -> dict[str, bool]:
        await run_in_threadpool(_bench_write)
        return {"ok": True}


# Decided once, when the router is built (at import): the route does not exist otherwise.
if os.environ.get(BENCH_BARE_ENV) == "1":
    _add_bench_routes(router)
