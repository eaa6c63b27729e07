"""Nothing a client sends gives a 500: crafted cursors, NUL bytes and lone surrogates
are a 400 in API.md's shape on every route that reads them."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import UserRole
from hotlead_app.services import accounts
from tests.factories import unique_email

PASSWORD = "correct horse battery"

PROVIDER_PAGED = ["/provider/ledger", "/provider/leads", "/provider/missed-leads"]
ADMIN_PAGED = [
    "/admin/ledger",
    "/admin/audit-logs",
    "/admin/leads",
    "/admin/providers",
    "/admin/approval-queue",
    "/admin/reconciliation-issues",
]


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CRAFTED = [
    _cursor("x"),
    _cursor([1, 2]),
    _cursor({"a": 1}),
    _cursor(None),
    _cursor(True),
    _cursor(1.5),
    _cursor(10**30),
    _cursor(-(10**30)),
    _cursor(["x", "y", "z"]),
    _cursor([{"a": 1}, []]),
    _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
    _cursor(["\u0000", "\u0000"]),
    _cursor("\u0000"),
    _cursor(["\ud800", "3f2b5c1e-0000-4000-8000-000000000000"]),
    _cursor(["2026-01-01T00:00:00+00:00", "\udfff"]),
    "%%%",
    "e30",  # "{}"
]


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


@pytest.fixture(scope="module")
def callers(module_db, api_server):
    admin_email, provider_email = unique_email("admin"), unique_email("prov")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    accounts.create_provider_account(name="Cursor Co", email=provider_email, password=PASSWORD, actor=admin())
    return {"admin": _login(api_server, admin_email), "provider": _login(api_server, provider_email)}


@pytest.fixture
def on_callers(callers, module_db):
    from tests.conftest import point_settings_at

    point_settings_at(database_url=module_db)
    return callers


def _assert_api_error(resp: httpx.Response, status: int = 400) -> dict:
    assert resp.status_code == status, (resp.request.url, resp.status_code, resp.text)
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["details"], dict)
    return body


@pytest.mark.parametrize("path", PROVIDER_PAGED + ADMIN_PAGED)
def test_a_crafted_cursor_is_a_400_cursor_invalid(on_callers, api_server, path):
    headers = on_callers["provider" if path.startswith("/provider") else "admin"]
    for cursor in CRAFTED:
        resp = httpx.get(f"{api_server}/api/v1{path}", params={"cursor": cursor}, headers=headers)
        body = _assert_api_error(resp)
        assert body["error"]["details"].get("cursor") == "invalid", (path, cursor, body)


def test_nul_bytes_and_lone_surrogates_are_a_400_not_a_database_error(on_callers, api_server):
    headers = on_callers["admin"]
    api = f"{api_server}/api/v1"
    # Query strings: raw %00 and an encoded lone surrogate (%ED%A0%80 is not UTF-8).
    for query in ("email=a%00b", "email=%ED%A0%80", "by=%00", "entity_type=x%00"):
        resp = httpx.get(f"{api}/admin/leads?{query}", headers=headers)
        _assert_api_error(resp)
        resp = httpx.get(f"{api}/admin/audit-logs?{query}", headers=headers)
        _assert_api_error(resp)
    # JSON bodies: \u0000 and a lone surrogate escaped in the JSON text.
    for raw in ('{"name": "a\\u0000b"}', '{"name": "\\ud800"}'):
        resp = httpx.post(
            f"{api}/provider/api-keys",
            content=raw.encode(),
            headers={**on_callers["provider"], "content-type": "application/json"},
        )
        _assert_api_error(resp)
    resp = httpx.post(
        f"{api}/auth/login",
        content=b'{"email": "a\\u0000@example.com", "password": "x\\ud800yyyyyyyy"}',
        headers={"content-type": "application/json"},
    )
    _assert_api_error(resp)
    resp = httpx.post(
        f"{api}/leads",
        content=b'{"niche": "x\\u0000", "payload": {"zip": "\\udfff"}, "email": "a@example.com"}',
        headers={"content-type": "application/json"},
    )
    _assert_api_error(resp)


def test_the_last_day_there_is_is_a_valid_date_filter(on_callers, api_server):
    headers = on_callers["admin"]
    for params in ({"created_to": "9999-12-31"}, {"created_from": "0001-01-01", "created_to": "9999-12-31"}):
        resp = httpx.get(f"{api_server}/api/v1/admin/leads", params=params, headers=headers)
        assert resp.status_code == 200, resp.text


def test_json_nested_deeper_than_the_parser_allows_is_a_400(on_callers, api_server):
    deep = b'{"slug": "deep", "name": "Deep", "fields": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    resp = httpx.post(
        f"{api_server}/api/v1/admin/niches",
        content=deep,
        headers={**on_callers["admin"], "content-type": "application/json"},
    )
    _assert_api_error(resp)
