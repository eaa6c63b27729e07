"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotlead_app.devstack.harness import point_settings_at
from tests.integration.distribution_scenarios import QUIET_REDIS_DB


@pytest.fixture
def engine_db(db, redis_server) -> Iterator[str]:
    """A fresh database (``db``) whose after-commit jobs go to a Redis database no
    worker reads, flushed afterwards."""
    quiet = redis_server.url(QUIET_REDIS_DB)
    point_settings_at(redis_url=quiet)
    yield db
    import redis

    client = redis.Redis.from_url(quiet)
    try:
        client.flushdb()
    finally:
        client.close()
