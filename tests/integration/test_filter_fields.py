"""DOMAIN.md "Which fields a filter may name" (issue 13 item 1): a filter names only the
niche's select, ZIP and number fields; the API refuses anything else on create and
update; missed leads never show a text, email or phone field, even for an old row;
migration 0014 pauses the subscriptions saved before the rule, audited and emailed."""

from __future__ import annotations

import uuid

import httpx
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import col, select

from alembic import command
from hotlead_app.db import reset_engine, unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import AuditLog, OutboxMessage, ProviderSubscription
from hotlead_app.services import accounts, auth, catalog, distribution, ledger, notifications
from hotlead_app.settings import PROJECT_ROOT
from tests.factories import ROOFING_FIELDS, approved_lead, make_market, make_provider, subscribe, unique_email

PASSWORD = "correct horse battery"

#: The roofing form plus one field of each type a filter may not name.
FIELDS = [
    *ROOFING_FIELDS,
    {"name": "details", "label": "Details", "type": "text", "required": False},
    {"name": "alt_email", "label": "Other email", "type": "email", "required": False},
    {"name": "alt_phone", "label": "Other phone", "type": "phone", "required": False},
]
PAYLOAD = {
    "zip": "30301",
    "roof_type": "metal",
    "area_sqft": "1200",
    "details": "Call me after 5, gate code 4411",
    "alt_email": "secret@example.com",
    "alt_phone": "+1 404 555 0199",
}
REFUSED = [
    ({"details": ["x"]}, "details"),
    ({"alt_email": ["secret@example.com"]}, "alt_email"),
    ({"alt_phone": ["4045550199"]}, "alt_phone"),
    ({"colour": ["red"]}, "colour"),  # a name the form lacks
    ({"area_sqft": ["1200"]}, "area_sqft"),  # number -> range only
    ({"roof_type": {"min": 1}}, "roof_type"),  # select -> list only
    ({"zip": {"max": 99999}}, "zip"),  # zip -> list only
]


def _provider(api: str) -> tuple[uuid.UUID, dict[str, str]]:
    email = unique_email("filters")
    provider = accounts.create_provider_account(name="Filters Co", email=email, password=PASSWORD, actor=admin())
    ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"filters:{provider.id}")
    token = auth.login(email=email, password=PASSWORD).token
    return provider.id, {"Authorization": f"Bearer {token}"}


def _subscriptions_of(provider_id: uuid.UUID) -> list[ProviderSubscription]:
    with unit_of_work() as uow:
        return list(
            uow.session.exec(select(ProviderSubscription).where(ProviderSubscription.provider_id == provider_id))
        )


def _force_filters(subscription_id: uuid.UUID, filters: str) -> None:
    """An old row: filters saved before the rule, written around the service."""
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE provider_subscriptions SET filters = CAST(:f AS jsonb) WHERE id = :id"),
            {"f": filters, "id": subscription_id},
        )


