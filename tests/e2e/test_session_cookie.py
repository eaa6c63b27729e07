"""A browser sign-in keeps only a sealed token (cookie and Reflex's state in Redis),
and "Sign out everywhere" (after a confirmation) ends the account's other sessions."""

from __future__ import annotations

import re
from typing import Any

import httpx
import redis
from playwright.sync_api import Page, expect

from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts, auth
from tests.factories import unique_email

PASSWORD = "correct horse battery"


def _redis_holds(redis_server, needle: bytes) -> list[str]:
    """Every key of every Redis database whose value contains ``needle``."""
    found = []
    for db in range(16):
        client = redis.Redis.from_url(redis_server.url(db))
        try:
            for key in client.scan_iter(count=500):
                values = _values(client, key)
                if any(needle in v for v in values):
                    found.append(f"{db}:{key!r}")
        finally:
            client.close()
    return found


def _values(client: Any, key: bytes) -> list[bytes]:
    kind = client.type(key)
    if kind == b"string":
        return [client.get(key) or b""]
    if kind == b"hash":
        return list(client.hgetall(key).values())
    if kind == b"list":
        return list(client.lrange(key, 0, -1))
    return []


def test_the_browser_keeps_only_a_sealed_token_and_can_sign_out_everywhere(
    page: Page, app_server, shared_db, redis_server
):
    email = unique_email("cookie")
    accounts.create_provider_account(name="Cookie Co", email=email, password=PASSWORD, actor=admin())
    elsewhere = httpx.post(f"{app_server}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()

    page.goto(f"{app_server}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=30_000)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/provider$"), timeout=30_000)
    expect(page.locator("#provider-balance")).to_be_visible(timeout=30_000)

    (cookie,) = [c for c in page.context.cookies() if c["name"] == "hotlead_session"]
    raw = auth.unseal_token(cookie["value"])
    assert raw is not None and raw not in cookie["value"]
    assert auth.authenticate(token=raw).email == email
    assert _redis_holds(redis_server, raw.encode()) == []
    assert _redis_holds(redis_server, cookie["value"].encode())  # Reflex holds the sealed value

    page.locator("#sign-out-everywhere").click()
    page.locator("#confirm-sign-out-everywhere").click()
    expect(page).to_have_url(re.compile(r"/signin"), timeout=30_000)
    me = httpx.get(f"{app_server}/api/v1/auth/me", headers={"Authorization": f"Bearer {elsewhere['token']}"})
    assert me.status_code == 401
