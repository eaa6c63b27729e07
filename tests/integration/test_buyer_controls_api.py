"""Buyer controls through the API (API.md "Second wave"): provider settings, a
subscription's schedule, caps and ZIP area, the waiting-leads preview and the opt-in
to take them, the niche's duplicate window, ``duplicate_of`` on the admin lead, and
every malformed value answering 400 naming the field with nothing written."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import SYSTEM
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, distribution
from tests.factories import ADMIN, approved_lead, deposit, make_market, unique_email

PASSWORD = "correct horse battery"


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _provider(api: str, balance: str = "100.00") -> tuple[uuid.UUID, dict[str, str]]:
    email = unique_email("provider")
    with unit_of_work() as uow:
        provider = catalog.create_provider(name="Acme Roofing", email=email, actor=SYSTEM, uow=uow)
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider.id)
    deposit(provider.id, balance)
    return provider.id, _login(api, email)


def _admin(api: str) -> dict[str, str]:
    email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    return _login(api, email)


def _written() -> tuple[int, int, str]:
    """What a refused request must not change: subscriptions, audit rows, providers."""
    with unit_of_work() as uow:
        subs = uow.session.execute(text("SELECT count(*) FROM provider_subscriptions")).scalar_one()
        audits = uow.session.execute(text("SELECT count(*) FROM audit_logs")).scalar_one()
        providers = uow.session.execute(
            text("SELECT string_agg(time_zone || spend_caps::text, ',' ORDER BY id) FROM service_providers")
        ).scalar_one()
    return subs, audits, providers


def test_provider_settings_round_trip_and_default_time_zone(db, api_server):
    _pid, headers = _provider(api_server)
    me = httpx.get(f"{api_server}/api/v1/provider/me", headers=headers).json()
    assert me["time_zone"] == "America/New_York" and me["spend_caps"] == {}
    resp = httpx.patch(
        f"{api_server}/api/v1/provider/me",
        json={"time_zone": "America/Los_Angeles", "spend_caps": {"day": "150", "month": 900}},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["time_zone"] == "America/Los_Angeles"
    assert resp.json()["spend_caps"] == {"day": "150.00", "month": "900.00"}
    assert httpx.get(f"{api_server}/api/v1/provider/me", headers=headers).json()["spend_caps"]["day"] == "150.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": 5}, "time_zone"),
        ({"spend_caps": {"day": "-1"}}, "spend_caps.day"),
        ({"spend_caps": {"day": "0"}}, "spend_caps.day"),
        ({"spend_caps": {"day": "1.005"}}, "spend_caps.day"),
        ({"spend_caps": {"year": "10"}}, "spend_caps.year"),
        ({"spend_caps": {"week": True}}, "spend_caps.week"),
        ({"spend_caps": ["10"]}, "spend_caps"),
        ({"balance": "1000"}, "balance"),
    ],
)
def test_bad_provider_settings_answer_400_naming_the_field_and_write_nothing(db, api_server, body, field):
    _pid, headers = _provider(api_server)
    before = _written()
    resp = httpx.patch(f"{api_server}/api/v1/provider/me", json=body, headers=headers)
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["error"]["details"]
    assert _written() == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"schedule": {"mon": [["09:00", "08:00"]]}}, "schedule.mon[0]"),
        ({"schedule": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "schedule.mon[1]"),
        ({"schedule": {"mon": [["8:00", "12:00"]]}}, "schedule.mon[0]"),
        ({"schedule": {"mon": [["08:00", "24:01"]]}}, "schedule.mon[0]"),
        ({"schedule": {"mon": [["24:00", "24:00"]]}}, "schedule.mon[0]"),
        ({"schedule": {"funday": []}}, "schedule.funday"),
        ({"schedule": {"mon": "08:00-17:00"}}, "schedule.mon"),
        ({"schedule": "weekdays"}, "schedule"),
        ({"caps": {"day": 0}}, "caps.day"),
        ({"caps": {"day": 1.5}}, "caps.day"),
        ({"caps": {"day": "5"}}, "caps.day"),
        ({"caps": {"hour": 5}}, "caps.hour"),
        ({"caps": [5]}, "caps"),
        ({"filters": {"zip": {"near": {"zip": "00000", "miles": 25}}}}, "zip.near.zip"),
        ({"filters": {"zip": {"near": {"zip": "10001", "miles": 0}}}}, "zip.near.miles"),
        ({"filters": {"zip": {"near": {"zip": "10001", "miles": 501}}}}, "zip.near.miles"),
        ({"filters": {"zip": {"near": {"zip": "10001"}}}}, "zip.near"),
        ({"filters": {"zip": {"states": ["NY", "XX"]}}}, "zip.states"),
        ({"filters": {"zip": {"states": []}}}, "zip.states"),
        ({"filters": {"area_sqft": {"states": ["NY"]}}}, "area_sqft"),
        ({"filters": {"roof_type": {"near": {"zip": "10001", "miles": 5}}}}, "roof_type"),
        ({"take_waiting": "yes"}, "take_waiting"),
    ],
)
def test_bad_subscription_controls_answer_400_naming_the_field_and_write_nothing(db, api_server, extra, field):
    _pid, headers = _provider(api_server)
    market = make_market(providers=0)
    before = _written()
    resp = httpx.post(
        f"{api_server}/api/v1/provider/subscriptions",
        json={"competition_level_id": str(market.levels[0].id), "filters": {}, **extra},
        headers=headers,
    )
    assert resp.status_code == 400, resp.text
    assert field in resp.json()["error"]["details"], resp.json()
    assert _written() == before


def test_subscription_controls_are_saved_returned_and_patched(db, api_server):
    pid, headers = _provider(api_server)
    market = make_market(providers=0)
    body = {
        "competition_level_id": str(market.levels[0].id),
        "filters": {"zip": {"near": {"zip": "10001", "miles": 25}, "states": ["NJ", "NY"]}},
        "schedule": {"fri": [["08:00", "12:00"], ["13:00", "24:00"]], "mon": [["08:00", "18:00"]]},
        "caps": {"week": 10, "day": 3},
    }
    created = httpx.post(f"{api_server}/api/v1/provider/subscriptions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["schedule"] == {"mon": [["08:00", "18:00"]], "fri": [["08:00", "12:00"], ["13:00", "24:00"]]}
    assert sub["caps"] == {"day": 3, "week": 10}
    assert sub["filters"]["zip"] == {"near": {"zip": "10001", "miles": 25}, "states": ["NJ", "NY"]}
    assert sub["leads_from"] == sub["created_at"]  # future leads only, by default

    url = f"{api_server}/api/v1/provider/subscriptions/{sub['id']}"
    paused = httpx.patch(url, json={"active": False}, headers=headers).json()
    assert paused["schedule"] == sub["schedule"] and paused["leads_from"] == sub["leads_from"]
    opened = httpx.patch(url, json={"schedule": None, "caps": {"month": 40}}, headers=headers).json()
    assert opened["schedule"] is None and opened["caps"] == {"month": 40}
    resumed = httpx.patch(url, json={"active": True}, headers=headers).json()
    assert resumed["leads_from"] == sub["leads_from"]  # pausing and resuming never change it
    bad = httpx.patch(url, json={"caps": {"day": -2}}, headers=headers)
    assert bad.status_code == 400 and "caps.day" in bad.json()["error"]["details"]
    # an admin sees the controls on the provider's detail
    detail = httpx.get(f"{api_server}/api/v1/admin/providers/{pid}", headers=_admin(api_server)).json()
    assert detail["time_zone"] == "America/New_York" and detail["spend_caps"] == {}
    (row,) = detail["subscriptions"]
    assert (row["caps"], row["schedule"], row["leads_from"]) == ({"month": 40}, None, sub["leads_from"])


def test_waiting_leads_are_previewed_and_taken_only_when_asked(db, api_server, redis_server):
    market = make_market(levels=[("Shared", "10.00", 5)], providers=0)
    slug = market.niche.slug
    waiting = [approved_lead(slug, {"zip": "10001", "roof_type": "metal"}) for _ in range(2)]
    waiting.append(approved_lead(slug, {"zip": "30301", "roof_type": "tile"}))
    _pid, headers = _provider(api_server)
    level = str(market.levels[0].id)

    preview = httpx.get(f"{api_server}/api/v1/provider/competition-levels/{level}/waiting-leads", headers=headers)
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "competition_level_id": level,
        "count": 3,
        "price_per_lead": "10.00",
        "total_price": "30.00",
    }
    metal = httpx.get(
        f"{api_server}/api/v1/provider/competition-levels/{level}/waiting-leads",
        params={"filters": '{"roof_type": ["metal"]}'},
        headers=headers,
    ).json()
    assert (metal["count"], metal["total_price"]) == (2, "20.00")
    bad = httpx.get(
        f"{api_server}/api/v1/provider/competition-levels/{level}/waiting-leads",
        params={"filters": '{"details": ["x"]}'},
        headers=headers,
    )
    assert bad.status_code == 400

    # Default: future leads only; the waiting ones stay waiting.
    sub = httpx.post(
        f"{api_server}/api/v1/provider/subscriptions", json={"competition_level_id": level}, headers=headers
    ).json()
    assert sub["leads_from"] is not None
    assert {distribution.distribute_lead(lead_id=i).outcome for i in waiting} == {"no_eligible"}
    # Opting in takes them.
    _pid2, headers2 = _provider(api_server)
    taker = httpx.post(
        f"{api_server}/api/v1/provider/subscriptions",
        json={"competition_level_id": level, "take_waiting": True},
        headers=headers2,
    ).json()
    assert taker["leads_from"] is None
    assert {distribution.distribute_lead(lead_id=i).outcome for i in waiting} == {"distributed"}


def test_admin_sets_the_duplicate_window_and_sees_duplicate_of(db, api_server):
    headers = _admin(api_server)
    market = make_market(providers=0)
    url = f"{api_server}/api/v1/admin/niches/{market.niche.id}"
    for bad in (-1, 1.5, "30", 100_000, True):
        resp = httpx.patch(url, json={"duplicate_window_days": bad}, headers=headers)
        assert resp.status_code == 400 and "duplicate_window_days" in resp.json()["error"]["details"]
    ok = httpx.patch(url, json={"duplicate_window_days": 7}, headers=headers)
    assert ok.status_code == 200 and ok.json()["duplicate_window_days"] == 7

    from hotlead_app.services import intake, leads
    from tests.factories import confirmation_token

    def lead(email: str, phone: str | None = None) -> uuid.UUID:
        made = intake.submit_lead(
            niche_slug=market.niche.slug, email=email, phone=phone, payload={"zip": "10001", "roof_type": "metal"}
        )
        leads.confirm_lead(token=confirmation_token(made.id))
        return made.id

    first = lead("Pat@Example.com")
    second = lead("  pat@example.COM ")
    by_phone = lead("other@example.com", "(212) 555-0100")
    again_phone = lead("third@example.com", "+1 212 555 0100")
    fresh = lead("nobody@example.com")
    got = {
        i: httpx.get(f"{api_server}/api/v1/admin/leads/{i}", headers=headers).json()["duplicate_of"]
        for i in (first, second, by_phone, again_phone, fresh)
    }
    assert got == {first: None, second: str(first), by_phone: None, again_phone: str(by_phone), fresh: None}
    catalog.update_niche(niche_id=market.niche.id, actor=ADMIN, values={"duplicate_window_days": 0})
    assert (
        httpx.get(f"{api_server}/api/v1/admin/leads/{lead('pat@example.com')}", headers=headers).json()["duplicate_of"]
        is None
    )


def test_migration_0017_back_fills_consumers_and_approval_times_and_loads_the_zips(db):
    """Leads made before 0017 get their consumer (email trimmed and lower-cased, phone
    in E.164) and their approval time from their audit row; the ZIP table is loaded."""
    from alembic.config import Config

    from alembic import command
    from hotlead_app.db import reset_engine
    from hotlead_app.services import intake, leads
    from hotlead_app.settings import PROJECT_ROOT
    from tests.factories import confirmation_token

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = db
    cfg.attributes["configure_logger"] = False
    market = make_market(providers=0)
    made = intake.submit_lead(
        niche_slug=market.niche.slug, email="Old.Lead@Example.com", phone="(404) 555-0199", payload=ROOF_PAYLOAD
    ).id
    leads.confirm_lead(token=confirmation_token(made))
    leads.approve_lead(lead_id=made, actor=ADMIN)
    reset_engine()
    command.downgrade(cfg, "0016")
    reset_engine()
    command.upgrade(cfg, "head")
    reset_engine()
    with unit_of_work() as uow:
        row = uow.session.execute(
            text("SELECT consumer_email, consumer_phone_e164, approved_at FROM leads WHERE id = :id"), {"id": made}
        ).one()
        approved = uow.session.execute(
            text("SELECT created_at FROM audit_logs WHERE entity_id = :id AND action = 'approved'"), {"id": made}
        ).scalar_one()
        zips = uow.session.execute(text("SELECT count(*), count(DISTINCT state) FROM zip_centroids")).one()
    assert row.consumer_email == "old.lead@example.com" and row.consumer_phone_e164 == "+14045550199"
    assert row.approved_at == approved
    assert zips[0] > 40000 and zips[1] >= 50


ROOF_PAYLOAD = {"zip": "30303", "roof_type": "metal"}


def test_duplicate_of_is_the_latest_earlier_lead_not_rejected(db):
    from hotlead_app.models import Lead
    from hotlead_app.services import intake, leads
    from tests.factories import confirmation_token

    market = make_market(providers=0)

    def submit(email: str) -> uuid.UUID:
        return intake.submit_lead(niche_slug=market.niche.slug, email=email, payload=ROOF_PAYLOAD).id

    never_confirmed = submit("sam@example.com")
    rejected = submit("sam@example.com")
    leads.confirm_lead(token=confirmation_token(rejected))
    leads.reject_lead(lead_id=rejected, actor=ADMIN, reason="spam")
    later = submit("SAM@example.com")
    leads.confirm_lead(token=confirmation_token(later))
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, later)
        assert lead is not None and lead.duplicate_of == never_confirmed
        assert uow.session.execute(
            text("SELECT after_state->>'duplicate_of' FROM audit_logs WHERE entity_id = :id AND action = 'confirmed'"),
            {"id": later},
        ).scalar_one() == str(never_confirmed)


def test_the_subscriptions_read_shows_controls_and_each_caps_use(db, redis_server):
    from hotlead_app.domain.actors import provider as provider_actor
    from hotlead_app.services.reads import subscriptions
    from tests.factories import make_provider

    market = make_market(levels=[("Only", "5.00", 1)], providers=0)
    owner = make_provider(balance="50.00")
    sub = catalog.create_subscription(
        competition_level_id=market.levels[0].id,
        filters={"zip": {"near": {"zip": "30303", "miles": 10}}},
        actor=ADMIN,
        provider_id=owner.id,
        caps={"day": 2, "month": 20},
        schedule={"sat": [["09:00", "12:00"]]},
    )
    lead = approved_lead(market.niche.slug, {"zip": "30303", "roof_type": "metal"})
    # the Saturday window may be closed now: open the schedule for this lead
    catalog.update_subscription(subscription_id=sub.id, actor=ADMIN, schedule=None)
    assert distribution.distribute_lead(lead_id=lead).outcome == "distributed"
    (row,) = subscriptions.provider_subscriptions(provider_actor(owner.id))
    assert row["caps"] == {"day": 2, "month": 20} and row["schedule"] is None
    assert row["cap_use"] == {"day": {"used": 1, "cap": 2}, "month": {"used": 1, "cap": 20}}
    assert row["filters_text"] == "zip within 10 miles of 30303"
    assert row["leads_from"] is not None
