"""Webhook endpoints and deliveries through the API over real HTTP, and the deliveries
the engine writes in the distribution's (and the refund's) own transaction.  One
attempt at a time is made here in-process (``webhooks.deliver``) against a real local
receiver; the Celery path, retries and a killed worker are in test_webhook_delivery.py."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import col, select

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.models import OutboxMessage, UserRole, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hotlead_app.services import accounts, catalog, distribution, leads, refunds, webhooks
from hotlead_app.settings import get_settings
from tests.factories import ADMIN, approved_lead, assignments_of, make_market, unique_email
from tests.webhook_receiver import Answer, Receiver

PASSWORD = "correct horse battery"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _provider(api: str) -> tuple[uuid.UUID, dict[str, str]]:
    email = unique_email("provider")
    with unit_of_work() as uow:
        provider = catalog.create_provider(name="Acme Roofing", email=email, actor=SYSTEM, uow=uow)
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider.id)
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return provider.id, {"Authorization": f"Bearer {resp.json()['token']}"}


def _actor(provider_id: uuid.UUID) -> Actor:
    return Actor(role="provider", provider_id=provider_id)


def _endpoint_rows(provider_id: uuid.UUID) -> list[WebhookEndpoint]:
    with unit_of_work() as uow:
        return list(uow.session.exec(select(WebhookEndpoint).where(WebhookEndpoint.provider_id == provider_id)).all())


def _deliveries(**where) -> list[WebhookDelivery]:
    with unit_of_work() as uow:
        query = select(WebhookDelivery)
        for name, value in where.items():
            query = query.where(getattr(WebhookDelivery, name) == value)
        return list(uow.session.exec(query.order_by(col(WebhookDelivery.created_at))).all())


def _attempts(delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(
                select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(col(WebhookAttempt.id))
            ).all()
        )


# --------------------------------------------------------------------------- endpoints


def test_endpoints_secret_shown_once_at_most_five_patch_and_delete(db, api_server, receiver):
    provider_id, headers = _provider(api_server)
    base = f"{api_server}/api/v1/provider/webhooks"
    created = httpx.post(base, json={"url": receiver.url(), "description": "CRM"}, headers=headers)
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["url"] == receiver.url() and first["active"] is True and first["secret"].startswith("whsec_")

    (row,) = _endpoint_rows(provider_id)
    assert row.secret.startswith("s1.") and first["secret"] not in row.secret, "stored sealed"
    assert webhooks.unseal_secret(row.secret) == first["secret"]

    listed = httpx.get(base, headers=headers).json()["items"]
    assert [e["id"] for e in listed] == [first["id"]]
    assert "secret" not in listed[0] and first["secret"] not in httpx.get(base, headers=headers).text

    for i in range(4):
        assert httpx.post(base, json={"url": receiver.url(f"/{i}")}, headers=headers).status_code == 201
    sixth = httpx.post(base, json={"url": receiver.url("/6")}, headers=headers)
    assert sixth.status_code == 409 and sixth.json()["error"]["code"] == "too_many_endpoints"
    assert len(httpx.get(base, headers=headers).json()["items"]) == 5

    patched = httpx.patch(f"{base}/{first['id']}", json={"active": False, "description": "off"}, headers=headers)
    assert patched.status_code == 200
    assert patched.json()["active"] is False and patched.json()["description"] == "off"
    assert patched.json()["url"] == receiver.url(), "a field not sent is left as it was"

    ping = httpx.post(f"{base}/{first['id']}/test", headers=headers).json()["delivery_id"]
    assert httpx.delete(f"{base}/{first['id']}", headers=headers).status_code == 204
    redo = httpx.post(f"{api_server}/api/v1/provider/deliveries/{ping}/redeliver", headers=headers)
    assert redo.status_code == 409 and redo.json()["error"]["code"] == "endpoint_deleted"
    assert first["id"] not in [e["id"] for e in httpx.get(base, headers=headers).json()["items"]]
    assert httpx.patch(f"{base}/{first['id']}", json={"active": True}, headers=headers).status_code == 404
    # A deleted endpoint frees its place.
    assert httpx.post(base, json={"url": receiver.url("/again")}, headers=headers).status_code == 201


def test_bad_input_is_400_with_field_errors_and_writes_nothing(db, api_server, receiver):
    provider_id, headers = _provider(api_server)
    base = f"{api_server}/api/v1/provider/webhooks"
    for body, field in [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": 12}, "url"),
        ({"url": "https://user:pw@example.com/"}, "url"),
        ({"url": "https://example.com/" + "a" * 2001}, "url"),
        ({"url": receiver.url(), "description": "x" * 501}, "description"),
        ({"url": receiver.url(), "description": ["list"]}, "description"),
    ]:
        resp = httpx.post(base, json=body, headers=headers)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error"]["code"] == "invalid_input" and field in resp.json()["error"]["details"], body
    assert _endpoint_rows(provider_id) == []

    created = httpx.post(base, json={"url": receiver.url()}, headers=headers).json()
    bad_patch = httpx.patch(f"{base}/{created['id']}", json={"active": "yes"}, headers=headers)
    assert bad_patch.status_code == 400 and "active" in bad_patch.json()["error"]["details"]
    assert httpx.get(f"{base}/not-a-uuid/deliveries", headers=headers).status_code == 400
    bad_cursor = httpx.get(f"{base}/{created['id']}/deliveries?cursor=nonsense", headers=headers)
    assert bad_cursor.status_code == 400
    (row,) = _endpoint_rows(provider_id)
    assert row.active is True


def test_another_providers_endpoints_and_deliveries_are_404(db, api_server, receiver):
    _, mine = _provider(api_server)
    _, theirs = _provider(api_server)
    base = f"{api_server}/api/v1/provider/webhooks"
    endpoint = httpx.post(base, json={"url": receiver.url()}, headers=mine).json()
    ping = httpx.post(f"{base}/{endpoint['id']}/test", headers=mine)
    assert ping.status_code == 202
    for method, url in [
        ("PATCH", f"{base}/{endpoint['id']}"),
        ("DELETE", f"{base}/{endpoint['id']}"),
        ("POST", f"{base}/{endpoint['id']}/test"),
        ("GET", f"{base}/{endpoint['id']}/deliveries"),
        ("POST", f"{api_server}/api/v1/provider/deliveries/{ping.json()['delivery_id']}/redeliver"),
    ]:
        resp = httpx.request(method, url, headers=theirs, json={} if method == "PATCH" else None)
        assert resp.status_code == 404, (method, url, resp.text)
    assert httpx.get(base, headers=theirs).json()["items"] == []
    assert httpx.get(base).status_code == 401


# --------------------------------------------------------------------------- deliveries made by the engine


def test_the_webhook_contact_carries_the_consumers_name_and_e164_phone(db, receiver):
    """Issue #16: the name (and the phone as stored, E.164) reach the provider's systems."""
    from hotlead_app.services import intake
    from tests.factories import confirmation_token

    market = make_market(levels=[("Solo", "10.00", 1)], providers=1)
    (buyer,) = market.providers
    webhooks.create_endpoint(actor=_actor(buyer.id), url=receiver.url("/crm"))
    email = unique_email("named")
    lead = intake.submit_lead(
        niche_slug=market.slug,
        name="Dana Smith",
        email=email,
        phone="(404) 555-0101",
        payload={"zip": "30301", "roof_type": "metal"},
    )
    leads.confirm_lead(token=confirmation_token(lead.id))
    leads.approve_lead(lead_id=lead.id, actor=ADMIN)
    assert distribution.distribute_lead(lead_id=lead.id).outcome == "distributed"
    (delivery,) = _deliveries(provider_id=buyer.id)
    assert json.loads(delivery.body)["data"]["contact"] == {
        "name": "Dana Smith",
        "email": email,
        "phone": "+14045550101",
    }


