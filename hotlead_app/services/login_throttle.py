"""Sign-in throttling, counted in Redis **before** the password is checked.

Three counters per attempt, each a fixed window (``INCR`` + ``EXPIRE`` in one Lua
script, which Redis runs atomically, so a burst of parallel guesses is counted exactly):

- ``(email, client address)``: ``rate_limit_login`` (default 5 / 15 min) → 429.
  Someone guessing one account from one place is stopped.
- client address: ``rate_limit_login_ip`` (default 30 / 15 min) → 429.  One place
  guessing many accounts is stopped.
- email, from anywhere: ``rate_limit_login_email`` (default 50 / 15 min) → never a
  429: beyond it each attempt waits (``delay``, growing to ``MAX_DELAY`` seconds)
  before the password is checked.  So nobody can lock an account (the admin's) out
  by guessing from elsewhere; a distributed guesser is only slowed.

A correct sign-in gives its own attempt back (``refund``), so people who sign in
often are not throttled.  When Redis cannot be reached, sign-in fails closed:
``LoginUnavailable`` (503): an unthrottled password check is not offered.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from limits import parse_many

from hotlead_app.domain.errors import DomainError
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

PREFIX = "hotlead:login"
# Seconds added per attempt beyond the per-email ceiling, and the most one attempt waits.
DELAY_STEP = 0.25
MAX_DELAY = 2.0


class LoginUnavailable(DomainError):
    code = "service_unavailable"
    default_message = "Sign-in is unavailable for a moment; please try again shortly."


@dataclass(frozen=True)
class Attempt:
    """A counted sign-in attempt: its counter keys (for ``refund``) and how long to wait."""

    keys: tuple[str, ...]
    delay: float


@dataclass(frozen=True)
class _Window:
    key: str
    amount: int
    seconds: int
    blocks: bool


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def reset_cache() -> None:
    _client.cache_clear()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _windows(email: str, ip: str) -> list[_Window]:
    settings = get_settings()
    scopes = [
        ("email_ip", settings.rate_limit_login, f"{_digest(email)}:{_digest(ip)}", True),
        ("ip", settings.rate_limit_login_ip, _digest(ip), True),
        ("email", settings.rate_limit_login_email, _digest(email), False),
    ]
    windows = []
    for scope, spec, who, blocks in scopes:
        for item in parse_many(spec):
            seconds = int(item.get_expiry())
            windows.append(_Window(f"{PREFIX}:{scope}:{seconds}:{who}", int(item.amount), seconds, blocks))
    return windows


# Each counter: INCR, and its window's expiry when it is new (or lost its expiry);
# one script, so Redis runs it atomically (works on Redis 6: no EXPIRE NX).
_COUNT = """
local out = {}
for i, key in ipairs(KEYS) do
  local used = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    redis.call('EXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[#out + 1] = used
  out[#out + 1] = ttl
end
return out
"""


def count(email: str, ip: str) -> Attempt:
    """Count this attempt; ``RateLimited`` when a blocking window is full,
    ``LoginUnavailable`` when Redis cannot be reached."""
    windows = _windows(email, ip)
    try:
        client = _client(get_settings().redis_url)
        results: list[Any] = client.eval(  # type: ignore[assignment]
            _COUNT, len(windows), *[w.key for w in windows], *[str(w.seconds) for w in windows]
        )
    except redis.RedisError as exc:
        log.error("login throttle unavailable: %s", exc)
        raise LoginUnavailable() from exc
    delay = 0.0
    retry_after = 0
    for i, w in enumerate(windows):
        used, ttl = int(results[2 * i]), int(results[2 * i + 1])
        if used <= w.amount:
            continue
        if w.blocks:
            retry_after = max(retry_after, ttl if ttl > 0 else w.seconds)
        else:
            delay = max(delay, min(MAX_DELAY, DELAY_STEP * (used - w.amount)))
    if retry_after:
        raise RateLimited(retry_after, "Too many sign-in attempts; please wait a few minutes.")
    return Attempt(tuple(w.key for w in windows), delay)


# Only a counter that still exists is decremented (an expired window stays gone).
_REFUND = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 and tonumber(redis.call('GET', key)) > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""


def refund(attempt: Attempt) -> None:
    """A correct sign-in does not count against anyone (best effort)."""
    try:
        _client(get_settings().redis_url).eval(_REFUND, len(attempt.keys), *attempt.keys)
    except redis.RedisError as exc:
        log.warning("login throttle refund failed: %s", exc)


def wait(attempt: Attempt) -> None:
    if attempt.delay > 0:
        time.sleep(attempt.delay)
