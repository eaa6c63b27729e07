"""The admin API over real HTTP: lead actions (roles, the error shape, 409 for a refused
transition) and GET /admin/leads (filters, keyset pages, 400 for a bad filter)."""

from __future__ import annotations

import uuid
from datetime import UTC

import httpx
import pytest
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
        job = uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(lead.id))).one()
    leads.confirm_lead(token=tokens.make_token(lead.id, job.args["nonce"]))
    return lead.id


def _market(provider_id: uuid.UUID) -> str:
    slug = f"api-{uuid.uuid4().hex[:8]}"
    niche = catalog.create_niche(
        slug=slug, name="Api", fields=[{"name": "zip", "type": "zip", "required": True}], actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Shared", price_per_lead="12.50", max_providers=2, priority_order=1, actor=admin()
    )
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

    reject = httpx.post(f"{api_server}/api/v1/admin/leads/{lead_id}/reject", json={"reason": "spam"}, headers=headers)
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


# --------------------------------------------------------------------------- GET /admin/leads


def _sql(statement: str, params: dict | None = None) -> list:
    from sqlalchemy import text

    with unit_of_work() as uow:
        result = uow.session.execute(text(statement), params or {})
        return result.all() if result.returns_rows else []


def _leads(api: str, headers: dict[str, str], **params) -> httpx.Response:
    return httpx.get(f"{api}/api/v1/admin/leads", params=params, headers=headers)


def _ids(api: str, headers: dict[str, str], **params) -> list[str]:
    resp = _leads(api, headers, limit=500, **params)
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["items"]]


def test_admin_leads_filters_by_status_niche_email_and_days(db, api_server):
    from datetime import datetime, timedelta

    from tests.factories import confirmed_lead, make_market, submitted_lead

    headers = _admin(api_server)
    market, other = make_market(providers=0), make_market(providers=0)
    waiting = confirmed_lead(market.slug)
    new = submitted_lead(market.slug)
    elsewhere = confirmed_lead(other.slug)
    old = submitted_lead(market.slug)
    today = datetime.now(UTC).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    _sql("UPDATE leads SET created_at = :at WHERE id = :id", {"at": midnight - timedelta(days=5), "id": old})
    (email,) = _sql("SELECT email FROM leads WHERE id = :id", {"id": new})[0]
    new, waiting, elsewhere, old = str(new), str(waiting), str(elsewhere), str(old)

    assert _ids(api_server, headers) == [elsewhere, new, waiting, old]  # newest first by default
    assert _ids(api_server, headers, order="newest") == [elsewhere, new, waiting, old]
    assert _ids(api_server, headers, order="oldest") == [old, waiting, new, elsewhere]
    assert _ids(api_server, headers, niche=market.slug) == [new, waiting, old]
    assert _ids(api_server, headers, status="pending_approval") == [elsewhere, waiting]
    assert _ids(api_server, headers, status="pending_approval", niche=market.slug) == [waiting]
    assert _ids(api_server, headers, email=email.upper()) == [new]  # the whole address, any case
    assert _ids(api_server, headers, email=email.split("@")[0][:10].upper()) == [new]  # its start
    assert _ids(api_server, headers, email="nobody@example.com") == []
    assert _ids(api_server, headers, created_from=today.isoformat()) == [elsewhere, new, waiting]
    assert _ids(api_server, headers, created_to=(today - timedelta(days=1)).isoformat()) == [old]
    five_days_ago = (today - timedelta(days=5)).isoformat()
    assert _ids(api_server, headers, created_from=five_days_ago, created_to=five_days_ago) == [old]
    assert _ids(api_server, headers, niche=market.slug, created_from=five_days_ago, order="oldest") == [
        old,
        waiting,
        new,
    ]

    # Items carry what both former endpoints returned.
    item = _leads(api_server, headers, email=email).json()["items"][0]
    assert {
        "id",
        "status",
        "niche",
        "email",
        "created_at",
        "confirmed_at",
        "phone",
        "payload",
        "partner",
        "consent_ip",
        "waiting",
    } <= set(item)
    assert (item["status"], item["niche"], item["email"]) == ("pending_confirmation", market.slug, email)
    # The former /admin/lead-search is gone.
    assert httpx.get(f"{api_server}/api/v1/admin/lead-search", headers=headers).status_code == 404


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_admin_leads_pages_give_every_lead_once_in_order(db, api_server, order):
    """Many leads share a created_at: walking the cursor still gives each one once, in
    (created_at, id) order, with and without a filter."""
    headers = _admin(api_server)
    _sql(
        "INSERT INTO niches (id, slug, name, active, fields) VALUES "
        "('00000000-0000-4000-8000-0000000000d1', 'ties', 'Ties', true, '[]')"
    )
    _sql(
        "INSERT INTO leads (id, niche_id, status, payload, email, created_at) "
        "SELECT gen_random_uuid(), '00000000-0000-4000-8000-0000000000d1', "
        "       CASE WHEN g % 3 = 0 THEN 'rejected' ELSE 'pending_confirmation' END::lead_status, '{}', "
        "       'tie' || g || '@example.com', timestamptz '2026-11-01 12:00:00+00' + (g % 4) * interval '1 second' "
        "FROM generate_series(1, 45) g"
    )
    direction = "ASC" if order == "oldest" else "DESC"
    for filters, where in (({}, ""), ({"status": "rejected"}, "WHERE status = 'rejected'")):
        expected = [
            str(r[0]) for r in _sql(f"SELECT id FROM leads {where} ORDER BY created_at {direction}, id {direction}")
        ]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            resp = _leads(
                api_server, headers, limit=7, order=order, **filters, **({"cursor": cursor} if cursor else {})
            )
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert len(body["items"]) <= 7
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        assert pages == -(-len(expected) // 7)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "nope"}, "status"),
        ({"created_from": "soon"}, "created_from"),
        ({"created_to": "2026-13-01"}, "created_to"),
        ({"created_from": "2026-11-26", "created_to": "2026-11-25"}, "created_to"),
        ({"created_from": "2026-11-26T00:00"}, "created_from"),  # longer than a day
        ({"order": "sideways"}, "order"),
        ({"email": "x" * 256}, "email"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJub3QgYSB0aW1lIiwieCJd"}, "cursor"),  # ["not a time","x"]
        ({"limit": 0}, "limit"),
    ],
)
def test_admin_leads_bad_filter_is_400_and_changes_nothing(db, api_server, params, field):
    from tests.factories import confirmed_lead, make_market

    headers = _admin(api_server)
    confirmed_lead(make_market(providers=0).slug)
    counts = (
        "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM audit_logs), "
        "(SELECT count(*) FROM outbox), (SELECT string_agg(status::text, ',') FROM leads)"
    )
    before = _sql(counts)
    resp = _leads(api_server, headers, **params)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_input" and error["message"]
    assert field in error["details"], error
    assert _sql(counts) == before


