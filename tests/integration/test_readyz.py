"""/healthz says the process is alive; /readyz says whether it can do its work."""

from __future__ import annotations

import httpx

from hotlead_app.devstack.embedded import EmbeddedRedis, free_port
from tests.conftest import point_settings_at


def test_readyz_turns_503_when_redis_is_stopped(db, api_server, redis_server, tmp_path):
    private = EmbeddedRedis(tmp_path / "redis", free_port(), persistent=False, reap_with_owner=True)
    private.start()
    try:
        point_settings_at(redis_url=private.url())
        ready = httpx.get(f"{api_server}/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
        private.stop()
        down = httpx.get(f"{api_server}/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["database"] == "ok"
        assert down.json()["checks"]["redis"] != "ok"
        assert httpx.get(f"{api_server}/healthz").status_code == 200
    finally:
        private.stop()
        point_settings_at(redis_url=redis_server.url())


def test_readyz_turns_503_when_the_database_is_unreachable(db, api_server):
    point_settings_at(database_url=f"postgresql+psycopg://hotlead@127.0.0.1:{free_port()}/nothing")
    try:
        down = httpx.get(f"{api_server}/readyz")
        assert down.status_code == 503
        assert down.json()["checks"]["database"] != "ok"
        assert down.json()["checks"]["redis"] == "ok"
    finally:
        point_settings_at(database_url=db)