def test_the_distribution_writes_one_delivery_per_active_endpoint_in_its_transaction(db, receiver):
    market = make_market(levels=[("Shared", "10.00", 3)], providers=2)
    buyer, other = market.providers
    actor = _actor(buyer.id)
    live = [webhooks.create_endpoint(actor=actor, url=receiver.url(f"/{i}")).endpoint for i in range(2)]
    off = webhooks.create_endpoint(actor=actor, url=receiver.url("/off")).endpoint
    webhooks.update_endpoint(actor=actor, endpoint_id=off.id, active=False)
    gone = webhooks.create_endpoint(actor=actor, url=receiver.url("/gone")).endpoint
    webhooks.delete_endpoint(actor=actor, endpoint_id=gone.id)

    lead_id = approved_lead(market.slug)
    assert _deliveries() == [], "approving writes none: the distribution does"
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"

    mine = {a.provider_id: a for a in assignments_of(lead_id)}[buyer.id]
    made = _deliveries(provider_id=buyer.id)
    assert sorted(d.endpoint_id for d in made) == sorted(e.id for e in live)
    assert _deliveries(provider_id=other.id) == [], "a provider without endpoints gets none"
    for d in made:
        body = json.loads(d.body)
        assert d.type == "lead.assigned" and d.status == "pending" and d.assignment_id == mine.id
        assert body["id"] == str(d.id) and body["type"] == "lead.assigned"
        data = body["data"]
        assert data["assignment_id"] == str(mine.id) and data["lead_id"] == str(lead_id)
        assert data["niche"] == {"slug": market.slug, "name": market.niche.name}
        assert data["competition_level"] == {"id": str(market.levels[0].id), "name": "Shared"}
        assert data["price"] == "10.00" and data["shared_with"] == 2
        assert data["payload"]["zip"] == "30301" and "@" in data["contact"]["email"]
        assert set(data["contact"]) == {"name", "email", "phone"}
        assert set(data) == {
            "assignment_id", "lead_id", "niche", "competition_level", "price", "contact", "payload",
            "assigned_at", "shared_with",
        }  # fmt: skip
    with unit_of_work() as uow:
        jobs_written = uow.session.exec(select(OutboxMessage).where(OutboxMessage.task == jobs.WEBHOOK_DELIVER)).all()
    assert sorted(j.args["delivery_id"] for j in jobs_written) == sorted(str(d.id) for d in made)

    # A refund writes lead.refunded the same way (and Global Bad Lead refunds the rest).
    refunds.refund_assignment(assignment_id=mine.id, actor=ADMIN, reason="wrong number")
    refunded = _deliveries(provider_id=buyer.id, type="lead.refunded")
    assert len(refunded) == 2
    assert {json.loads(d.body)["data"]["reason"] for d in refunded} == {"wrong number"}
    webhooks.create_endpoint(actor=_actor(other.id), url=receiver.url("/other"))
    leads.mark_bad_lead(lead_id=lead_id, actor=ADMIN, reason="fake person")
    (bad,) = _deliveries(provider_id=other.id)
    assert bad.type == "lead.refunded" and json.loads(bad.body)["data"]["reason"] == "Global Bad Lead: fake person"
    assert len(_deliveries(provider_id=buyer.id, type="lead.refunded")) == 2, "refunded once, told once"


