"""The admin console's reads (services/reads: niches, providers, ledger_entries,
audit_trail), editing a niche (catalog.update_niche) and their API routes,
on real PostgreSQL and over real HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.domain.actors import provider as provider_actor
from hotlead_app.domain.errors import Forbidden, InvalidInput, NotFound
from hotlead_app.models import AuditLog, LedgerEntry, Niche, UserRole
from hotlead_app.services import accounts, catalog, intake, ledger
from hotlead_app.services.reads import audit_trail, ledger_entries, niches, providers
from tests.factories import ROOFING_FIELDS, deposit, make_market, unique_email

PASSWORD = "correct horse battery"
ADMIN = admin(uuid.UUID("00000000-0000-4000-8000-00000000a0a1"))


def _niche(slug: str | None = None):
    return catalog.create_niche(
        slug=slug or f"views-{uuid.uuid4().hex[:8]}",
        name="Views",
        fields=[{"name": "zip", "type": "zip", "required": True}],
        actor=ADMIN,
    )


def _audit_rows(entity_id: uuid.UUID) -> list[AuditLog]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(select(AuditLog).where(AuditLog.entity_id == entity_id).order_by(AuditLog.seq)).all()
        )


# --------------------------------------------------------------------------- niches


def test_an_admin_edits_a_niches_form_and_the_public_form_follows(db):
    niche = _niche()
    fields = [
        {"name": "zip", "label": "ZIP", "type": "zip", "required": True},
        {"name": "material", "label": "Material", "type": "select", "required": False, "options": ["wood", "steel"]},
    ]
    updated = catalog.update_niche(
        niche_id=niche.id, actor=ADMIN, values={"name": "Fences", "fields": fields}, memo="new form for spring"
    )
    assert updated.name == "Fences" and [f["name"] for f in updated.fields] == ["zip", "material"]
    public = intake.get_niche(slug=niche.slug)
    assert public.fields[1]["options"] == ["wood", "steel"] and public.name == "Fences"
    last = _audit_rows(niche.id)[-1]
    assert last.action == "updated" and last.admin_only_memo == "new form for spring"
    assert last.before_state["name"] == "Views" and last.after_state["name"] == "Fences"


def test_a_deactivated_niche_leaves_the_public_side_and_can_come_back(db):
    niche = _niche()
    catalog.update_niche(niche_id=niche.id, actor=ADMIN, values={"active": False})
    with pytest.raises(NotFound):
        intake.get_niche(slug=niche.slug)
    assert _audit_rows(niche.id)[-1].action == "deactivated"
    catalog.update_niche(niche_id=niche.id, actor=ADMIN, values={"active": True})
    assert intake.get_niche(slug=niche.slug).id == niche.id
    assert _audit_rows(niche.id)[-1].action == "activated"


def test_a_bad_niche_edit_names_each_field_and_writes_nothing(db):
    niche = _niche()
    before = _audit_rows(niche.id)
    bad_fields = [
        {"name": "Zip Code", "type": "zip"},
        {"name": "kind", "type": "select", "options": []},
        {"name": "x", "type": "colour"},
    ]
    with pytest.raises(InvalidInput) as caught:
        catalog.update_niche(
            niche_id=niche.id, actor=ADMIN, values={"name": " ", "fields": bad_fields, "slug": "other"}
        )
    details = caught.value.details
    assert set(details) == {"name", "slug", "fields[0].name", "fields[1].options", "fields[2].type"}
    with unit_of_work() as uow:
        stored = uow.session.get(Niche, niche.id)
    assert stored.name == "Views" and [f["name"] for f in stored.fields] == ["zip"]
    assert _audit_rows(niche.id) == before


def test_niche_views_refuse_providers_and_unknown_ids(db):
    niche = _niche()
    someone = provider_actor(uuid.uuid4())
    with pytest.raises(Forbidden):
        catalog.update_niche(niche_id=niche.id, actor=someone, values={"name": "Mine"})
    with pytest.raises(Forbidden):
        niches.niche_detail(someone, niche_id=niche.id)
    with pytest.raises(NotFound):
        catalog.update_niche(niche_id=uuid.uuid4(), actor=ADMIN, values={"name": "Nope"})
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="9.50", max_providers=1, priority_order=2, actor=ADMIN
    )
    view = niches.niche_detail(ADMIN, niche_id=niche.id)
    assert view["levels"] == [
        {
            "id": str(level.id),
            "niche_id": str(niche.id),
            "name": "Solo",
            "price_per_lead": "9.50",
            "max_providers": 1,
            "priority_order": 2,
            "active": True,
        }
    ]


# --------------------------------------------------------------------------- providers


def test_provider_detail_lists_logins_and_subscriptions_with_their_levels(db):
    email = unique_email("detail")
    created = accounts.create_provider_account(name="Detail Roofing", email=email, password=PASSWORD, actor=ADMIN)
    market = make_market(levels=[("Gold", "20.00", 1)], providers=0)
    deposit(created.id, "40.00")
    catalog.create_subscription(
        competition_level_id=market.level("Gold").id, filters={"zip": ["30301"]}, actor=ADMIN, provider_id=created.id
    )
    view = providers.provider_detail(ADMIN, provider_id=created.id)
    assert view["name"] == "Detail Roofing" and view["balance"] == "40.00" and view["status"] == "active"
    assert [login["email"] for login in view["logins"]] == [email]
    (sub,) = view["subscriptions"]
    assert (sub["niche"], sub["level"], sub["price_per_lead"], sub["filters"], sub["active"]) == (
        market.slug,
        "Gold",
        "20.00",
        {"zip": ["30301"]},
        True,
    )
    with pytest.raises(NotFound):
        providers.provider_detail(ADMIN, provider_id=uuid.uuid4())
    with pytest.raises(Forbidden):
        providers.provider_detail(provider_actor(created.id), provider_id=created.id)


def test_a_provider_is_found_by_id_by_its_email_or_by_a_logins_email(db):
    email = unique_email("find")
    created = accounts.create_provider_account(name="Findable", email=email, password=PASSWORD, actor=ADMIN)
    assert providers.resolve_provider(ADMIN, text=str(created.id)) == created.id
    assert providers.resolve_provider(ADMIN, text=email.upper()) == created.id
    for unknown in (str(uuid.uuid4()), "nobody@example.com", ""):
        with pytest.raises(InvalidInput) as caught:
            providers.resolve_provider(ADMIN, text=unknown)
        assert "provider" in caught.value.details


# --------------------------------------------------------------------------- ledger


def test_the_global_ledger_filters_by_provider_and_type_and_pages_newest_first(db):
    market = make_market(providers=2, balance="30.00")
    first, second = market.providers
    ledger.adjust(provider_id=first.id, type="credit", amount="5.00", actor=ADMIN, memo="goodwill")
    ledger.adjust(provider_id=second.id, type="debit", amount="2.50", actor=ADMIN, memo="fee")

    everything = ledger_entries.all_entries(ADMIN, limit=500)
    seqs = [row["seq"] for row in everything]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 4
    assert everything[0]["type"] == "debit" and everything[0]["memo"] == "fee"
    assert everything[0]["provider_name"] == second.name and everything[0]["signed_amount"] == "-2.50"
    assert everything[0]["balance_after"] == "27.50"

    credits = ledger_entries.all_entries(ADMIN, type="credit")
    assert [(r["provider_id"], r["amount"], r["memo"]) for r in credits] == [(str(first.id), "5.00", "goodwill")]
    mine = ledger_entries.all_entries(ADMIN, provider_id=first.id)
    assert {r["type"] for r in mine} == {"deposit", "credit"}
    assert ledger_entries.all_entries(ADMIN, provider_id=first.id, type="debit") == []

    # Keyset pages of one: each entry once, in the same order, and the extra row says "more".
    seen, cursor = [], None
    while True:
        rows = ledger_entries.all_entries(ADMIN, limit=1, before_seq=cursor)
        seen.append(rows[0]["seq"])
        if len(rows) == 1:
            break
        cursor = rows[0]["seq"]
    assert seen == seqs


def test_the_global_ledger_filters_by_day_links_each_charge_to_its_lead_and_exports_csv(db):
    import csv
    import io
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from hotlead_app.services import distribution
    from tests.factories import approved_lead, assignments_of

    market = make_market(providers=1, balance="50.00", levels=[("Solo", "12.50", 1)])
    (provider,) = market.providers
    lead_id = approved_lead(market.niche.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    (assignment,) = assignments_of(lead_id)
    ledger.adjust(provider_id=provider.id, type="credit", amount="1.25", actor=ADMIN, memo="=SUM(A1)")

    today = datetime.now(UTC).date()
    everything = ledger_entries.all_entries(ADMIN, provider_id=provider.id)
    assert [e["type"] for e in everything] == ["credit", "charge", "deposit"]
    credit, charge, funded = everything
    assert charge["lead_id"] == str(lead_id) and charge["related_entity_id"] == str(assignment.id)
    assert credit["lead_id"] is None and funded["lead_id"] is None

    # Days are UTC days, both bounds included; a date or its text.
    assert ledger_entries.all_entries(ADMIN, provider_id=provider.id, date_from=today, date_to=today) == everything
    assert ledger_entries.all_entries(ADMIN, provider_id=provider.id, date_from=today.isoformat()) == everything
    assert ledger_entries.all_entries(ADMIN, provider_id=provider.id, date_to=today - timedelta(days=1)) == []
    assert ledger_entries.all_entries(ADMIN, provider_id=provider.id, date_from=today + timedelta(days=1)) == []
    with pytest.raises(InvalidInput) as caught:
        ledger_entries.all_entries(ADMIN, date_from=today, date_to=today - timedelta(days=1))
    assert set(caught.value.details) == {"to"}
    with pytest.raises(InvalidInput) as caught:
        ledger_entries.all_entries(ADMIN, date_from="31/12/2026")
    assert set(caught.value.details) == {"from"}

    # The CSV: the same rows with the same filters, readable headers, signed plain numbers.
    lines = "".join(ledger_entries.all_entries_csv(ADMIN, provider_id=provider.id, date_to=today, currency="USD"))
    rows = list(csv.DictReader(io.StringIO(lines)))
    assert list(rows[0])[:6] == ["Date (UTC)", "Provider", "Provider id", "Type", "Amount (USD)", "Balance after (USD)"]
    assert [r["Entry id"] for r in rows] == [e["id"] for e in everything]
    assert [r["Amount (USD)"] for r in rows] == ["+1.25", "-12.50", "+50.00"]
    assert [Decimal(r["Balance after (USD)"]) for r in rows] == [Decimal("38.75"), Decimal("37.50"), Decimal("50.00")]
    assert rows[1]["Lead id"] == str(lead_id) and rows[1]["For"] == "lead_assignment"
    assert rows[0]["Memo"] == "'=SUM(A1)"  # never a formula in a spreadsheet
    only_charges = "".join(ledger_entries.all_entries_csv(ADMIN, provider_id=provider.id, type="charge"))
    assert [r["Type"] for r in csv.DictReader(io.StringIO(only_charges))] == ["charge"]
    with pytest.raises(InvalidInput):
        ledger_entries.all_entries_csv(ADMIN, date_from="tomorrow")
    with pytest.raises(Forbidden):
        ledger_entries.all_entries_csv(provider_actor(provider.id))


def test_the_global_ledger_refuses_bad_filters_and_providers(db):
    with pytest.raises(InvalidInput) as caught:
        ledger_entries.all_entries(ADMIN, type="gift")
    assert "type" in caught.value.details
    with pytest.raises(InvalidInput):
        ledger_entries.all_entries(ADMIN, limit=0)
    with pytest.raises(Forbidden):
        ledger_entries.all_entries(provider_actor(uuid.uuid4()))


# --------------------------------------------------------------------------- audit


def test_the_audit_log_filters_by_entity_and_by_who_acted_and_shows_memos(db):
    admin_email = unique_email("auditor")
    with unit_of_work() as uow:
        user = accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    auditor = admin(user.id)
    created = accounts.create_provider_account(
        name="Audited", email=unique_email("audited"), password=PASSWORD, actor=auditor
    )
    catalog.set_provider_status(provider_id=created.id, status="inactive", actor=auditor, memo="chargeback")

    rows = audit_trail.audit_trail(ADMIN, entity_type="provider", entity_id=str(created.id))
    assert [r["action"] for r in rows] == ["set_inactive", "created"]
    assert rows[0]["admin_only_memo"] == "chargeback" and rows[0]["actor_email"] == admin_email

    by_email = audit_trail.audit_trail(ADMIN, by=admin_email.upper())
    assert {r["entity_type"] for r in by_email} == {"provider", "user"} and len(by_email) == 3
    assert audit_trail.audit_trail(ADMIN, by=str(user.id)) == by_email
    assert {r["actor_role"] for r in audit_trail.audit_trail(ADMIN, by="admin", limit=500)} == {"admin"}

    page_one = audit_trail.audit_trail(ADMIN, by=admin_email, limit=2)
    assert len(page_one) == 3  # limit + 1: there is more
    page_two = audit_trail.audit_trail(ADMIN, by=admin_email, limit=2, before_seq=page_one[1]["seq"])
    assert [r["seq"] for r in page_one[:2] + page_two] == [r["seq"] for r in by_email]


def test_the_audit_log_names_each_bad_filter(db):
    with pytest.raises(InvalidInput) as caught:
        audit_trail.audit_trail(ADMIN, entity_id="not-an-id", by="someone")
    assert set(caught.value.details) == {"entity_id", "by"}
    with pytest.raises(InvalidInput) as caught:
        audit_trail.audit_trail(ADMIN, by="ghost@example.com")
    assert caught.value.details == {"by": "no login has this email"}
    with pytest.raises(Forbidden):
        audit_trail.audit_trail(provider_actor(uuid.uuid4()))


# --------------------------------------------------------------------------- HTTP


def _login(api: str, email: str) -> dict[str, str]:
    resp = httpx.post(f"{api}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def test_the_admin_console_routes_over_http(db, api_server):
    email = unique_email("api-admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    headers = _login(api_server, email)
    api = f"{api_server}/api/v1/admin"

    created = httpx.post(
        f"{api}/niches",
        headers=headers,
        json={"slug": f"http-{uuid.uuid4().hex[:6]}", "name": "Http", "fields": ROOFING_FIELDS},
    )
    assert created.status_code == 201, created.text
    niche_id = created.json()["id"]
    bad = httpx.patch(
        f"{api}/niches/{niche_id}",
        headers=headers,
        json={"fields": [{"name": "kind", "type": "select", "options": []}]},
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {
        "fields[0].options": "a select needs a non-empty list of strings"
    }
    ok = httpx.patch(
        f"{api}/niches/{niche_id}", headers=headers, json={"name": "Http 2", "active": False, "memo": "closed"}
    )
    assert ok.status_code == 200 and ok.json()["active"] is False and ok.json()["name"] == "Http 2"
    got = httpx.get(f"{api}/niches/{niche_id}", headers=headers).json()
    assert got["name"] == "Http 2" and [f["name"] for f in got["fields"]] == ["zip", "roof_type", "area_sqft"]
    assert httpx.get(f"{api}/niches/{uuid.uuid4()}", headers=headers).status_code == 404

    provider = httpx.post(
        f"{api}/providers",
        headers=headers,
        json={"name": "Http Roofing", "email": unique_email("http"), "password": PASSWORD},
    ).json()
    url = f"{api}/providers/{provider['id']}/adjustments"
    body = {"type": "credit", "amount": "100.00", "memo": "welcome"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = httpx.post(url, headers={**headers, **key}, json=body)
    again = httpx.post(url, headers={**headers, **key}, json=body)
    assert first.status_code == 201 and again.status_code == 201 and first.json()["id"] == again.json()["id"]
    with unit_of_work() as uow:
        entries = uow.session.exec(
            select(LedgerEntry).where(LedgerEntry.provider_id == uuid.UUID(provider["id"]))
        ).all()
    assert [(e.amount, e.memo) for e in entries] == [(100, "welcome")]
    other = httpx.post(url, headers={**headers, **key}, json={**body, "amount": "5.00"})
    assert other.status_code == 409

    detail = httpx.get(f"{api}/providers/{provider['id']}", headers=headers).json()
    assert detail["balance"] == "100.00" and detail["logins"][0]["email"] == provider["email"]
    assert httpx.get(f"{api}/providers/{uuid.uuid4()}", headers=headers).status_code == 404

    credits = httpx.get(f"{api}/ledger", headers=headers, params={"type": "credit"}).json()["items"]
    assert [(i["provider_name"], i["memo"]) for i in credits] == [("Http Roofing", "welcome")]
    assert httpx.get(f"{api}/ledger", headers=headers, params={"type": "gift"}).status_code == 400

    trail = httpx.get(f"{api}/audit-logs", headers=headers, params={"by": email, "entity_type": "provider"}).json()
    assert [i["action"] for i in trail["items"]] == ["balance_credit", "created"]
    assert trail["items"][0]["admin_only_memo"] == "welcome"
    assert httpx.get(f"{api}/audit-logs", headers=headers, params={"by": "nobody"}).status_code == 400
