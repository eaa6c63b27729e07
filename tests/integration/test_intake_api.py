"""POST /api/v1/leads over real HTTP writes the same lead the form does."""

from __future__ import annotations

import uuid

import httpx
from sqlmodel import select

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.models import Lead, LeadStatus, OutboxMessage
from tests.factories import make_niche, unique_email


def _leads() -> list[Lead]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(Lead)).all())


def test_api_submit_writes_a_pending_confirmation_lead_with_a_hashed_token(db, api_server):
    slug = make_niche()
    email = unique_email()
    resp = httpx.post(
        f"{api_server}/api/v1/leads",
        json={
            "niche": slug,
            "email": email,
            "phone": "+1 (404) 555-0100",
            "payload": {"zip": "30301", "roof_type": "metal", "area_sqft": "1200"},
            "referrer_url": "https://example.com/ad",
            "utm_params": {"utm_source": "google"},
        },
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["status"] == "pending_confirmation"
    (lead,) = _leads()
    assert str(lead.id) == body["id"]
    assert lead.status == LeadStatus.PENDING_CONFIRMATION
    assert lead.email == email
    assert lead.phone == "+14045550100"
    assert lead.payload == {"zip": "30301", "roof_type": "metal", "area_sqft": 1200}
    assert lead.utm_params == {"utm_source": "google"}
    assert lead.confirmation_token_hash and len(lead.confirmation_token_hash) == 64
    assert lead.confirmation_expires_at > lead.created_at
    assert lead.confirmed_at is None
    with unit_of_work() as uow:
        (job,) = uow.session.exec(select(OutboxMessage)).all()
    assert job.task == jobs.EMAIL_LEAD_CONFIRMATION
    assert job.args["lead_id"] == str(lead.id)


def test_the_name_is_kept_and_required_when_the_niche_says_so(db, api_server):
    """Issue #16: ``name`` is a standard field; a niche with ``name_required`` refuses a
    lead without one (400 naming ``name``, nothing written); the phone is stored in E.164."""
    from hotlead_app.domain.actors import admin
    from hotlead_app.services import catalog
    from tests.factories import ROOFING_FIELDS

    niche = catalog.create_niche(
        slug=f"named-{uuid.uuid4().hex[:8]}", name="Named", fields=ROOFING_FIELDS, name_required=True, actor=admin()
    )
    listed = {n["slug"]: n for n in httpx.get(f"{api_server}/api/v1/niches").json()}
    assert listed[niche.slug]["name_required"] is True
    body = {"niche": niche.slug, "email": unique_email(), "payload": {"zip": "30301", "roof_type": "metal"}}
    missing = httpx.post(f"{api_server}/api/v1/leads", json={**body, "name": "  ", "phone": "12"})
    assert missing.status_code == 400
    assert set(missing.json()["error"]["details"]) == {"name", "phone"}
    assert _leads() == []
    ok = httpx.post(f"{api_server}/api/v1/leads", json={**body, "name": " Dana  Smith ", "phone": "(404) 555-0101"})
    assert ok.status_code == 201, ok.text
    (lead,) = _leads()
    assert (lead.name, lead.phone) == ("Dana Smith", "+14045550101")


def test_invalid_email_gets_a_field_error_and_writes_nothing(db, api_server):
    slug = make_niche()
    resp = httpx.post(
        f"{api_server}/api/v1/leads",
        json={
            "niche": slug,
            "email": "not-an-email",
            "payload": {"zip": "3030", "roof_type": "slate"},
        },
    )
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_input"
    assert set(error["details"]) == {"email", "payload.zip", "payload.roof_type"}
    assert _leads() == []
    with unit_of_work() as uow:
        assert uow.session.exec(select(OutboxMessage)).all() == []


def test_unknown_niche_and_unknown_fields_are_refused(db, api_server):
    slug = make_niche()
    resp = httpx.post(f"{api_server}/api/v1/leads", json={"niche": "nope", "email": unique_email()})
    assert resp.status_code == 404
    assert resp.json()["error"]["details"] == {"niche": "unknown niche"}
    resp = httpx.post(
        f"{api_server}/api/v1/leads",
        json={"niche": slug, "email": unique_email(), "payload": {"zip": "30301", "roof_type": "tile", "x": 1}},
    )
    assert resp.status_code == 400
    assert "payload.x" in resp.json()["error"]["details"]
    assert _leads() == []


def test_malformed_bodies_get_the_error_shape_not_a_500(db, api_server):
    for content, ctype in [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b"niche=x", "application/x-www-form-urlencoded"),
    ]:
        resp = httpx.post(f"{api_server}/api/v1/leads", content=content, headers={"content-type": ctype})
        assert resp.status_code == 400, (content, resp.text)
        assert resp.json()["error"]["code"] == "invalid_input"
    resp = httpx.post(f"{api_server}/api/v1/leads", json={"niche": "x" * 65, "email": "a@b.co"})
    assert resp.status_code == 400
    assert "niche" in resp.json()["error"]["details"]
    assert _leads() == []