def test_the_api_refuses_a_filter_on_any_field_but_select_zip_and_number(db, api_server):
    market = make_market(levels=[("Solo", "5.00", 1)], providers=0, fields=FIELDS)
    provider_id, headers = _provider(api_server)
    url = f"{api_server}/api/v1/provider/subscriptions"
    level = str(market.levels[0].id)

    for filters, field in REFUSED:
        resp = httpx.post(url, headers=headers, json={"competition_level_id": level, "filters": filters})
        assert resp.status_code == 400, (filters, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "invalid_filters" and list(error["details"]) == [field], error
        assert error["message"]
    assert _subscriptions_of(provider_id) == []  # nothing written

    created = httpx.post(
        url,
        headers=headers,
        json={
            "competition_level_id": level,
            "filters": {"roof_type": ["metal"], "zip": ["30301"], "area_sqft": {"min": 100}},
        },
    )
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    for filters, field in REFUSED:
        resp = httpx.patch(f"{url}/{sub_id}", headers=headers, json={"filters": filters})
        assert resp.status_code == 400, (filters, resp.text)
        assert list(resp.json()["error"]["details"]) == [field]
    (stored,) = _subscriptions_of(provider_id)
    assert stored.filters == {"roof_type": ["metal"], "zip": ["30301"], "area_sqft": {"min": 100}}

    # An old row that breaks the rule may be paused, not resumed until its filters are fixed.
    _force_filters(stored.id, '{"details": ["x"]}')
    assert httpx.patch(f"{url}/{sub_id}", headers=headers, json={"active": False}).status_code == 200
    refused = httpx.patch(f"{url}/{sub_id}", headers=headers, json={"active": True})
    assert refused.status_code == 400 and list(refused.json()["error"]["details"]) == ["details"]
    fixed = httpx.patch(f"{url}/{sub_id}", headers=headers, json={"filters": {"zip": ["30301"]}, "active": True})
    assert fixed.status_code == 200 and fixed.json()["active"] is True, fixed.text


def test_the_filter_preview_refuses_a_field_a_filter_may_not_name(db, api_server):
    market = make_market(levels=[("Solo", "5.00", 1)], providers=0, fields=FIELDS)
    approved_lead(market.slug, PAYLOAD)
    _provider_id, headers = _provider(api_server)
    url = f"{api_server}/api/v1/provider/filter-preview"
    niche = str(market.niche.id)
    for filters, field in REFUSED:
        resp = httpx.post(url, headers=headers, json={"niche_id": niche, "filters": filters})
        assert resp.status_code == 400, (filters, resp.text)
        assert list(resp.json()["error"]["details"]) == [field]
    fine = httpx.post(url, headers=headers, json={"niche_id": niche, "filters": {"roof_type": ["metal"]}})
    assert fine.status_code == 200 and fine.json()["matched"] == 1, fine.text


def test_missed_leads_never_show_a_text_email_or_phone_field_even_for_an_old_row(db, api_server):
    market = make_market(levels=[("Solo", "5.00", 1)], providers=1, fields=FIELDS)
    provider_id, headers = _provider(api_server)
    sub = subscribe(provider_id, market.levels[0].id, {"roof_type": ["tile"]})
    _force_filters(
        sub.id, '{"roof_type": ["tile"], "details": ["x"], "alt_email": ["x"], "alt_phone": ["1"], "area_sqft": ["1"]}'
    )
    lead_id = approved_lead(market.slug, PAYLOAD)
    distribution.distribute_lead(lead_id=lead_id)  # the other provider receives it

    resp = httpx.get(f"{api_server}/api/v1/provider/missed-leads", headers=headers)
    assert resp.status_code == 200, resp.text
    (item,) = resp.json()["items"]
    assert item["lead_id"] == str(lead_id)
    assert item["fields"] == {"roof_type": "metal", "area_sqft": 1200}
    for secret in ("gate code", "secret@example.com", "555 0199", "4045550199"):
        assert secret not in resp.text


def _config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def test_migration_0014_pauses_the_offending_subscriptions_audits_and_emails_them(db):
    cfg = _config(db)
    # The rows are made by today's services (at head), then the schema goes back to
    # before the rule and forward again: later migrations may add columns the models write.
    market = make_market(levels=[("Gold", "5.00", 1), ("Silver", "3.00", 2)], providers=0, fields=FIELDS)
    leaky, fine = make_provider(balance="50.00"), make_provider(balance="50.00")
    gold, silver = market.levels
    bad_gold = subscribe(leaky.id, gold.id)
    bad_silver = subscribe(leaky.id, silver.id)
    good = subscribe(fine.id, gold.id, {"roof_type": ["metal"], "area_sqft": {"max": 5000}})
    cancelled = subscribe(fine.id, silver.id)
    catalog.cancel_subscription(subscription_id=cancelled.id, actor=admin())
    _force_filters(bad_gold.id, '{"details": ["x"]}')
    _force_filters(bad_silver.id, '{"roof_type": ["metal"], "colour": ["red"]}')
    _force_filters(cancelled.id, '{"details": ["x"]}')
    reset_engine()
    command.downgrade(cfg, "0013")
    reset_engine()

    command.upgrade(cfg, "head")

    with unit_of_work() as uow:
        subs = {s.id: s for s in uow.session.exec(select(ProviderSubscription))}
        audits = list(
            uow.session.exec(
                select(AuditLog).where(AuditLog.action == "paused_filter_not_allowed").order_by(col(AuditLog.seq))
            )
        )
        jobs = list(uow.session.exec(select(OutboxMessage).where(OutboxMessage.task == "email.provider_balance_rules")))
    for sub_id in (bad_gold.id, bad_silver.id):
        assert (subs[sub_id].active, subs[sub_id].pause_reason) == (False, "filter_not_allowed")
    assert (subs[good.id].active, subs[good.id].pause_reason) == (True, None)
    assert subs[cancelled.id].pause_reason == "cancelled"
    assert sorted(a.entity_id for a in audits) == sorted([bad_gold.id, bad_silver.id])
    for a in audits:
        assert a.actor_role.value == "system" and a.before_state["active"] is True
        assert a.after_state["pause_reason"] == "filter_not_allowed"
    (job,) = [j for j in jobs if j.args.get("provider_id") == str(leaky.id)]
    assert sorted(c["subscription_id"] for c in job.args["changes"]) == sorted([str(bad_gold.id), str(bad_silver.id)])
    assert {c["change"] for c in job.args["changes"]} == {"filter_not_allowed"}
    assert not [j for j in jobs if j.args.get("provider_id") == str(fine.id)]

    from workers.tasks import app

    assert job.task in app.tasks  # the job is one a worker runs
    email = notifications.compose_provider_balance_rules(
        provider_id=leaky.id, changes=job.args["changes"], key=str(job.id)
    )
    assert email is not None and email.to_address == leaky.email
    with unit_of_work() as uow:
        body = uow.session.execute(
            text("SELECT body_text FROM email_messages WHERE id = :id"), {"id": email.id}
        ).scalar_one()
    assert "filters name a field a filter may not use" in body and "/provider/subscriptions" in body


def test_the_filter_builder_shows_why_next_to_each_refused_rule_and_saving_drops_it(db):
    from hotlead_app.domain import actors
    from hotlead_app.pages.provider_subscriptions.filter_builder import _filters_from, builder_fields
    from hotlead_app.services.reads import subscriptions

    market = make_market(levels=[("Solo", "5.00", 1)], providers=0, fields=FIELDS)
    provider = make_provider(balance="50.00")
    sub = subscribe(provider.id, market.levels[0].id, {"roof_type": ["metal"]})
    _force_filters(sub.id, '{"roof_type": ["metal"], "details": ["x"], "area_sqft": ["1"]}')

    (row,) = subscriptions.provider_subscriptions(actors.provider(provider.id))
    assert set(row["filter_problems"]) == {"details", "area_sqft"}
    (niche,) = [
        n for n in subscriptions.subscription_options(actors.provider(provider.id)) if n["id"] == row["niche_id"]
    ]
    rows, extra = builder_fields(niche["fields"], row["filters"], row["filter_problems"])
    errors = {r.name: r.error for r in rows if r.error}
    assert set(errors) == {"details", "area_sqft"}
    assert "text field" in errors["details"] and "Saving drops this rule" in errors["details"]
    filters, problems = _filters_from(rows, extra)
    assert (filters, problems) == ({"roof_type": ["metal"]}, {})
