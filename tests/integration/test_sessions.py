"""Sessions: an absolute lifetime and an idle timeout enforced by the server, "sign out
everywhere", and the back office's cookie holding only a sealed token."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import AuthSession, UserRole
from hotlead_app.models._types import utcnow
from hotlead_app.services import accounts, auth
from hotlead_app.settings import get_settings
from tests.factories import unique_email

PASSWORD = "correct horse battery"


def _user(role: UserRole = UserRole.ADMIN) -> str:
    email = unique_email(role.value)
    if role == UserRole.ADMIN:
        with unit_of_work() as uow:
            accounts.create_user(uow, email=email, password=PASSWORD, role=role)
    else:
        accounts.create_provider_account(name="Session Co", email=email, password=PASSWORD, actor=admin())
    return email


def _login(api: str, email: str) -> str:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def _me(api: str, token: str) -> int:
    return httpx.get(f"{api}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def _session(token: str) -> AuthSession:
    from sqlmodel import select

    with unit_of_work() as uow:
        return uow.session.exec(select(AuthSession).where(AuthSession.token_hash == auth._hash(token))).one()


def test_the_absolute_lifetime_ends_a_session_in_use(db, api_server):
    token = _login(api_server, _user())
    absolute = timedelta(hours=get_settings().session_absolute_hours)
    # Signed in a minute short of the lifetime, used all along: still in.
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE auth_sessions SET created_at = now() - :age"), {"age": absolute - timedelta(minutes=1)}
        )
    assert _me(api_server, token) == 200
    session = _session(token)
    # The idle deadline is never moved past the absolute end.
    assert session.expires_at <= session.created_at + absolute
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE auth_sessions SET created_at = now() - :age, expires_at = now() + interval '1 hour'"),
            {"age": absolute + timedelta(seconds=1)},
        )
    assert _me(api_server, token) == 401


def test_an_idle_session_ends_and_a_used_one_is_renewed(db, api_server):
    token = _login(api_server, _user())
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    first = _session(token)
    assert first.expires_at - first.created_at <= idle + timedelta(seconds=5)
    with unit_of_work() as uow:
        uow.session.execute(text("UPDATE auth_sessions SET expires_at = now() + interval '2 minutes'"))
    assert _me(api_server, token) == 200
    assert _session(token).expires_at >= utcnow() + idle - timedelta(minutes=1)  # used: renewed
    with unit_of_work() as uow:
        uow.session.execute(text("UPDATE auth_sessions SET expires_at = now() - interval '1 second'"))
    assert _me(api_server, token) == 401


def test_sign_out_everywhere_ends_every_session_of_the_account_only(db, api_server):
    email = _user(UserRole.PROVIDER)
    here, there = _login(api_server, email), _login(api_server, email)
    bystander = _login(api_server, _user())
    key = httpx.post(
        f"{api_server}/api/v1/provider/api-keys", json={"name": "crm"}, headers={"Authorization": f"Bearer {here}"}
    ).json()["key"]
    resp = httpx.post(f"{api_server}/api/v1/auth/logout-everywhere", headers={"Authorization": f"Bearer {here}"})
    assert resp.status_code == 200 and resp.json() == {"sessions_ended": 2}, resp.text
    assert _me(api_server, here) == 401 and _me(api_server, there) == 401
    assert _me(api_server, bystander) == 200
    assert _me(api_server, key) == 200  # API keys are revoked on their own
    assert httpx.post(f"{api_server}/api/v1/auth/logout-everywhere").status_code == 401


def test_the_cookie_routes_take_a_sealed_token_only(db, api_server):
    token = _login(api_server, _user(UserRole.PROVIDER))
    url = f"{api_server}/api/v1/provider/ledger.csv"
    assert httpx.get(url, cookies={"hotlead_session": auth.seal_token(token)}).status_code == 200
    assert httpx.get(url, cookies={"hotlead_session": token}).status_code == 401
    # ... and a sealed token is not a bearer token.
    assert _me(api_server, auth.seal_token(token)) == 401