def test_a_distribution_that_fails_leaves_no_delivery(db, receiver):
    """The deliveries are the distribution's own writes: rolled back with it."""
    from sqlalchemy import text

    market = make_market(levels=[("Shared", "10.00", 2)], providers=1)
    (buyer,) = market.providers
    webhooks.create_endpoint(actor=_actor(buyer.id), url=receiver.url())
    lead_id = approved_lead(market.slug)
    with pytest.raises(Exception, match="boom"), unit_of_work() as uow:
        result = uow.session.execute(text("SELECT hotlead_distribute_lead(:id)"), {"id": lead_id}).scalar_one()
        assert result["outcome"] == "distributed"
        made = uow.session.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar_one()
        assert made == 1, "written by the distribution, in its transaction"
        raise RuntimeError("boom")
    assert _deliveries() == []
    assert assignments_of(lead_id) == []


# --------------------------------------------------------------------------- attempts, log, redeliver


def test_signed_delivery_log_and_redeliver_keep_the_id(db, api_server, receiver):
    provider_id, headers = _provider(api_server)
    base = f"{api_server}/api/v1/provider/webhooks"
    endpoint = httpx.post(base, json={"url": receiver.url()}, headers=headers).json()
    ping = httpx.post(f"{base}/{endpoint['id']}/test", headers=headers)
    assert ping.status_code == 202
    delivery_id = uuid.UUID(ping.json()["delivery_id"])

    receiver.reset(Answer(status=500))
    assert webhooks.deliver(delivery_id=delivery_id) == "retry"
    assert webhooks.deliver(delivery_id=delivery_id) == "not_due", "not again before its backoff"
    (got,) = receiver.received
    assert got.delivery_id == str(delivery_id)
    assert webhooks.verify(endpoint["secret"], got.headers["hotlead-signature"], got.body)
    assert not webhooks.verify("whsec_wrong", got.headers["hotlead-signature"], got.body)
    assert not webhooks.verify(endpoint["secret"], got.headers["hotlead-signature"], got.body + b" ")
    assert json.loads(got.body)["id"] == str(delivery_id) and json.loads(got.body)["type"] == "ping"

    log = httpx.get(f"{base}/{endpoint['id']}/deliveries", headers=headers).json()
    (entry,) = log["items"]
    assert entry["id"] == str(delivery_id) and entry["status"] == "pending" and entry["next_attempt_at"]
    (attempt,) = entry["attempts"]
    assert attempt["status_code"] == 500 and attempt["error"] == "HTTP 500" and attempt["latency_ms"] >= 0

    redo = httpx.post(f"{api_server}/api/v1/provider/deliveries/{delivery_id}/redeliver", headers=headers)
    assert redo.status_code == 202 and redo.json()["id"] == str(delivery_id)
    assert webhooks.deliver(delivery_id=delivery_id) == "delivered"
    assert receiver.ids() == [str(delivery_id)] * 2
    assert receiver.received[1].body == got.body, "the same frozen body"

    redo = httpx.post(f"{api_server}/api/v1/provider/deliveries/{delivery_id}/redeliver", headers=headers)
    assert redo.status_code == 202
    assert webhooks.deliver(delivery_id=delivery_id) == "delivered"
    assert receiver.ids() == [str(delivery_id)] * 3
    (entry,) = httpx.get(f"{base}/{endpoint['id']}/deliveries", headers=headers).json()["items"]
    assert entry["status"] == "delivered" and [a["status_code"] for a in entry["attempts"]] == [500, 200, 200]
    assert [d.id for d in _deliveries(provider_id=provider_id)] == [delivery_id], "no new delivery"