def test_niches_list_and_openapi_document(db, api_server):
    slug = make_niche()
    niches = httpx.get(f"{api_server}/api/v1/niches").json()
    assert [n["slug"] for n in niches] == [slug]
    assert niches[0]["fields"][0]["name"] == "zip"
    doc = httpx.get(f"{api_server}/api/v1/openapi.json").json()
    assert "/leads" in doc["paths"] and "/niches" in doc["paths"]
    missing = httpx.get(f"{api_server}/api/v1/leads/{uuid.uuid4()}")
    assert missing.status_code in (404, 405)
    assert "error" in missing.json()


def test_confirm_endpoint_confirms_once_and_refuses_bad_or_expired_tokens(db, api_server):
    from sqlalchemy import text

    from hotlead_app.services import tokens

    slug = make_niche()
    lead = httpx.post(
        f"{api_server}/api/v1/leads",
        json={"niche": slug, "email": unique_email(), "payload": {"zip": "30301", "roof_type": "tile"}},
    ).json()
    lead_id = uuid.UUID(lead["id"])
    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage)).one()
    token = tokens.make_token(lead_id, job.args["nonce"])
    url = f"{api_server}/api/v1/leads/confirm"
    first = httpx.post(url, json={"token": token})
    assert first.status_code == 200 and first.json()["status"] == "pending_approval"
    again = httpx.post(url, json={"token": token})
    assert again.status_code == 200 and again.json()["status"] == "pending_approval"
    tampered = httpx.post(url, json={"token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")})
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "invalid_input"
    assert httpx.post(url, json={"token": "garbage"}).status_code == 400

    other = httpx.post(
        f"{api_server}/api/v1/leads",
        json={"niche": slug, "email": unique_email(), "payload": {"zip": "30301", "roof_type": "tile"}},
    ).json()
    other_id = uuid.UUID(other["id"])
    with unit_of_work() as uow:
        job = uow.session.exec(select(OutboxMessage).where(OutboxMessage.args["lead_id"].astext == str(other_id))).one()
        uow.session.execute(
            text("UPDATE leads SET confirmation_expires_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": other_id},
        )
    expired = httpx.post(url, json={"token": tokens.make_token(other_id, job.args["nonce"])})
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "expired"
    with unit_of_work() as uow:
        assert uow.session.get(Lead, other_id).status == LeadStatus.PENDING_CONFIRMATION


def test_malformed_phone_and_non_object_payload_are_refused(db, api_server):
    slug = make_niche()
    bad_phone = httpx.post(
        f"{api_server}/api/v1/leads",
        json={
            "niche": slug,
            "email": unique_email(),
            "phone": "call me maybe",
            "payload": {"zip": "30301", "roof_type": "tile"},
        },
    )
    assert bad_phone.status_code == 400 and set(bad_phone.json()["error"]["details"]) == {"phone"}
    not_object = httpx.post(f"{api_server}/api/v1/leads", json={"niche": slug, "email": unique_email(), "payload": [1]})
    assert not_object.status_code == 400 and "payload" in not_object.json()["error"]["details"]
    assert _leads() == []


def test_a_lead_answer_with_a_line_break_gets_a_field_error_and_writes_nothing(db, api_server):
    slug = make_niche(fields=[{"name": "zip", "type": "zip", "required": True}, {"name": "full_name", "type": "text"}])
    resp = httpx.post(
        f"{api_server}/api/v1/leads",
        json={"niche": slug, "email": "jo@example.com", "payload": {"zip": "30301", "full_name": "Jo\r\nBcc: x@y.z"}},
    )
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_input" and set(error["details"]) == {"payload.full_name"}
    assert _leads() == []
