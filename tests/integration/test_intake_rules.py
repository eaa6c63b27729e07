"""Public intake rules over real HTTP: limits, sizes, attribution, consent, resend."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.models import Lead, LeadStatus, OutboxMessage, Partner
from hotlead_app.services import ratelimit, tokens
from tests.conftest import point_settings_at
from tests.factories import make_niche, unique_email

PAYLOAD = {"zip": "30301", "roof_type": "metal"}


def _post(api: str, body: dict, **headers) -> httpx.Response:
    return httpx.post(f"{api}/api/v1/leads", json=body, headers=headers)


def _leads() -> list[Lead]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(Lead)).all())


@pytest.fixture
def tight_limits(monkeypatch):
    monkeypatch.setenv("HOTLEAD_RATE_LIMIT_SUBMIT", "3/2seconds")
    monkeypatch.setenv("HOTLEAD_RATE_LIMIT_RESEND", "2/2seconds")
    point_settings_at()
    ratelimit.reset_cache()
    yield
    monkeypatch.undo()
    point_settings_at()


def test_submits_over_the_limit_get_429_with_retry_after_then_pass_after_the_window(db, api_server, tight_limits):
    slug = make_niche()
    client_ip = f"198.51.100.{uuid.uuid4().int % 250}"
    point_settings_at()
    import os

    os.environ["HOTLEAD_TRUSTED_PROXIES"] = "127.0.0.1/32"
    point_settings_at()
    try:
        answers = [
            _post(
                api_server,
                {"niche": slug, "email": unique_email(), "payload": PAYLOAD},
                **{"X-Forwarded-For": client_ip},
            ).status_code
            for _ in range(4)
        ]
        assert answers == [201, 201, 201, 429]
        limited = _post(
            api_server, {"niche": slug, "email": unique_email(), "payload": PAYLOAD}, **{"X-Forwarded-For": client_ip}
        )
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        other = _post(
            api_server,
            {"niche": slug, "email": unique_email(), "payload": PAYLOAD},
            **{"X-Forwarded-For": "203.0.113.9"},
        )
        assert other.status_code == 201  # another client is not limited
        assert len(_leads()) == 4
        time.sleep(2.2)
        again = _post(
            api_server, {"niche": slug, "email": unique_email(), "payload": PAYLOAD}, **{"X-Forwarded-For": client_ip}
        )
        assert again.status_code == 201
    finally:
        del os.environ["HOTLEAD_TRUSTED_PROXIES"]
        point_settings_at()


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy():
    from hotlead_app.domain.client_address import resolve_ip

    assert resolve_ip("10.0.0.5", "1.2.3.4", "") == "10.0.0.5"
    assert resolve_ip("10.0.0.5", "1.2.3.4", "127.0.0.1/32") == "10.0.0.5"
    assert resolve_ip("127.0.0.1", "1.2.3.4", "127.0.0.1/32") == "1.2.3.4"
    assert resolve_ip("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", "127.0.0.1/32,10.0.0.0/8") == "1.2.3.4"


def test_a_body_over_16_kb_is_refused_with_413_and_nothing_written(db, api_server):
    slug = make_niche()
    big = {"niche": slug, "email": unique_email(), "payload": {**PAYLOAD, "details": "x" * 17_000}}
    resp = _post(api_server, big)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    chunked = httpx.post(
        f"{api_server}/api/v1/leads",
        content=iter([b"{" + b" " * 9000, b" " * 9000 + b"}"]),
        headers={"content-type": "application/json"},
    )
    assert chunked.status_code == 413
    assert _leads() == []


def test_partner_code_utm_referrer_and_consent_are_kept_with_the_lead(db, api_server):
    slug = make_niche()
    with unit_of_work() as uow:
        partner = Partner(code="acme", name="Acme Ads")
        uow.session.add(partner)
    body = {
        "niche": slug,
        "email": unique_email(),
        "payload": PAYLOAD,
        "partner_code": "acme",
        "referrer_url": "https://search.example/q",
        "utm_params": {"utm_campaign": "fall"},
    }
    assert _post(api_server, body, **{"User-Agent": "Browser/9"}).status_code == 201
    unknown = {**body, "email": unique_email(), "partner_code": "nobody-knows"}
    assert _post(api_server, unknown).status_code == 201
    known, stranger = sorted(_leads(), key=lambda lead: lead.partner_id is None)
    assert known.partner_id == partner.id and stranger.partner_id is None
    assert known.referrer_url == "https://search.example/q" and known.utm_params == {"utm_campaign": "fall"}
    assert known.consent_version and known.consent_ip == "127.0.0.1" and known.consent_user_agent == "Browser/9"


def test_resend_gives_a_new_link_and_the_old_one_stops_working(db, api_server):
    slug = make_niche()
    email = unique_email()
    lead_id = uuid.UUID(_post(api_server, {"niche": slug, "email": email, "payload": PAYLOAD}).json()["id"])
    with unit_of_work() as uow:
        (first,) = uow.session.exec(select(OutboxMessage)).all()
    old_token = tokens.make_token(lead_id, first.args["nonce"])
    url = f"{api_server}/api/v1/leads/resend-confirmation"
    assert httpx.post(url, json={"email": email, "lead_id": str(lead_id)}).status_code == 202
    # The same answer when nothing matches: nobody learns which leads exist.
    assert httpx.post(url, json={"email": "other@example.com", "lead_id": str(lead_id)}).status_code == 202
    assert httpx.post(url, json={"email": email, "lead_id": str(uuid.uuid4())}).status_code == 202
    assert httpx.post(url, json={"email": "x", "lead_id": "nope"}).status_code == 202
    with unit_of_work() as uow:
        jobs = uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    assert len(jobs) == 2
    new_token = tokens.make_token(lead_id, jobs[1].args["nonce"])
    confirm = f"{api_server}/api/v1/leads/confirm"
    assert httpx.post(confirm, json={"token": old_token}).status_code == 400
    assert httpx.post(confirm, json={"token": new_token}).json()["status"] == "pending_approval"


def test_resend_is_rate_limited(db, api_server, tight_limits):
    slug = make_niche()
    email = unique_email()
    lead_id = _post(api_server, {"niche": slug, "email": email, "payload": PAYLOAD}).json()["id"]
    url = f"{api_server}/api/v1/leads/resend-confirmation"
    codes = [httpx.post(url, json={"email": email, "lead_id": lead_id}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


def test_a_filled_honeypot_is_answered_like_a_person_but_nothing_is_stored(db):
    from hotlead_app.services import intake

    slug = make_niche()
    answer = intake.submit_lead(niche_slug=slug, email=unique_email(), payload=PAYLOAD, honeypot="http://spam")
    assert answer.status == LeadStatus.PENDING_CONFIRMATION
    assert _leads() == []
    with unit_of_work() as uow:
        assert uow.session.exec(select(OutboxMessage)).all() == []