def test_the_backoff_doubles_up_to_an_hour():
    assert [webhooks.next_delay(n).total_seconds() for n in range(1, 9)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


# --------------------------------------------------------------------------- outside dev


@pytest.fixture
def staging(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("HOTLEAD_ENV", "staging")
    monkeypatch.setenv("HOTLEAD_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD", "not-the-default-password")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hooks",  # https only
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://172.16.5.5/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[fe80::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://224.0.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://no-such-host.invalid/hooks",
    ],
)
def test_outside_dev_a_url_must_be_https_and_public(staging, url):
    assert webhooks.url_problem(url) is not None


def test_outside_dev_a_public_https_address_is_accepted(staging):
    assert webhooks.url_problem("https://93.184.216.34/hooks") is None


def test_outside_dev_a_private_address_is_refused_at_save_and_at_every_attempt(db, api_server, receiver, staging):
    provider_id, headers = _provider(api_server)
    resp = httpx.post(f"{api_server}/api/v1/provider/webhooks", json={"url": "https://127.0.0.1/x"}, headers=headers)
    assert resp.status_code == 400 and resp.json()["error"]["details"]["url"].startswith("the host resolves to")
    assert _endpoint_rows(provider_id) == []

    # An endpoint saved while its host was allowed (here: made in dev) is checked again
    # before each attempt: refused, recorded, nothing sent.
    os.environ["HOTLEAD_ENV"] = "dev"
    get_settings.cache_clear()
    endpoint = webhooks.create_endpoint(actor=_actor(provider_id), url=receiver.url()).endpoint
    delivery_id = webhooks.send_test(actor=_actor(provider_id), endpoint_id=endpoint.id)
    os.environ["HOTLEAD_ENV"] = "staging"
    get_settings.cache_clear()
    assert webhooks.deliver(delivery_id=delivery_id) == "retry"
    (attempt,) = _attempts(delivery_id)
    assert attempt.status_code is None and attempt.error is not None and attempt.error.startswith("refused: ")
    assert receiver.received == []


