"""Sign-in throttling: nobody can lock the admin out from elsewhere, a burst of parallel
guesses is counted exactly, and sign-in fails closed when Redis is down."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from hotlead_app.db import unit_of_work
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, login_throttle
from hotlead_app.settings import get_settings
from tests.factories import unique_email

PASSWORD = "correct horse battery"


@pytest.fixture
def limits(db, monkeypatch):
    """Small limits, X-Forwarded-For trusted from this machine (each test's callers
    get their own made-up addresses)."""

    def apply(email_ip: str = "5/15minutes", ip: str = "30/15minutes", email: str = "8/15minutes") -> None:
        monkeypatch.setenv("HOTLEAD_RATE_LIMIT_LOGIN", email_ip)
        monkeypatch.setenv("HOTLEAD_RATE_LIMIT_LOGIN_IP", ip)
        monkeypatch.setenv("HOTLEAD_RATE_LIMIT_LOGIN_EMAIL", email)
        monkeypatch.setenv("HOTLEAD_TRUSTED_PROXIES", "127.0.0.1/32")
        get_settings.cache_clear()
        login_throttle.reset_cache()

    apply()
    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    login_throttle.reset_cache()


def _address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _admin() -> str:
    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    return email


def _login(api: str, email: str, password: str, ip: str) -> httpx.Response:
    return httpx.post(
        f"{api}/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": ip},
        timeout=30,
    )


def test_an_attacker_elsewhere_cannot_lock_the_admin_out(limits, api_server):
    admin_email = _admin()
    attackers = [_address() for _ in range(3)]
    codes = [_login(api_server, admin_email, f"guess-{i}", attackers[i % 3]).status_code for i in range(24)]
    assert codes.count(401) == 15 and codes.count(429) == 9  # 5 guesses per attacker address, then 429
    started = time.monotonic()
    mine = _login(api_server, admin_email, PASSWORD, _address())
    assert mine.status_code == 200, mine.text
    # Past the per-email ceiling the admin's own attempt is slowed, never refused.
    assert time.monotonic() - started >= login_throttle.MAX_DELAY * 0.9
    assert _login(api_server, admin_email, "guess-again", attackers[0]).status_code == 429


def test_a_burst_of_parallel_guesses_is_counted_before_any_password_check(limits, api_server):
    email = _admin()
    ip = _address()
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda i: _login(api_server, email, f"guess-{i}", ip).status_code, range(24)))
    assert sorted(codes) == [401] * 5 + [429] * 19
    blocked = _login(api_server, email, PASSWORD, ip)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["error"]["code"] == "rate_limited"


def test_one_address_guessing_many_accounts_is_stopped(limits, api_server):
    limits(ip="6/15minutes")
    ip = _address()
    codes = [_login(api_server, unique_email("nobody"), "guess", ip).status_code for _ in range(8)]
    assert codes == [401] * 6 + [429] * 2
    # Another address is not affected.
    assert _login(api_server, _admin(), PASSWORD, _address()).status_code == 200


def test_correct_sign_ins_do_not_use_up_the_limits(limits, api_server):
    email, ip = _admin(), _address()
    assert [_login(api_server, email, PASSWORD, ip).status_code for _ in range(8)] == [200] * 8


def test_sign_in_fails_closed_when_redis_is_down(limits, api_server, monkeypatch):
    from hotlead_app.devstack.embedded import free_port

    email = _admin()
    monkeypatch.setenv("HOTLEAD_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    login_throttle.reset_cache()
    resp = _login(api_server, email, PASSWORD, _address())
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["error"]["code"] == "service_unavailable" and set(body["error"]) == {"code", "message", "details"}
