"""The overview's aggregates (services/reads/overview.py, the roll-up in
services/ledger_totals.py) and the admin's lead reads (reads/approval_queue.py,
lead_search.py, lead_detail.py) on real PostgreSQL, and their API over real HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.domain.errors import Forbidden, InvalidInput
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, distribution, leads, ledger_totals, refunds
from hotlead_app.services.reads import approval_queue, lead_detail, lead_search, overview
from tests.factories import (
    ADMIN,
    approved_lead,
    assignments_of,
    confirmed_lead,
    make_market,
    make_provider,
    submitted_lead,
    unique_email,
)

PASSWORD = "correct horse battery"


def _today() -> date:
    return datetime.now(UTC).date()


def _move_lead(lead_id: uuid.UUID, *, created_at: datetime | None = None, confirmed_at: datetime | None = None):
    """Test set-up only: put a lead back in time (leads are not append-only)."""
    with unit_of_work() as uow:
        if created_at is not None:
            uow.session.execute(
                text("UPDATE leads SET created_at = :at WHERE id = :id"), {"at": created_at, "id": lead_id}
            )
        if confirmed_at is not None:
            uow.session.execute(
                text("UPDATE leads SET confirmed_at = :at WHERE id = :id"), {"at": confirmed_at, "id": lead_id}
            )


def _day(rows: list[dict], day: date) -> dict:
    return next(r for r in rows if r["day"] == day.isoformat())


def test_leads_per_day_counts_each_status_per_utc_day_with_empty_days_as_zero(db):
    market = make_market(providers=0)
    submitted_lead(market.slug)
    confirmed_lead(market.slug)
    confirmed_lead(market.slug)
    rejected = confirmed_lead(market.slug)
    leads.reject_lead(lead_id=rejected, actor=ADMIN, reason="spam")
    yesterday_lead = submitted_lead(market.slug)
    old_lead = submitted_lead(market.slug)
    today = _today()
    noon_yesterday = datetime(today.year, today.month, today.day, 12, tzinfo=UTC) - timedelta(days=1)
    _move_lead(yesterday_lead, created_at=noon_yesterday)
    _move_lead(old_lead, created_at=noon_yesterday - timedelta(days=10))

    rows = overview.leads_per_day(ADMIN, days=7)

    assert [r["day"] for r in rows] == [(today - timedelta(days=6 - i)).isoformat() for i in range(7)]
    assert _day(rows, today) == {
        "day": today.isoformat(),
        "pending_confirmation": 1,
        "pending_approval": 2,
        "approved": 0,
        "distributed": 0,
        "rejected": 1,
        "bad_lead": 0,
        "total": 4,
    }
    assert _day(rows, today - timedelta(days=1))["pending_confirmation"] == 1
    assert sum(r["total"] for r in rows) == 5  # the lead from 11 days ago is outside the window
    assert _day(rows, today - timedelta(days=3))["total"] == 0
    # A window that ends yesterday sees only yesterday's lead.
    assert sum(r["total"] for r in overview.leads_per_day(ADMIN, days=7, today=today - timedelta(days=1))) == 1


def test_revenue_per_day_is_charges_minus_refunds_in_decimal_and_ignores_deposits(db):
    market = make_market(levels=[("Shared", "12.50", 2)], providers=2, balance="50.00")
    lead_id = approved_lead(market.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    first, _second = assignments_of(lead_id)
    refunds.refund_assignment(assignment_id=first.id, actor=ADMIN, reason="wrong number")

    rows = overview.revenue_per_day(ADMIN, days=3)

    today = _day(rows, _today())
    assert today == {
        "day": _today().isoformat(),
        "charged": Decimal("25.00"),
        "refunded": Decimal("12.50"),
        "net": Decimal("12.50"),
    }
    assert all(isinstance(today[k], Decimal) for k in ("charged", "refunded", "net"))
    assert _day(rows, _today() - timedelta(days=1))["charged"] == Decimal("0.00")
    figures = overview.overview(ADMIN, days=3)
    assert figures["revenue_total"] == "12.50"
    assert _day(figures["revenue_per_day"], _today())["charged"] == "25.00"


def test_providers_by_status_lists_every_status(db):
    make_provider(balance="5.00")
    make_provider(balance="5.00")
    switched_off = make_provider()
    catalog.set_provider_status(provider_id=switched_off.id, status="inactive", actor=ADMIN)

    counts = {r["status"]: r["count"] for r in overview.providers_by_status(ADMIN)}

    assert counts["active"] >= 2 and counts["inactive"] == 1
    assert set(counts) == {"active", "inactive", "auto_deactivated"}
    with unit_of_work() as uow:
        total = uow.session.execute(text("SELECT count(*) FROM service_providers")).scalar_one()
    assert sum(counts.values()) == total


def test_backlog_counts_waiting_leads_by_time_waiting_and_its_signature_moves(db):
    market = make_market(providers=0)
    before = approval_queue.backlog(ADMIN)
    fresh = confirmed_lead(market.slug)
    two_hours = confirmed_lead(market.slug)
    two_days = confirmed_lead(market.slug)
    approved_lead(market.slug)  # approved: not in the backlog
    now = datetime.now(UTC)
    _move_lead(two_hours, created_at=now - timedelta(hours=3), confirmed_at=now - timedelta(hours=2))
    _move_lead(two_days, created_at=now - timedelta(days=3), confirmed_at=now - timedelta(days=2))

    queue = approval_queue.backlog(ADMIN)
    assert queue.count == before.count + 3
    assert queue.oldest_confirmed_at <= now - timedelta(days=2)
    buckets = {b["wait"]: b["count"] for b in approval_queue.backlog_by_wait(ADMIN, now=now)}
    assert buckets == {"< 1 h": 1, "1–4 h": 1, "4–24 h": 0, "> 24 h": 1}

    signature = queue.signature
    leads.approve_lead(lead_id=fresh, actor=ADMIN)
    assert approval_queue.backlog(ADMIN).signature != signature
    signature = approval_queue.backlog(ADMIN).signature
    confirmed_lead(market.slug)
    assert approval_queue.backlog(ADMIN).signature != signature


def test_reports_refuse_providers_and_bad_periods(db):
    someone = make_provider()
    for call in (
        lambda a: overview.leads_per_day(a),
        lambda a: overview.revenue_per_day(a),
        lambda a: overview.providers_by_status(a),
        lambda a: approval_queue.backlog(a),
        lambda a: overview.overview(a),
        lambda a: lead_search.search_leads(a),
        lambda a: approval_queue.approval_queue(a),
    ):
        with pytest.raises(Forbidden):
            call(provider_actor(someone.id))
    for days in (0, 367, "30", True):
        with pytest.raises(InvalidInput):
            overview.leads_per_day(ADMIN, days=days)


def test_lead_search_filters_by_status_niche_email_and_day_range(db):
    market = make_market(providers=0)
    other = make_market(providers=0)
    waiting = confirmed_lead(market.slug)
    new = submitted_lead(market.slug)
    elsewhere = confirmed_lead(other.slug)
    old = submitted_lead(market.slug)
    today = _today()
    _move_lead(old, created_at=datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=5))

    def ids(**filters) -> list[str]:
        return [r["id"] for r in lead_search.search_leads(ADMIN, limit=50, **filters)]

    assert ids(niche=market.slug) == [str(new), str(waiting), str(old)]  # newest first
    assert ids(niche=market.slug, order="oldest") == [str(old), str(waiting), str(new)]
    assert ids(niche=market.slug, status="pending_approval") == [str(waiting)]
    assert ids(status="pending_approval", niche=other.slug) == [str(elsewhere)]
    with unit_of_work() as uow:
        email = uow.session.execute(text("SELECT email FROM leads WHERE id = :id"), {"id": new}).scalar_one()
    assert ids(email=email.upper()) == [str(new)]
    assert str(new) in ids(email=email.split("@")[0][:10])
    assert ids(niche=market.slug, created_from=today.isoformat()) == [str(new), str(waiting)]
    assert ids(niche=market.slug, created_to=(today - timedelta(days=1)).isoformat()) == [str(old)]
    assert ids(
        niche=market.slug,
        created_from=(today - timedelta(days=5)).isoformat(),
        created_to=(today - timedelta(days=5)).isoformat(),
    ) == [str(old)]
    # Keyset pages: one row at a time, no repeats.
    first = lead_search.search_leads(ADMIN, niche=market.slug, limit=1)
    assert len(first) == 2
    second = lead_search.search_leads(ADMIN, niche=market.slug, limit=1, after=[first[0]["created_at"], first[0]["id"]])
    assert second[0]["id"] == str(waiting)
    third = lead_search.search_leads(
        ADMIN, niche=market.slug, limit=1, order="oldest", after=[second[0]["created_at"], second[0]["id"]]
    )
    assert third[0]["id"] == str(new) and len(third) == 1
    for bad in (
        {"status": "nope"},
        {"created_from": "yesterday"},
        {"created_from": today.isoformat(), "created_to": (today - timedelta(days=1)).isoformat()},
        {"after": ["not a time", "x"]},
        {"order": "sideways"},
        {"order": None},
    ):
        with pytest.raises(InvalidInput):
            lead_search.search_leads(ADMIN, **bad)


def test_lead_view_names_assignments_explains_every_subscription_and_prices_bad_lead(db):
    market = make_market(levels=[("Shared", "12.50", 2)], providers=3, balance="50.00")
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)
    first, second = assignments_of(lead_id)
    refunds.refund_assignment(assignment_id=first.id, actor=ADMIN, reason="duplicate", memo="secret memo")

    view = lead_detail.admin_lead(ADMIN, lead_id=lead_id)

    names = {p.id: p.name for p in market.providers}
    assert {a["provider"] for a in view["assignments"]} == {names[first.provider_id], names[second.provider_id]}
    assert all(a["level"] == "Shared" and a["price"] == "12.50" for a in view["assignments"])
    assert [e["chosen"] for e in view["explanation"]].count(True) == 2
    assert len(view["explanation"]) == 3
    left_out = next(e for e in view["explanation"] if not e["chosen"])
    assert left_out["reason"] == "level_full" and "full" in left_out["reason_text"]
    assert view["bad_lead_refunds"] == [{"provider": names[second.provider_id], "amount": "12.50"}]
    assert view["bad_lead_total"] == "12.50" and view["can_bad_lead"] is True
    actions = [h["action"] for h in view["history"]]
    assert actions[:2] == ["submitted", "confirmed"] or "confirmed" in actions
    assert "refunded" in actions and "approved" in actions
    assert any(h["memo"] == "secret memo" for h in view["history"])


def test_reports_api_answers_admins_only(db, api_server):
    admin_email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    token = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD}).json()[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    market = make_market(providers=0)
    confirmed_lead(market.slug)

    resp = httpx.get(f"{api_server}/api/v1/admin/reports/overview", params={"days": 7}, headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["leads_per_day"]) == 7 and body["approval_backlog"]["count"] >= 1
    assert body["leads_per_day"][-1]["pending_approval"] >= 1
    assert isinstance(body["revenue_per_day"][0]["net"], str)
    bad = httpx.get(f"{api_server}/api/v1/admin/reports/overview", params={"days": 0}, headers=headers)
    assert bad.status_code == 400 and "error" in bad.json()
    search = httpx.get(f"{api_server}/api/v1/admin/leads", params={"created_from": "soon"}, headers=headers)
    assert search.status_code == 400 and search.json()["error"]["details"]["created_from"]
    assert httpx.get(f"{api_server}/api/v1/admin/lead-search", headers=headers).status_code == 404
    queue = httpx.get(f"{api_server}/api/v1/admin/approval-queue", params={"limit": 1}, headers=headers).json()
    assert queue["items"][0]["status"] == "pending_approval" and "consent_ip" in queue["items"][0]
    assert httpx.get(f"{api_server}/api/v1/admin/reports/overview").status_code == 401


def test_approval_queue_is_oldest_first_in_keyset_pages_with_what_an_admin_decides_on(db):
    market = make_market(providers=0)
    before = len(approval_queue.approval_queue(ADMIN, limit=500))
    ids = [confirmed_lead(market.slug) for _ in range(3)]
    now = datetime.now(UTC)
    for age, lead_id in zip((3, 2, 1), ids, strict=True):  # the first one is the oldest
        _move_lead(lead_id, created_at=now - timedelta(hours=age), confirmed_at=now - timedelta(hours=age))
    leads.approve_lead(lead_id=confirmed_lead(market.slug), actor=ADMIN)  # not waiting any more

    mine = [r for r in approval_queue.approval_queue(ADMIN, limit=500) if r["niche"] == market.slug]
    assert [r["id"] for r in mine] == [str(i) for i in ids]
    assert len(approval_queue.approval_queue(ADMIN, limit=500)) == before + 3
    assert mine[0]["waiting"].startswith("3 h") and mine[0]["payload"]["zip"] == "30301"
    assert mine[0]["consent_version"] and mine[0]["confirmed_at"]
    first_page = approval_queue.approval_queue(ADMIN, limit=before + 1)
    assert len(first_page) == before + 2  # limit + 1: there is more
    rest = approval_queue.approval_queue(ADMIN, limit=50, after=[first_page[-2]["created_at"], first_page[-2]["id"]])
    assert [r["id"] for r in first_page[:-1] + rest] == [
        r["id"] for r in approval_queue.approval_queue(ADMIN, limit=500)
    ]


def test_revenue_of_closed_days_is_rolled_up_once_and_matches_the_ledger(db):
    """Closed days are summed once into ledger_daily_totals; later entries dated on a
    closed day (impossible in production: the ledger is append-only and stamped now)
    would not change the figure, which proves the roll-up is what is read; open days
    stay live."""
    from datetime import datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import text

    from hotlead_app.db import unit_of_work
    from tests.factories import ADMIN, make_provider

    admin = ADMIN
    provider_id = make_provider(balance="100.00").id
    now = datetime.now(UTC)
    today = now.date()

    def charge(amount: str, key: str, created_at: datetime) -> None:
        with unit_of_work() as uow:
            uow.session.execute(
                text(
                    "INSERT INTO ledger_entries (id, provider_id, type, amount, idempotency_key, is_reversal, created_at) "
                    "VALUES (gen_random_uuid(), :p, 'charge', :a, :k, false, :c)"
                ),
                {"p": provider_id, "a": Decimal(amount), "k": key, "c": created_at},
            )

    three_days_ago = now - timedelta(days=3)
    charge("12.50", "t:1", three_days_ago)
    charge("7.50", "t:2", now)
    first = overview.revenue_per_day(admin, days=5)
    by_day = {item["day"]: item for item in first}
    assert by_day[three_days_ago.date().isoformat()]["charged"] == Decimal("12.50")
    assert by_day[today.isoformat()]["charged"] == Decimal("7.50")
    with unit_of_work() as uow:
        rolled = uow.session.execute(text("SELECT day, type, total FROM ledger_daily_totals ORDER BY day, type")).all()
    assert today not in {row[0] for row in rolled}, "today is open: never rolled up"
    assert (three_days_ago.date(), "charge", Decimal("12.50")) in rolled
    assert len({row[0] for row in rolled}) == 4  # the four closed days of the window, zero days included

    charge("1.00", "t:3", three_days_ago)  # only possible by hand: shows the roll-up is read
    charge("2.00", "t:4", now)
    second = {item["day"]: item for item in overview.revenue_per_day(admin, days=5)}
    assert second[three_days_ago.date().isoformat()]["charged"] == Decimal("12.50")
    assert second[today.isoformat()]["charged"] == Decimal("9.50")
    assert ledger_totals.roll_up_closed_days(days=5) == 1  # only the fifth closed day was missing