def test_no_redirect_is_followed(db, receiver):
    """A 3xx is a failed attempt: the Location is never fetched."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hotlead_app.devstack.embedded import free_port

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(307)
            self.send_header("Location", receiver.url("/internal"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        market = make_market(providers=1)
        (buyer,) = market.providers
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        endpoint = webhooks.create_endpoint(actor=_actor(buyer.id), url=url).endpoint
        delivery_id = webhooks.send_test(actor=_actor(buyer.id), endpoint_id=endpoint.id)
        assert webhooks.deliver(delivery_id=delivery_id) == "retry"
        (attempt,) = _attempts(delivery_id)
        assert attempt.status_code == 307 and attempt.error == "HTTP 307"
        assert receiver.received == []
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- 24 h, no lock held while POSTing, history


def test_a_delivery_is_failed_once_its_24_hours_are_over(db, receiver):
    from sqlalchemy import text

    market = make_market(providers=1)
    actor = _actor(market.providers[0].id)
    endpoint = webhooks.create_endpoint(actor=actor, url=receiver.url()).endpoint
    late, expired = (webhooks.send_test(actor=actor, endpoint_id=endpoint.id) for _ in range(2))
    with unit_of_work() as uow:
        # `late` has 30 s left: its next retry (60 s) would fall after them.
        uow.session.execute(
            text("UPDATE webhook_deliveries SET expires_at = now() + interval '30 seconds' WHERE id = :id"),
            {"id": late},
        )
        uow.session.execute(
            text("UPDATE webhook_deliveries SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": expired},
        )
    receiver.reset(default=Answer(status=500))
    assert webhooks.deliver(delivery_id=late) == "failed"
    assert webhooks.deliver(delivery_id=expired) == "not_due", "never sent after its 24 h"
    assert webhooks.sweep()["failed"] == 1
    assert {d.id: d.status for d in _deliveries()} == {late: "failed", expired: "failed"}
    assert receiver.ids() == [str(late)]


def test_no_transaction_is_open_while_the_receiver_is_answering(db, receiver):
    """Claim and commit, POST, record: while the receiver holds the request, the
    delivery's row is not locked and no session of this database is in a transaction."""
    import threading

    import psycopg

    market = make_market(providers=1)
    actor = _actor(market.providers[0].id)
    endpoint = webhooks.create_endpoint(actor=actor, url=receiver.url()).endpoint
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.id)
    hold = threading.Event()
    receiver.reset(Answer(status=200, release=hold))
    outcome: list[str] = []
    sender = threading.Thread(target=lambda: outcome.append(webhooks.deliver(delivery_id=delivery_id)))
    sender.start()
    try:
        from hotlead_app.devstack.harness import wait_for

        wait_for(lambda: receiver.received, timeout=20, message="the POST")
        dsn = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            open_transactions = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            ).fetchone()
            assert open_transactions == (0,)
            with conn.transaction():
                locked = conn.execute(
                    "SELECT id FROM webhook_deliveries WHERE id = %s FOR UPDATE NOWAIT", (delivery_id,)
                ).fetchall()
                assert len(locked) == 1
    finally:
        hold.set()
        sender.join(timeout=20)
    assert outcome == ["delivered"]


