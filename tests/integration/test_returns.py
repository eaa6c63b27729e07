"""Return requests (DOMAIN.md "Returns") against the real database and the API over HTTP:
every refusal answers 409 with its code and writes nothing, approval refunds once even
with two admins at the same moment, deny needs a reason, auto-approval at its
threshold, an admin refund or a Global Bad Lead settles pending requests, and the
provider is emailed at each step (real worker, real SMTP)."""

from __future__ import annotations

import threading
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy import text

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.domain import returns as rules
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.domain.errors import AlreadyRefunded, InvalidInput
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, distribution, leads, refunds, returns
from tests.factories import ADMIN, approved_lead, assignments_of, make_market, unique_email

PASSWORD = "correct horse battery"


def _assign(market, n: int = 1) -> list:
    """n leads distributed in the market; each provider's assignments, in order."""
    made = []
    for _ in range(n):
        lead_id = approved_lead(market.slug)
        assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
        made.extend(assignments_of(lead_id))
    return made


def _mine(made: list, provider_id: uuid.UUID) -> list:
    return [a for a in made if a.provider_id == provider_id]


def _settings(market, **values) -> None:
    catalog.update_niche(niche_id=market.niche.id, actor=ADMIN, values=values)


def _counts(url: str) -> tuple[int, int, int, int]:
    """(return requests, audit rows, refund entries, outbox rows): what a refusal must not change."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM return_requests), (SELECT count(*) FROM audit_logs),"
            " (SELECT count(*) FROM ledger_entries WHERE type = 'refund'), (SELECT count(*) FROM outbox)"
        ).fetchone()
    assert row is not None
    return row


def _status(request_id: uuid.UUID) -> str:
    with unit_of_work() as uow:
        return uow.session.execute(
            text("SELECT status FROM return_requests WHERE id = :id"), {"id": request_id}
        ).scalar_one()


def _refund_entries(assignment_id: uuid.UUID) -> int:
    with unit_of_work() as uow:
        return uow.session.execute(
            text("SELECT count(*) FROM ledger_entries WHERE type = 'refund' AND related_entity_id = :id"),
            {"id": assignment_id},
        ).scalar_one()


def _ask(assignment, reason: str = "wrong_contact", note: str | None = None) -> returns.ReturnRead:
    return returns.request_return(
        assignment_id=assignment.id, actor=provider_actor(assignment.provider_id), reason=reason, note=note
    )


# --------------------------------------------------------------------------- refusals


def test_a_refunded_assignment_cannot_be_returned_and_nothing_is_written(engine_db):
    market = make_market(providers=1)
    (a,) = _assign(market)
    refunds.refund_assignment(assignment_id=a.id, actor=ADMIN, reason="wrong number")
    before = _counts(engine_db)
    with pytest.raises(AlreadyRefunded):
        _ask(a)
    assert _counts(engine_db) == before


def test_a_second_request_for_the_same_assignment_is_refused(engine_db):
    market = make_market(providers=1)
    _settings(market, max_return_rate_percent=100)
    a, _b = _assign(market, 2)
    _ask(a)
    before = _counts(engine_db)
    with pytest.raises(rules.ReturnAlreadyRequested):
        _ask(a, "duplicate")
    assert _counts(engine_db) == before


def test_the_window_open_then_closed(engine_db):
    market = make_market(providers=1)
    (a,) = _assign(market)
    _settings(market, return_window_hours=0)  # closed the instant after assignment
    before = _counts(engine_db)
    with pytest.raises(rules.ReturnWindowClosed) as refused:
        _ask(a)
    assert refused.value.details["closed_at"] == a.assigned_at.isoformat()
    assert _counts(engine_db) == before
    _settings(market, return_window_hours=1)
    assert _ask(a).status == "pending"


def test_the_rate_cap_allows_exactly_the_limit_and_refuses_one_more(engine_db):
    """5 assignments at 40 %: max(1, floor(5 × 40 / 100)) = 2 requests, the third is refused."""
    market = make_market(providers=1, balance="100.00")
    _settings(market, max_return_rate_percent=40)
    made = _assign(market, 5)
    assert _ask(made[0]).status == "pending"
    assert _ask(made[1]).status == "pending"  # exactly at the limit
    before = _counts(engine_db)
    with pytest.raises(rules.ReturnRateExceeded) as refused:
        _ask(made[2])  # one over
    assert refused.value.details["allowed"] == 2
    assert _counts(engine_db) == before
    # A denied request no longer counts against the rate.
    pending = _ask_list(market.providers[0].id)
    returns.deny_return(request_id=pending[0], actor=ADMIN, reason="the number works")
    assert _ask(made[2]).status == "pending"


def _ask_list(provider_id: uuid.UUID) -> list[uuid.UUID]:
    with unit_of_work() as uow:
        return list(
            uow.session.execute(
                text("SELECT id FROM return_requests WHERE provider_id = :p ORDER BY created_at"), {"p": provider_id}
            ).scalars()
        )


def test_at_least_one_return_is_allowed_however_few_the_assignments(engine_db):
    market = make_market(providers=1)  # default 20 %: floor(1 × 20 / 100) = 0, yet 1 is allowed
    a, b = _assign(market, 2)
    assert _ask(a).status == "pending"
    with pytest.raises(rules.ReturnRateExceeded):
        _ask(b)


def test_a_reason_outside_the_niches_codes_is_400_and_another_providers_assignment_404(engine_db):
    market = make_market(providers=2)
    a, b = _assign(market)
    with pytest.raises(InvalidInput) as bad:
        _ask(a, "no_such_reason")
    assert "reason" in bad.value.details
    from hotlead_app.domain.errors import NotFound

    with pytest.raises(NotFound):
        returns.request_return(assignment_id=a.id, actor=provider_actor(b.provider_id), reason="duplicate")


# --------------------------------------------------------------------------- decisions


def test_two_admins_approving_at_the_same_moment_refund_once(engine_db):
    market = make_market(providers=1)
    (a,) = _assign(market)
    request = _ask(a)
    results: list[object] = []

    def approve() -> None:
        try:
            results.append(returns.approve_return(request_id=request.id, actor=ADMIN).status)
        except Exception as exc:  # the loser's refusal is the result
            results.append(exc)

    # Hold the request's row so both approvals are waiting on it, then let them go.
    with psycopg.connect(engine_db.replace("+psycopg", "")) as holder:
        holder.execute("SELECT 1 FROM return_requests WHERE id = %s FOR UPDATE", (request.id,))
        threads = [threading.Thread(target=approve) for _ in range(2)]
        for t in threads:
            t.start()
        for _ in range(50):
            waiting = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            if waiting >= 2:
                break
            threading.Event().wait(0.1)
        holder.commit()
    for t in threads:
        t.join(timeout=30)
    assert results.count("approved") == 1
    (refused,) = [r for r in results if r != "approved"]
    assert isinstance(refused, rules.ReturnAlreadyDecided)
    assert _refund_entries(a.id) == 1
    assert _status(request.id) == "approved"


def _race(url: str, lock_sql: str, row_id: uuid.UUID, *calls) -> list[object]:
    """Run ``calls`` at once while a row is held, then let them all go; their results."""
    results: list[object] = []

    def run(call) -> None:
        try:
            results.append(call())
        except Exception as exc:  # a refusal is a result
            results.append(exc)

    with psycopg.connect(url.replace("+psycopg", "")) as holder:
        holder.execute(lock_sql, (row_id,))
        threads = [threading.Thread(target=run, args=(c,)) for c in calls]
        for t in threads:
            t.start()
        for _ in range(50):
            waiting = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if waiting and waiting[0] >= len(calls):
                break
            threading.Event().wait(0.1)
        holder.commit()
    for t in threads:
        t.join(timeout=30)
    return results


def test_an_approval_racing_an_admin_refund_neither_deadlocks_nor_refunds_twice(engine_db):
    market = make_market(providers=1)
    (a,) = _assign(market)
    request = _ask(a)
    results = _race(
        engine_db,
        "SELECT 1 FROM lead_assignments WHERE id = %s FOR UPDATE",
        a.id,
        lambda: returns.approve_return(request_id=request.id, actor=ADMIN),
        lambda: refunds.refund_assignment(assignment_id=a.id, actor=ADMIN, reason="wrong number"),
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], (AlreadyRefunded, rules.ReturnAlreadyDecided)), results
    assert _refund_entries(a.id) == 1
    assert _status(request.id) == "approved"


def test_deny_needs_a_reason_and_refunds_nothing(engine_db):
    market = make_market(providers=1)
    (a,) = _assign(market)
    request = _ask(a)
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput):
            returns.deny_return(request_id=request.id, actor=ADMIN, reason=reason)
    assert _status(request.id) == "pending"
    denied = returns.deny_return(request_id=request.id, actor=ADMIN, reason="the phone number answers")
    assert (denied.status, denied.deny_reason) == ("denied", "the phone number answers")
    assert _refund_entries(a.id) == 0
    with pytest.raises(rules.ReturnAlreadyDecided):
        returns.approve_return(request_id=request.id, actor=ADMIN)


def test_auto_approval_below_the_threshold_and_not_at_it(engine_db):
    """2 assignments, threshold 50 %: 0 approved → approved at once; then 1 ÷ 2 = 50 % is
    not below 50 % → pending."""
    market = make_market(providers=1)
    _settings(market, max_return_rate_percent=100, auto_approve_returns_below_percent=50)
    a, b = _assign(market, 2)
    first = _ask(a)
    assert first.status == "approved"
    assert _refund_entries(a.id) == 1
    second = _ask(b)
    assert second.status == "pending"
    assert _refund_entries(b.id) == 0


def test_global_bad_lead_and_an_admin_refund_settle_pending_requests(engine_db):
    market = make_market(providers=2)
    _settings(market, max_return_rate_percent=100)
    first = _assign(market)
    second = _assign(market)
    asked = [_ask(a) for a in first] + [_ask(second[0])]
    leads.mark_bad_lead(lead_id=first[0].lead_id, actor=ADMIN, reason="fake person")
    assert [_status(r.id) for r in asked[:2]] == ["approved", "approved"]
    assert all(_refund_entries(a.id) == 1 for a in first)
    refunds.refund_assignment(assignment_id=second[0].id, actor=ADMIN, reason="wrong number")
    assert _status(asked[2].id) == "approved"
    assert _refund_entries(second[0].id) == 1
    with unit_of_work() as uow:
        actions = uow.session.execute(
            text("SELECT action FROM audit_logs WHERE entity_type = 'return_request' ORDER BY seq")
        ).scalars()
        assert list(actions).count("return_approved") == 3
        emails = uow.session.execute(
            text("SELECT args->>'event' FROM outbox WHERE task = :t"), {"t": jobs.EMAIL_RETURN_REQUEST}
        ).scalars()
        assert sorted(emails) == ["approved"] * 3 + ["requested"] * 3


# --------------------------------------------------------------------------- the API


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _admin_headers(api: str) -> dict[str, str]:
    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    return _login(api, email)


def _provider_headers(api: str, provider_id: uuid.UUID) -> dict[str, str]:
    email = unique_email("login")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider_id)
    return _login(api, email)


def test_the_api_return_flow_and_its_error_shapes(engine_db, api_server):
    market = make_market(providers=1)
    admin = _admin_headers(api_server)
    mine = _provider_headers(api_server, market.providers[0].id)
    niche_url = f"{api_server}/api/v1/admin/niches/{market.niche.id}"

    bad = httpx.patch(
        niche_url,
        json={"return_window_hours": -1, "max_return_rate_percent": 101, "return_reasons": [{"code": "A b"}]},
        headers=admin,
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {
        "return_window_hours",
        "max_return_rate_percent",
        "return_reasons[0].code",
    }
    ok = httpx.patch(
        niche_url,
        json={
            "max_return_rate_percent": 100,
            "return_reasons": [{"code": "wrong_contact", "label": "Wrong contact"}, {"code": "spam", "label": "Spam"}],
        },
        headers=admin,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["return_window_hours"] == 72 and ok.json()["max_return_rate_percent"] == 100
    assert [r["code"] for r in ok.json()["return_reasons"]] == ["wrong_contact", "spam"]

    a, b = _assign(market, 2)
    url = f"{api_server}/api/v1/provider/assignments/{a.id}/return"
    made = httpx.post(url, json={"reason": "spam", "note": "a bot"}, headers=mine)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending" and made.json()["assignment_id"] == str(a.id)
    again = httpx.post(url, json={"reason": "spam"}, headers=mine)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_requested"
    assert httpx.post(url, json={}, headers=admin).status_code == 403

    listed = httpx.get(f"{api_server}/api/v1/provider/returns", headers=mine).json()["items"]
    assert [(r["id"], r["reason_label"], r["note"]) for r in listed] == [(made.json()["id"], "Spam", "a bot")]
    queue = httpx.get(f"{api_server}/api/v1/admin/returns?status=pending", headers=admin).json()["items"]
    assert [r["id"] for r in queue] == [made.json()["id"]]
    assert queue[0]["provider_return_rate_percent"] == 0.0
    assert httpx.get(f"{api_server}/api/v1/admin/returns?status=nope", headers=admin).status_code == 400

    return_id = made.json()["id"]
    no_reason = httpx.post(f"{api_server}/api/v1/admin/returns/{return_id}/deny", json={}, headers=admin)
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["details"]
    approved = httpx.post(f"{api_server}/api/v1/admin/returns/{return_id}/approve", json={"memo": "ok"}, headers=admin)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    twice = httpx.post(f"{api_server}/api/v1/admin/returns/{return_id}/approve", json={}, headers=admin)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_decided"
    refunded = httpx.post(
        f"{api_server}/api/v1/provider/assignments/{a.id}/return", json={"reason": "spam"}, headers=mine
    )
    assert refunded.status_code == 409
    assert refunded.json()["error"]["code"] in ("already_refunded", "already_requested")

    _settings(market, return_window_hours=0)
    closed = httpx.post(
        f"{api_server}/api/v1/provider/assignments/{b.id}/return", json={"reason": "spam"}, headers=mine
    )
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "return_window_closed"


# --------------------------------------------------------------------------- emails


def test_the_provider_is_emailed_when_it_asks_and_at_each_decision(shared_db, celery_worker, smtp_sink):
    market = make_market(providers=1)
    _settings(market, max_return_rate_percent=100)
    a, b = _assign(market, 2)
    to = market.providers[0].email
    first, second = _ask(a), _ask(b)
    returns.approve_return(request_id=first.id, actor=ADMIN)
    returns.deny_return(request_id=second.id, actor=ADMIN, reason="the number answers")
    from tests.conftest import wait_for

    def about_returns() -> list[str]:
        return sorted(m["Subject"] for m in smtp_sink.to(to) if "return" in m["Subject"])

    subjects = wait_for(
        lambda: about_returns() if len(about_returns()) >= 4 else None,
        timeout=60,
        message="four return emails",
    )
    assert subjects == sorted(
        [
            "We received your return request",
            "We received your return request",
            "Your return was approved",
            "Your return was denied",
        ]
    )
    denied = next(m for m in smtp_sink.to(to) if m["Subject"] == "Your return was denied")
    assert "the number answers" in denied.get_body(preferencelist=("plain",)).get_content()


# --------------------------------------------------------------------------- metrics


def test_the_scrape_counts_pending_returns_and_the_oldests_age(engine_db, api_server):
    from tests.ops.harness import fetch, samples, value

    def scrape(base: str) -> dict:
        status, body = fetch(f"{base}/metrics")
        assert status == 200, body
        return samples(body)

    empty = scrape(api_server)
    assert value(empty, "hotlead_returns_pending") == 0
    assert value(empty, "hotlead_returns_pending_oldest_age_seconds") == 0
    market = make_market(providers=1)
    _settings(market, max_return_rate_percent=100)
    a, b, c = _assign(market, 3)
    _ask(a)
    decided = _ask(b)
    _ask(c)
    returns.deny_return(request_id=decided.id, actor=ADMIN, reason="the number answers")
    with unit_of_work() as uow:  # the oldest pending request was made an hour ago
        uow.session.execute(
            text("UPDATE return_requests SET created_at = now() - interval '1 hour' WHERE assignment_id = :a"),
            {"a": a.id},
        )
    got = scrape(api_server)
    assert value(got, "hotlead_returns_pending") == 2
    assert 3600 <= value(got, "hotlead_returns_pending_oldest_age_seconds") < 3700
