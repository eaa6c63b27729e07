"""GET /provider/leads and /provider/leads/{id}: each lead says how many providers
received it (``shared_with``), at which level, its latest outcome and its return
request (API.md, second wave)."""

from __future__ import annotations

import uuid

import httpx

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, distribution, outcomes, returns
from tests.factories import approved_lead, assignments_of, make_market, unique_email

PASSWORD = "correct horse battery"


def _headers(api: str, provider_id) -> dict[str, str]:
    email = unique_email("login")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.PROVIDER, provider_id=provider_id)
    token = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_each_lead_shows_its_share_count_level_latest_outcome_and_return(engine_db, api_server):
    market = make_market(levels=[("Trio", "10.00", 3)], providers=3, balance="200.00")
    first, second = approved_lead(market.slug), approved_lead(market.slug)
    for lead_id in (first, second):
        assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    shares = {lead_id: len(assignments_of(lead_id)) for lead_id in (first, second)}
    assert list(shares.values()) == [3, 3]
    shared_lead = first
    mine = next(a for a in assignments_of(shared_lead))
    me = provider_actor(mine.provider_id)
    outcomes.record_outcome(assignment_id=mine.id, actor=me, outcome="contacted")
    outcomes.record_outcome(assignment_id=mine.id, actor=me, outcome="won", value="750.00")
    asked = returns.request_return(assignment_id=mine.id, actor=me, reason="duplicate")

    headers = _headers(api_server, mine.provider_id)
    items = httpx.get(f"{api_server}/api/v1/provider/leads", headers=headers).json()["items"]
    row = next(i for i in items if i["lead_id"] == str(shared_lead))
    assert (row["shared_with"], row["level"]) == (3, "Trio")
    assert row["latest_outcome"]["outcome"] == "won" and row["latest_outcome"]["value"] == "750.00"
    assert row["return_request"] == {
        "id": str(asked.id),
        "status": "pending",
        "reason": "duplicate",
        "deny_reason": None,
    }
    assert row["return_window_closes_at"] > row["assigned_at"]
    others = [i for i in items if i["lead_id"] != str(shared_lead)]
    assert all(i["latest_outcome"] is None and i["return_request"] is None for i in others)
    assert all(i["shared_with"] == shares[uuid.UUID(i["lead_id"])] for i in others)

    detail = httpx.get(f"{api_server}/api/v1/provider/leads/{shared_lead}", headers=headers).json()
    assert (detail["shared_with"], detail["level"]) == (3, "Trio")
    assert detail["latest_outcome"]["outcome"] == "won"
    assert detail["return_request"]["status"] == "pending"
    assert detail["return_reasons"][0]["code"] == "wrong_contact"