def test_attempts_are_append_only_in_the_database(db, receiver):
    import psycopg
    from psycopg import errors

    market = make_market(providers=1)
    actor = _actor(market.providers[0].id)
    endpoint = webhooks.create_endpoint(actor=actor, url=receiver.url()).endpoint
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.id)
    assert webhooks.deliver(delivery_id=delivery_id) == "delivered"
    dsn = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    for sql in (
        "UPDATE webhook_attempts SET status_code = 500",
        "DELETE FROM webhook_attempts",
        "TRUNCATE webhook_attempts",
    ):
        with psycopg.connect(dsn) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql)
    assert [a.status_code for a in _attempts(delivery_id)] == [200]


def test_a_secret_sealed_under_another_secret_key_fails_the_attempt_and_sends_nothing(db, receiver, monkeypatch):
    market = make_market(providers=1)
    actor = _actor(market.providers[0].id)
    endpoint = webhooks.create_endpoint(actor=actor, url=receiver.url()).endpoint
    delivery_id = webhooks.send_test(actor=actor, endpoint_id=endpoint.id)
    monkeypatch.setenv("HOTLEAD_SECRET_KEY", "another-secret-key-" + "k" * 20)
    get_settings.cache_clear()
    try:
        assert webhooks.deliver(delivery_id=delivery_id) == "retry"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    (attempt,) = _attempts(delivery_id)
    assert attempt.error is not None and attempt.error.startswith("secret cannot be unsealed")
    assert receiver.received == []


def test_the_delivery_log_pages_newest_first(db, api_server, receiver):
    _, headers = _provider(api_server)
    base = f"{api_server}/api/v1/provider/webhooks"
    endpoint = httpx.post(base, json={"url": receiver.url()}, headers=headers).json()
    sent = [httpx.post(f"{base}/{endpoint['id']}/test", headers=headers).json()["delivery_id"] for _ in range(3)]
    seen: list[str] = []
    url = f"{base}/{endpoint['id']}/deliveries?limit=2"
    while url:
        page = httpx.get(url, headers=headers)
        assert page.status_code == 200, page.text
        seen.extend(d["id"] for d in page.json()["items"])
        cursor = page.json()["next_cursor"]
        url = f"{base}/{endpoint['id']}/deliveries?limit=2&cursor={cursor}" if cursor else ""
    assert seen == list(reversed(sent))


def test_outside_dev_the_post_goes_to_the_address_that_was_checked(staging, monkeypatch):
    """DNS rebinding: the host is resolved once per attempt, and the request is sent to
    that checked address (Host header and TLS name kept), never resolved again."""
    import socket

    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]])
    calls: list[str] = []

    def resolve(host, *args, **kwargs):
        calls.append(host)
        try:
            return next(answers)
        except StopIteration:  # a second lookup would now answer a private address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", resolve)
    monkeypatch.setattr(webhooks, "_client", lambda: httpx.Client(transport=httpx.MockTransport(handler)))
    result = webhooks.post("https://hooks.example.com/in?x=1", "whsec_x", uuid.uuid4(), '{"id": "1"}')
    assert result.delivered and calls == ["hooks.example.com"]
    (request,) = seen
    assert str(request.url) == "https://93.184.216.34/in?x=1"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com"


def test_a_pinned_request_keeps_the_port_and_brackets_ipv6():
    assert webhooks.pinned("https://hooks.example.com:8443/a/b", "2606:2800:220:1::1") == (
        "https://[2606:2800:220:1::1]:8443/a/b",
        {"Host": "hooks.example.com:8443"},
        {"sni_hostname": "hooks.example.com"},
    )
