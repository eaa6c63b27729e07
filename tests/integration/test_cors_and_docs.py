"""Outside dev, only the public URL may call us with credentials (CORS), and the API's
documents (/openapi.json, /docs, /redoc) are for a signed-in admin only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import UserRole
from hotlead_app.services import accounts
from hotlead_app.settings import PROJECT_ROOT, get_settings
from tests.factories import unique_email

PASSWORD = "correct horse battery"
DOCS = ["/openapi.json", "/docs", "/redoc"]
STAGING = {
    "HOTLEAD_ENV": "staging",
    "HOTLEAD_SECRET_KEY": "s" * 48,
    "HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD": "a-real-admin-password",
    "HOTLEAD_PUBLIC_URL": "https://leads.example.com/",
}


def _login(api: str, email: str) -> str:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


def test_docs_are_open_in_dev(db, api_server):
    assert get_settings().is_dev
    for path in DOCS:
        assert httpx.get(f"{api_server}/api/v1{path}").status_code == 200, path
    assert "/leads" in httpx.get(f"{api_server}/api/v1/openapi.json").json()["paths"]


def test_docs_outside_dev_only_for_a_signed_in_admin(db, api_server):
    admin_email, provider_email = unique_email("admin"), unique_email("prov")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    accounts.create_provider_account(name="Docs Co", email=provider_email, password=PASSWORD, actor=admin())
    admin_token, provider_token = _login(api_server, admin_email), _login(api_server, provider_email)

    mp = pytest.MonkeyPatch()
    try:
        for key, value in STAGING.items():
            mp.setenv(key, value)
        get_settings.cache_clear()
        assert not get_settings().is_dev
        for path in DOCS:
            url = f"{api_server}/api/v1{path}"
            for headers in ({}, {"Authorization": f"Bearer {provider_token}"}, {"Authorization": "Bearer nope"}):
                resp = httpx.get(url, headers=headers)
                assert resp.status_code == 404, (path, headers, resp.text)
                assert resp.json()["error"]["code"] == "not_found"
            assert httpx.get(url, headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200, path
        # In the browser the back office's session cookie is enough.
        cookie = _session_cookie(admin_token)
        resp = httpx.get(f"{api_server}/api/v1/docs", cookies={"hotlead_session": cookie})
        assert resp.status_code == 200 and "swagger" in resp.text.lower()
    finally:
        mp.undo()
        get_settings.cache_clear()


def _session_cookie(token: str) -> str:
    """What the back office keeps in its cookie for this session token."""
    from hotlead_app.services import auth

    seal = getattr(auth, "seal_token", None)
    return seal(token) if seal else token


CORS_PROBE = """
import json, warnings
warnings.simplefilter("ignore")
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from reflex.app import App
from reflex.config import get_config
api = Starlette(routes=[Route("/x", lambda request: PlainTextResponse("ok"))])
App._add_cors(api)
client = TestClient(api)
out = {"config": list(get_config().cors_allowed_origins)}
for origin in ("https://evil.example", "https://leads.example.com"):
    resp = client.get("/x", headers={"Origin": origin, "Cookie": "hotlead_session=x"})
    pre = client.options("/x", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    out[origin] = [resp.headers.get("access-control-allow-origin"), pre.headers.get("access-control-allow-origin")]
print(json.dumps(out))
"""


def _cors(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLEAD_", "REFLEX_CORS"))}
    out = subprocess.run(
        [sys.executable, "-c", CORS_PROBE],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cors_outside_dev_allows_only_the_public_url():
    staging = _cors(STAGING)
    assert staging["config"] == ["https://leads.example.com"]
    assert staging["https://evil.example"] == [None, None]
    assert staging["https://leads.example.com"] == ["https://leads.example.com"] * 2


def test_settings_give_the_public_origin():
    from hotlead_app.settings import Settings

    assert Settings(env="dev").cors_allowed_origins == ("*",)
    prod_like = Settings(
        env="staging",
        secret_key="k" * 40,
        bootstrap_admin_password="x-real-one",
        public_url="HTTPS://Leads.Example.com:8443/app/",
    )
    assert prod_like.cors_allowed_origins == ("https://leads.example.com:8443",)
