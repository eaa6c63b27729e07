"""Outcomes (DOMAIN.md "Outcomes"): an append-only history the database itself guards,
the latest row counts, the conversion report equals a recount of the rows, and the
provider's overview sets its spend against its won value."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from decimal import Decimal

import httpx
import psycopg
import pytest
from psycopg import errors

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.domain.errors import InvalidInput, NotFound
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, distribution, intake, leads, outcomes, refunds
from hotlead_app.services.reads import account_summary, conversion
from tests.factories import ADMIN, ROOFING_PAYLOAD, assignments_of, confirmation_token, make_market, unique_email

PASSWORD = "correct horse battery"


def _distributed(slug: str, utm: dict | None = None, partner: str | None = None) -> list:
    lead = intake.submit_lead(
        niche_slug=slug,
        email=unique_email("buyer"),
        payload=dict(ROOFING_PAYLOAD),
        utm_params=utm,
        partner_code=partner,
    )
    leads.confirm_lead(token=confirmation_token(lead.id))
    leads.approve_lead(lead_id=lead.id, actor=ADMIN)
    assert distribution.distribute_lead(lead_id=lead.id).outcome == "distributed"
    return assignments_of(lead.id)


def _record(a, outcome: str, value: str | None = None, reason: str | None = None):
    return outcomes.record_outcome(
        assignment_id=a.id, actor=provider_actor(a.provider_id), outcome=outcome, value=value, reason=reason
    )


def _conn(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def test_the_history_is_append_only_in_the_database(engine_db):
    market = make_market(providers=1)
    (a,) = _distributed(market.slug)
    first = _record(a, "contacted")
    _record(a, "won", "900.00")
    with _conn(engine_db) as conn:
        for statement in (
            "UPDATE lead_outcomes SET outcome = 'lost' WHERE id = %s",
            "DELETE FROM lead_outcomes WHERE id = %s",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement, (first.id,))
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            conn.execute("TRUNCATE lead_outcomes")
        rows = conn.execute("SELECT outcome FROM lead_outcomes ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["contacted", "won"]


def test_only_the_provider_that_received_the_lead_records_and_bad_input_is_400(engine_db):
    market = make_market(providers=2)
    a, b = _distributed(market.slug)
    with pytest.raises(NotFound):
        outcomes.record_outcome(assignment_id=a.id, actor=provider_actor(b.provider_id), outcome="won")
    with pytest.raises(InvalidInput) as bad:
        _record(a, "contacted", value="10.00")
    assert set(bad.value.details) == {"value"}
    with pytest.raises(InvalidInput):
        _record(a, "won", value="-1")


def test_the_conversion_report_equals_a_recount(engine_db):
    """Leads over two levels, two partners' UTM sources and none; random outcome
    histories (seeded); the report by each grouping equals a recount in Python of the
    latest outcome of every assignment."""
    rng = random.Random(1515)
    from hotlead_app.models import Partner

    codes = [f"p{uuid.uuid4().hex[:6]}", f"q{uuid.uuid4().hex[:6]}"]
    with unit_of_work() as uow:
        for code in codes:
            uow.session.add(Partner(code=code, name=f"Partner {code}"))
    market = make_market(levels=[("Exclusive", "30.00", 1), ("Shared", "10.00", 2)], providers=3, balance="900.00")
    made = []
    for i in range(12):
        utm = rng.choice([None, {"utm_source": "google"}, {"utm_source": "facebook"}])
        made.extend(_distributed(market.slug, utm, rng.choice([None, *codes])))
        if i == 5:
            refunds.refund_assignment(assignment_id=made[-1].id, actor=ADMIN, reason="refunded ones still count")
    latest: dict[uuid.UUID, tuple[str, Decimal | None]] = {}
    for a in made:
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["contacted", "appointment", "won", "lost"])
            value = f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}" if kind == "won" and rng.random() < 0.8 else None
            _record(a, kind, value)
            latest[a.id] = (kind, Decimal(value) if value else None)

    with unit_of_work() as uow:
        from sqlalchemy import text

        meta = {
            r.id: r
            for r in uow.session.execute(
                text(
                    "SELECT a.id, l.niche_id, a.competition_level_id, l.partner_id, "
                    "l.utm_params->>'utm_source' AS utm "
                    "FROM lead_assignments a JOIN leads l ON l.id = a.lead_id"
                )
            )
        }
    keys = {
        "niche": lambda m: str(m.niche_id),
        "level": lambda m: str(m.competition_level_id),
        "utm_source": lambda m: m.utm,
        "partner": lambda m: str(m.partner_id) if m.partner_id else None,
    }
    for by, key in keys.items():
        expected: dict = defaultdict(lambda: [0, 0, Decimal("0")])
        for a in made:
            group = expected[key(meta[a.id])]
            group[0] += 1
            kind, value = latest.get(a.id, (None, None))
            if kind == "won":
                group[1] += 1
                group[2] += value or Decimal("0")
        report = conversion.conversion_report(ADMIN, by=by)
        got = {r["key"]: [r["assignments"], r["won"], Decimal(r["won_value"])] for r in report["rows"]}
        assert got == dict(expected), by
        if by == "partner":
            assert len(got) > 1  # the seeded leads came through partners and without one
        for r in report["rows"]:
            assert r["conversion_percent"] == round(100.0 * r["won"] / r["assignments"], 2)
    # A range that ends before today holds nothing.
    assert conversion.conversion_report(ADMIN, by="niche", from_="2020-01-01", to="2020-01-31")["rows"] == []
    with pytest.raises(InvalidInput):
        conversion.conversion_report(ADMIN, by="colour")


def test_the_api_and_the_providers_spend_against_won_value(engine_db, api_server):
    market = make_market(levels=[("Shared", "12.50", 2)], providers=1, balance="100.00")
    a, b, c = (x for lead in range(3) for x in _distributed(market.slug))
    refunds.refund_assignment(assignment_id=c.id, actor=ADMIN, reason="wrong number")
    email = unique_email("login")
    with unit_of_work() as uow:
        accounts.create_user(
            uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=market.providers[0].id
        )
    token = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    mine = {"Authorization": f"Bearer {token}"}
    url = f"{api_server}/api/v1/provider/assignments/{a.id}/outcome"
    made = httpx.post(url, json={"outcome": "won", "value": "1500.00"}, headers=mine)
    assert made.status_code == 201, made.text
    assert (made.json()["outcome"], made.json()["value"]) == ("won", "1500.00")
    bad = httpx.post(url, json={"outcome": "sold"}, headers=mine)
    assert bad.status_code == 400 and "outcome" in bad.json()["error"]["details"]
    httpx.post(
        f"{api_server}/api/v1/provider/assignments/{b.id}/outcome",
        json={"outcome": "lost", "reason": "price"},
        headers=mine,
    )
    overview = httpx.get(f"{api_server}/api/v1/provider/overview", headers=mine).json()
    assert overview["spend_vs_won"] == {
        "days": 30,
        "assignments": 3,
        "spend": "25.00",
        "won": 1,
        "won_value": "1500.00",
    }
    assert account_summary.account_summary(provider_actor(market.providers[0].id))["spend_vs_won"]["won"] == 1
    admin_email = unique_email("admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    admin_token = httpx.post(
        f"{api_server}/api/v1/auth/login", json={"email": admin_email, "password": PASSWORD}
    ).json()["token"]
    admin = {"Authorization": f"Bearer {admin_token}"}
    report = httpx.get(f"{api_server}/api/v1/admin/reports/conversion?by=level", headers=admin)
    assert report.status_code == 200
    (row,) = report.json()["items"]
    assert (row["assignments"], row["won"], row["won_value"]) == (3, 1, "1500.00")
    assert row["conversion_percent"] == 33.33
    assert httpx.get(f"{api_server}/api/v1/admin/reports/conversion?by=x", headers=admin).status_code == 400
    assert httpx.get(f"{api_server}/api/v1/admin/reports/conversion?from=2026-13-01", headers=admin).status_code == 400
    assert httpx.get(f"{api_server}/api/v1/admin/reports/conversion", headers=mine).status_code == 403