@pytest.mark.parametrize("cursor", ["WyJBY21lIiwieCJd", "WzFd"])  # ["Acme","x"], [1]
def test_the_providers_list_answers_a_malformed_cursor_with_400(db, api_server, cursor):
    resp = httpx.get(f"{api_server}/api/v1/admin/providers", params={"cursor": cursor}, headers=_admin(api_server))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["details"] == {"cursor": "invalid"}


CRLF_NAME = "Acme\r\nBcc: victim@example.com"


def test_names_with_a_line_break_are_refused_with_a_field_error_and_write_nothing(db, api_server):
    headers = _admin(api_server)
    api = f"{api_server}/api/v1/admin"

    def refused(resp: httpx.Response, field: str) -> None:
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert error["code"] == "invalid_input" and error["message"]
        assert "one line" in error["details"][field]

    refused(
        httpx.post(
            f"{api}/providers",
            json={"name": CRLF_NAME, "email": unique_email("crlf"), "password": PASSWORD},
            headers=headers,
        ),
        "name",
    )
    refused(
        httpx.post(f"{api}/niches", json={"slug": "crlf", "name": "Roofs\nX", "fields": []}, headers=headers), "name"
    )
    niche = httpx.post(f"{api}/niches", json={"slug": "crlf-ok", "name": "Roofs", "fields": []}, headers=headers)
    assert niche.status_code == 201, niche.text
    niche_id = niche.json()["id"]
    refused(httpx.patch(f"{api}/niches/{niche_id}", json={"name": "Roofs\r"}, headers=headers), "name")
    refused(
        httpx.post(
            f"{api}/niches/{niche_id}/competition-levels",
            json={"name": "Gold\nBcc: x", "price_per_lead": "10.00", "max_providers": 1, "priority_order": 1},
            headers=headers,
        ),
        "name",
    )
    assert _sql("SELECT count(*) FROM service_providers WHERE name LIKE 'Acme%'") == [(0,)]
    assert _sql("SELECT name FROM niches WHERE slug IN ('crlf', 'crlf-ok')") == [("Roofs",)]
    assert _sql("SELECT count(*) FROM competition_levels") == [(0,)]


def test_admin_ledger_csv_follows_the_filters_by_bearer_or_cookie_and_refuses_bad_days(db, api_server):
    import csv
    import io
    from datetime import datetime, timedelta

    from hotlead_app.services import auth

    provider_id, provider_headers = _provider(api_server)
    ledger.post(provider_id=provider_id, type="deposit", amount="40.00", key=f"csv:{provider_id}")
    ledger.adjust(provider_id=provider_id, type="debit", amount="2.50", actor=admin(), memo="fee")
    headers = _admin(api_server)
    today = datetime.now(UTC).date()
    url = f"{api_server}/api/v1/admin/ledger.csv"
    query = {"provider_id": str(provider_id), "from": today.isoformat(), "to": today.isoformat()}

    by_bearer = httpx.get(url, params=query, headers=headers)
    sealed = auth.seal_token(headers["Authorization"].removeprefix("Bearer "))
    by_cookie = httpx.get(url, params=query, cookies={"hotlead_session": sealed})
    for resp in (by_bearer, by_cookie):
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        assert 'filename="ledger.csv"' in resp.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        assert [(r["Type"], r["Amount (USD)"], r["Balance after (USD)"], r["Memo"]) for r in rows] == [
            ("debit", "-2.50", "37.50", "fee"),
            ("deposit", "+40.00", "40.00", ""),
        ]
    debits = httpx.get(url, params={**query, "type": "debit"}, headers=headers)
    assert [r["Type"] for r in csv.DictReader(io.StringIO(debits.text))] == ["debit"]
    yesterday = (today - timedelta(days=1)).isoformat()
    empty = httpx.get(url, params={**query, "from": yesterday, "to": yesterday}, headers=headers)
    assert len(list(csv.DictReader(io.StringIO(empty.text)))) == 0

    # The JSON list takes the same days.
    listed = httpx.get(f"{api_server}/api/v1/admin/ledger", params=query, headers=headers).json()
    assert [i["type"] for i in listed["items"]] == ["debit", "deposit"]

    bad = httpx.get(url, params={**query, "to": yesterday}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {"to": "on or after the first day"}
    bad = httpx.get(f"{api_server}/api/v1/admin/ledger", params={"from": "12/31/26"}, headers=headers)
    assert bad.status_code == 400 and set(bad.json()["error"]["details"]) == {"from"}
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=provider_headers).status_code == 403
