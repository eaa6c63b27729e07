"""The lead actions over real HTTP: roles, the error shape, and 409 for a refused transition."""

from __future__ import annotations

import uuid

import httpx
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import SYSTEM, admin
from hotlead_app.models import OutboxMessage, UserRole
from hotlead_app.services import accounts, catalog, intake, leads, ledger, tokens
from tests.factories import unique_email

PASSWORD = "correct horse battery"


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _admin(api: str) -> dict[str, str]:
    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    return _login(api, email)


def _provider(api: str) -> tuple[uuid.UUID, dict[str, str]]:
    email = unique_email("provider")
    with unit_of_work() as uow:
        provider = catalog.create_provider(name="Acme Roofing", email=email, actor=SYSTEM, uow=uow)
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider.id)
    return provider.id, _login(api, email)


def _confirmed_lead(slug: str) -> uuid.UUID:
    lead = intake.submit_lead(niche_slug=slug, email=unique_email(), payload={"zip": "30301"})
    with unit_of_work() as uow:
        job = uow.session.exec(
            select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead.id))).one()
    leads.confirm_lead(token=tokens.make_token(lead.id, job.args["nonce"]))
    return lead.id


def _market(provider_id: uuid.UUID) -> str:
    slug = f"api-{uuid.uuid4().hex[:8]}"
    niche = catalog.create_niche(slug=slug, name="Api", fields=[{"name": "zip", "type": "zip", "required": True}],
                                 actor=admin())
    level = catalog.create_level(niche_id=niche.id, name="Shared", price_per_lead="12.50", max_providers=2,
                                 priority_order=1, actor=admin())
    ledger.post(provider_id=provider_id, type="deposit", amount="100.00", key=f"dep:{provider_id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider_id)
    return slug


def test_admin_approves_then_an_illegal_transition_answers_409(db, api_server):
    headers = _admin(api_server)
    provider_id, _ = _provider(api_server)
    lead_id = _confirmed_lead(_market(provider_id))
    ok = httpx.post(f"{api_server}/api/v1/admin/leads/{lead_id}/approve", json={"memo": "looks real"}, headers=headers)
    assert ok.status_code == 200 and ok.json() == {"id": str(lead_id), "status": "approved"}
    again = httpx.post(f"{api_server}/api/v1/admin/leads/{lead_id}/approve", json={}, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "illegal_transition"
    assert again.json()["error"]["details"] == {"from": "approved", "to": "approved"}


def test_distributed_lead_cannot_be_rejected_and_refund_twice_is_409(db, api_server):
    from hotlead_app.services import distribution

    headers = _admin(api_server)
    provider_id, provider_headers = _provider(api_server)
    lead_id = _confirmed_lead(_market(provider_id))
    leads.approve_lead(lead_id=lead_id, actor=admin())
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"

    reject = httpx.post(f"{api_server}/api/v1/admin/leads/{lead_id}/reject",
                        json={"reason": "spam"}, headers=headers)
    assert reject.status_code == 409

    detail = httpx.get(f"{api_server}/api/v1/admin/leads/{lead_id}", headers=headers).json()
    (assignment,) = detail["assignments"]
    assert assignment["charged_amount"] == "12.50"
    assert [d["reason"] for d in detail["explanation"]] == ["chosen"]
    assert [a["action"] for a in detail["audit_trail"]][-1] == "distributed"

    url = f"{api_server}/api/v1/admin/assignments/{assignment['id']}/refund"
    first = httpx.post(url, json={"reason": "wrong number", "memo": "secret memo"}, headers=headers)
    assert first.status_code == 200 and first.json()["amount"] == "12.50"
    second = httpx.post(url, json={"reason": "again"}, headers=headers)
    assert second.status_code == 409 and second.json()["error"]["code"] == "already_refunded"

    mine = httpx.get(f"{api_server}/api/v1/provider/leads/{lead_id}/explanation", headers=provider_headers)
    assert mine.status_code == 200
    assert [i["reason"] for i in mine.json()["items"]] == ["chosen"]
    assert "secret memo" not in mine.text


def test_roles_anonymous_401_provider_403_bad_body_400(db, api_server):
    _, provider_headers = _provider(api_server)
    url = f"{api_server}/api/v1/admin/leads/{uuid.uuid4()}/approve"
    anon = httpx.post(url, json={})
    assert anon.status_code == 401 and anon.json()["error"]["code"] == "not_authenticated"
    assert httpx.post(url, json={}, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    forbidden = httpx.post(url, json={}, headers=provider_headers)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    headers = _admin(api_server)
    assert httpx.post(url, json={}, headers=headers).status_code == 404
    bad = httpx.post(f"{api_server}/api/v1/admin/leads/not-a-uuid/reject", json={"reason": ""}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_input"


def test_login_gives_the_same_answer_for_unknown_email_and_wrong_password(db, api_server):
    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    wrong = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": email, "password": "nope-nope-nope"})
    unknown = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": "x@y.co", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    headers = _login(api_server, email)
    me = httpx.get(f"{api_server}/api/v1/auth/me", headers=headers).json()
    assert me["email"] == email and me["role"] == "admin"
    assert httpx.post(f"{api_server}/api/v1/auth/logout", headers=headers).status_code == 204
    assert httpx.get(f"{api_server}/api/v1/auth/me", headers=headers).status_code == 401
