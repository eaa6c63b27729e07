"""Rate limits per client, kept in Redis by the ``limits`` package (moving window).

When Redis cannot be reached the limit is not enforced (logged): the public form
stays up; the outage shows in /readyz and the metrics."""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from limits import parse_many
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from hotlead_app.domain.errors import DomainError
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)


class RateLimited(DomainError):
    code = "rate_limited"
    default_message = "Too many attempts; please wait a moment and try again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


@lru_cache(maxsize=4)
def _limiter(redis_url: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(RedisStorage(redis_url, socket_connect_timeout=1, socket_timeout=1))


@lru_cache(maxsize=32)
def _items(spec: str) -> tuple:
    """The parsed windows of a limit such as ``"5/minute;100/day"`` (parsed once)."""
    return tuple(parse_many(spec))


def reset_cache() -> None:
    _limiter.cache_clear()


def _enforce(scope: str, key: str, limit: str | None, *, count: bool) -> None:
    """RateLimited when one of ``scope``'s windows is full for ``key``; ``count`` also
    records this attempt.  Fails open (logged) when Redis cannot be reached."""
    settings = get_settings()
    spec = limit or getattr(settings, f"rate_limit_{scope}")
    try:
        limiter = _limiter(settings.redis_url)
        for item in _items(spec):
            allowed = (limiter.hit if count else limiter.test)(item, "hotlead", scope, key)
            if not allowed:
                stats = limiter.get_window_stats(item, "hotlead", scope, key)
                raise RateLimited(max(1, int(stats.reset_time - time.time()) + 1))
    except RateLimited:
        raise
    except Exception as exc:  # Redis down: fail open
        log.warning("rate limiter unavailable for %s: %s", scope, exc)


def check(scope: str, key: str, limit: str | None = None) -> None:
    """RateLimited when ``key`` has used up ``scope``'s window, without counting."""
    _enforce(scope, key, limit, count=False)


def hit(scope: str, key: str, limit: str | None = None) -> None:
    """Count one attempt of ``scope`` by ``key``; RateLimited when over the limit."""
    _enforce(scope, key, limit, count=True)
