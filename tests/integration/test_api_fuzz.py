"""Schemathesis against the running app's OpenAPI document: every route, called
anonymous, as a provider and as an admin, with generated valid and invalid input.
Zero 5xx, and every error in API.md's shape ``{"error": {code, message, details}}``.

Bounded: ``FUZZ_EXAMPLES`` examples per route (three calls each), derandomized so a
run is repeatable; the whole module stays around a minute or two on 2 cores."""

from __future__ import annotations

import os
import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from hotlead_app.api import build_api_v1
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import AuthSession, User, UserRole
from hotlead_app.models._types import utcnow
from hotlead_app.services import accounts, auth
from tests.factories import make_niche, unique_email

FUZZ_EXAMPLES = int(os.environ.get("HOTLEAD_FUZZ_EXAMPLES", "6"))
# Calls that end the caller's own sessions are made anonymous only (the world's
# tokens must stay valid for the other routes).
ANONYMOUS_ONLY = {("POST", "/auth/logout"), ("POST", "/auth/logout-everywhere")}

schema = schemathesis.openapi.from_dict(build_api_v1().openapi())


def _session_for(email: str) -> str:
    """A session minted directly (no password hashing per role and run)."""
    from datetime import timedelta

    from sqlmodel import select

    token = secrets.token_urlsafe(32)
    with unit_of_work() as uow:
        user = uow.session.exec(select(User).where(User.email == email)).one()
        uow.session.add(
            AuthSession(token_hash=auth._hash(token), user_id=user.id, expires_at=utcnow() + timedelta(hours=1))
        )
    return token


@pytest.fixture(scope="module")
def fuzz_world(module_db, api_server, stripe_standin):
    # The Stripe stand-in answers the routes that always reach Stripe (saving a card).
    admin_email, provider_email = unique_email("fuzz-admin"), unique_email("fuzz-prov")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password="correct horse battery", role=UserRole.ADMIN)
    accounts.create_provider_account(
        name="Fuzz Co", email=provider_email, password="correct horse battery", actor=admin()
    )
    make_niche("roofing")
    return {
        "anonymous": {},
        "provider": {"Authorization": f"Bearer {_session_for(provider_email)}"},
        "admin": {"Authorization": f"Bearer {_session_for(admin_email)}"},
    }


@pytest.fixture
def on_fuzz_world(fuzz_world, module_db):
    from tests.conftest import point_settings_at

    point_settings_at(database_url=module_db)
    return fuzz_world


def _check(response, who: str, case) -> None:
    where = f"{who} {case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500, where
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, where
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, where
        assert isinstance(error["code"], str) and error["code"], where
        assert isinstance(error["message"], str) and isinstance(error["details"], dict), where


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_route_answers_a_5xx_or_an_error_outside_the_contract(case, on_fuzz_world, api_server):
    base = f"{api_server}/api/v1"
    for who, headers in on_fuzz_world.items():
        if who != "anonymous" and (case.method.upper(), case.path) in ANONYMOUS_ONLY:
            continue
        _check(case.call(base_url=base, headers=dict(headers), timeout=30), who, case)
    # The same case once more, every text value ending in a NUL character (which
    # PostgreSQL cannot store), as the role the route is for: a 400, never a 500.
    if _add_nul(case):
        who = next((role for role in ("admin", "provider") if case.path.startswith(f"/{role}")), "anonymous")
        if (case.method.upper(), case.path) not in ANONYMOUS_ONLY:
            _check(case.call(base_url=base, headers=dict(on_fuzz_world[who]), timeout=30), f"{who} (NUL)", case)


def _add_nul(case) -> bool:
    changed = False
    if isinstance(case.query, dict):
        for name, value in case.query.items():
            if isinstance(value, str):
                case.query[name] = value + "\x00"
                changed = True
    if isinstance(case.body, dict):
        for name, value in case.body.items():
            if isinstance(value, str):
                case.body[name] = value + "\x00"
                changed = True
    return changed
