"""Every private API route, called as anonymous, a provider, another provider and an admin.

The routes are enumerated from the app itself, so a new route cannot be forgotten."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from hotlead_app.api import build_api_v1
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, leads, ledger
from tests.factories import unique_email

PASSWORD = "correct horse battery"


def private_routes() -> list[tuple[str, str]]:
    """Every admin and provider operation the app publishes (its OpenAPI document)."""
    routes = []
    for path, operations in build_api_v1().openapi()["paths"].items():
        if path.startswith(("/admin", "/provider")):
            routes.extend((method.upper(), path) for method in sorted(operations))
    return routes


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


@pytest.fixture(scope="module")
def world(module_db, api_server):
    admin_email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    people = {}
    for who in ("alice", "bob"):
        email = unique_email(who)
        provider = accounts.create_provider_account(name=who.title(), email=email, password=PASSWORD, actor=admin())
        people[who] = (provider.id, _login(api_server, email))
    niche = catalog.create_niche(
        slug=f"authz-{uuid.uuid4().hex[:6]}",
        name="Authz",
        fields=[{"name": "zip", "type": "zip", "required": True}],
        actor=admin(),
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Shared", price_per_lead="5.00", max_providers=2, priority_order=1, actor=admin()
    )
    ids = {"niche_id": niche.id, "level_id": level.id}
    for who, (provider_id, _headers) in people.items():
        ledger.post(provider_id=provider_id, type="deposit", amount="50.00", key=f"dep:{provider_id}")
        sub = catalog.create_subscription(
            competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider_id
        )
        ids[f"{who}_subscription"] = sub.id
    from tests.factories import approved_lead

    lead_id = approved_lead(niche.slug, {"zip": "30301"})
    leads.reject_lead  # noqa: B018  (the lead is distributed below)
    from hotlead_app.services import distribution

    distribution.distribute_lead(lead_id=lead_id)
    ids["lead_id"] = lead_id
    return {"admin": _login(api_server, admin_email), "alice": people["alice"], "bob": people["bob"], "ids": ids}


def _path(path: str, ids: dict, owner: str) -> str:
    values = {
        "lead_id": ids["lead_id"],
        "assignment_id": uuid.uuid4(),
        "niche_id": ids["niche_id"],
        "level_id": ids["level_id"],
        "provider_id": uuid.uuid4(),
        "key_id": uuid.uuid4(),
        "subscription_id": ids[f"{owner}_subscription"],
        "deposit_id": uuid.uuid4(),
        "issue_id": uuid.uuid4(),
        "return_id": uuid.uuid4(),
        "endpoint_id": uuid.uuid4(),
        "delivery_id": uuid.uuid4(),
        "month": "2026-11",
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def test_the_matrix_covers_every_private_route():
    routes = private_routes()
    assert ("POST", "/admin/leads/{lead_id}/approve") in routes
    assert ("GET", "/provider/leads/{lead_id}/explanation") in routes
    assert len(routes) >= 25


@pytest.mark.parametrize("method,path", private_routes())
def test_anonymous_gets_401_and_the_wrong_role_gets_403(on_world, api_server, method, path):
    world = on_world
    url = f"{api_server}/api/v1{_path(path, world['ids'], 'alice')}"
    anon = httpx.request(method, url, json={})
    assert anon.status_code == 401, (method, path, anon.text)
    assert anon.json()["error"]["code"] == "not_authenticated"
    wrong = world["alice"][1] if path.startswith("/admin") else world["admin"]
    forbidden = httpx.request(method, url, json={}, headers=wrong)
    assert forbidden.status_code == 403, (method, path, forbidden.text)
    right = world["admin"] if path.startswith("/admin") else world["alice"][1]
    allowed = httpx.request(method, url, json={}, headers=right)
    assert allowed.status_code not in (401, 403, 500), (method, path, allowed.text)
    assert "admin_only_memo" not in allowed.text or path.startswith("/admin")


@pytest.fixture
def on_world(world, module_db):
    """Tests of this module share one world; settings point back at it each time."""
    from tests.conftest import point_settings_at

    point_settings_at(database_url=module_db)
    return world


def test_a_provider_cannot_touch_another_providers_subscription(on_world, api_server):
    world = on_world
    bob_sub = world["ids"]["bob_subscription"]
    alice = world["alice"][1]
    for method, body in (("PATCH", {"active": False}), ("DELETE", None)):
        resp = httpx.request(method, f"{api_server}/api/v1/provider/subscriptions/{bob_sub}", json=body, headers=alice)
        assert resp.status_code == 404, resp.text
    subs = httpx.get(f"{api_server}/api/v1/provider/subscriptions", headers=alice).json()["items"]
    assert [s["id"] for s in subs] == [str(world["ids"]["alice_subscription"])]


def test_providers_see_only_their_own_leads_ledger_and_explanations(on_world, api_server):
    world = on_world
    lead_id = world["ids"]["lead_id"]
    for who in ("alice", "bob"):
        provider_id, headers = world[who]
        me = httpx.get(f"{api_server}/api/v1/provider/me", headers=headers).json()
        assert me["id"] == str(provider_id) and me["balance"] == "45.00"
        mine = httpx.get(f"{api_server}/api/v1/provider/leads", headers=headers).json()["items"]
        assert [x["lead_id"] for x in mine] == [str(lead_id)]
        assert mine[0]["email"] and mine[0]["payload"] == {"zip": "30301"} and mine[0]["providers_on_lead"] == 2
        entries = httpx.get(f"{api_server}/api/v1/provider/ledger", headers=headers).json()["items"]
        assert {e["type"] for e in entries} == {"deposit", "charge"}
        explanation = httpx.get(f"{api_server}/api/v1/provider/leads/{lead_id}/explanation", headers=headers).json()
        assert [i["subscription_id"] for i in explanation["items"]] == [str(world["ids"][f"{who}_subscription"])]


def test_admin_only_memo_never_reaches_a_provider(on_world, api_server):
    world = on_world
    provider_id, headers = world["alice"]
    memo = f"memo-{uuid.uuid4().hex}"
    adjust = httpx.post(
        f"{api_server}/api/v1/admin/providers/{provider_id}/adjustments",
        json={"type": "credit", "amount": "3.00", "memo": memo},
        headers=world["admin"],
    )
    assert adjust.status_code == 201, adjust.text
    logs = httpx.get(
        f"{api_server}/api/v1/admin/audit-logs", params={"entity_id": str(provider_id)}, headers=world["admin"]
    ).text
    assert memo in logs
    for path in (
        "/provider/me",
        "/provider/ledger",
        "/provider/leads",
        "/provider/subscriptions",
        f"/provider/leads/{world['ids']['lead_id']}/explanation",
        "/provider/api-keys",
    ):
        assert memo not in httpx.get(f"{api_server}/api/v1{path}", headers=headers).text


def test_api_keys_work_until_revoked(on_world, api_server):
    world = on_world
    _, headers = world["alice"]
    created = httpx.post(f"{api_server}/api/v1/provider/api-keys", json={"name": "crm"}, headers=headers).json()
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    assert httpx.get(f"{api_server}/api/v1/provider/me", headers=key_headers).status_code == 200
    listed = httpx.get(f"{api_server}/api/v1/provider/api-keys", headers=headers).json()["items"]
    (mine,) = [k for k in listed if k["id"] == created["id"]]
    assert mine["prefix"] == created["key"][:12] and "key" not in mine and not mine["revoked"]
    _, bob = world["bob"]
    assert httpx.delete(f"{api_server}/api/v1/provider/api-keys/{created['id']}", headers=bob).status_code == 404
    assert httpx.delete(f"{api_server}/api/v1/provider/api-keys/{created['id']}", headers=headers).status_code == 204
    assert httpx.get(f"{api_server}/api/v1/provider/me", headers=key_headers).status_code == 401


def test_five_failed_logins_for_one_email_get_429(db, api_server, monkeypatch):
    from hotlead_app.services import ratelimit
    from tests.conftest import point_settings_at

    monkeypatch.setenv("HOTLEAD_RATE_LIMIT_LOGIN", "5/15minutes")
    point_settings_at()
    ratelimit.reset_cache()
    email = unique_email("victim")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    url = f"{api_server}/api/v1/auth/login"
    codes = [httpx.post(url, json={"email": email, "password": "wrong-password"}).status_code for _ in range(5)]
    assert codes == [401] * 5
    blocked = httpx.post(url, json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    other = unique_email("other")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=other, password=PASSWORD, role=UserRole.ADMIN)
    assert httpx.post(url, json={"email": other, "password": PASSWORD}).status_code == 200
    monkeypatch.undo()
    point_settings_at()


def test_sessions_expire(db, api_server):
    from sqlalchemy import text

    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    headers = _login(api_server, email)
    assert httpx.get(f"{api_server}/api/v1/auth/me", headers=headers).status_code == 200
    with unit_of_work() as uow:
        uow.session.execute(text("UPDATE auth_sessions SET expires_at = now() - interval '1 second'"))
    assert httpx.get(f"{api_server}/api/v1/auth/me", headers=headers).status_code == 401
