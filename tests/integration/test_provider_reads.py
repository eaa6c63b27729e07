"""The provider dashboard's reads (``services/reads``: account_summary, subscriptions,
lead_inbox, lead_detail, missed_leads, ledger_entries) and their API twins, on
real PostgreSQL: only the provider's own data, the 30-day filter preview counted with
the engine's own filter semantics, missed leads without contact details."""

from __future__ import annotations

import csv
import io
import itertools
import json
import uuid
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from hotlead_app.db import unit_of_work
from hotlead_app.domain import actors
from hotlead_app.domain.actors import admin
from hotlead_app.domain.errors import InvalidFilters, InvalidInput, NotFound
from hotlead_app.domain.filters import matches, validate_for_form
from hotlead_app.models import Lead
from hotlead_app.services import accounts, auth, catalog, distribution, leads, ledger, refunds
from hotlead_app.services.csv_export import money_column
from hotlead_app.services.reads import (
    account_summary,
    lead_detail,
    lead_inbox,
    ledger_entries,
    missed_leads,
    subscriptions,
)
from tests.factories import (
    ADMIN,
    ROOFING_FIELDS,
    approved_lead,
    assignments_of,
    confirmed_lead,
    make_market,
    make_niche,
    make_provider,
    subscribe,
    unique_email,
)
from tests.integration.test_distribution_reference import TRICKY_NUMBERS, TRICKY_TEXT

PASSWORD = "correct horse battery"


def distributed(slug: str, payload: dict) -> uuid.UUID:
    lead_id = approved_lead(slug, payload)
    distribution.distribute_lead(lead_id=lead_id)
    return lead_id


def lead_contact(lead_id: uuid.UUID) -> tuple[str, str | None]:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        return lead.email, lead.phone


# --------------------------------------------------------------------------- overview


def test_overview_counts_this_weeks_leads_and_nets_refunds_out_of_the_spend(db):
    market = make_market(levels=[("Solo", "12.50", 1)], providers=1, balance="100.00")
    provider = market.providers[0]
    first = distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    distributed(market.slug, {"zip": "30302", "roof_type": "tile"})
    (assignment,) = assignments_of(first)
    refunds.refund_assignment(assignment_id=assignment.id, actor=ADMIN, reason="wrong number")

    view = account_summary.account_summary(actors.provider(provider.id))
    assert view["balance"] == "87.50"
    assert view["status"] == "active" and view["status_text"].startswith("Active")
    assert (view["leads_this_week"], view["leads_this_month"]) == (2, 2)
    assert len(view["spend_per_day"]) == 30
    today = view["spend_per_day"][-1]
    assert today["spend"] == "12.50"  # 2 charges of 12.50, one refunded
    assert sum(Decimal(d["spend"]) for d in view["spend_per_day"]) == Decimal("12.50")


def test_overview_says_why_a_provider_is_auto_deactivated_and_asks_for_funds(db):
    market = make_market(levels=[("Solo", "30.00", 1)], providers=1, balance="40.00")
    provider = market.providers[0]
    distributed(market.slug, {"zip": "30301", "roof_type": "metal"})  # 10.00 left: below the price

    view = account_summary.account_summary(actors.provider(provider.id))
    assert view["status"] == "auto_deactivated"
    assert "Add funds" in view["status_text"]
    assert view["needs_funds"] is True
    assert view["paused_subscriptions"] == 1 and view["active_subscriptions"] == 0


# --------------------------------------------------------------------------- subscriptions


def test_subscriptions_show_level_price_max_providers_and_status(db):
    market = make_market(levels=[("Exclusive", "40.00", 1), ("Shared", "10.00", 3)], providers=1)
    provider = market.providers[0]
    other = make_provider(balance="10.00")
    subscribe(other.id, market.level("Shared").id)
    catalog.update_subscription(subscription_id=market.subscriptions[0].id, actor=ADMIN, active=False)

    rows = subscriptions.provider_subscriptions(actors.provider(provider.id))
    assert {r["id"] for r in rows} == {str(s.id) for s in market.subscriptions}
    by_level = {r["level"]: r for r in rows}
    assert by_level["Exclusive"]["price_per_lead"] == "40.00" and by_level["Exclusive"]["max_providers"] == 1
    assert by_level["Exclusive"]["status"] == "paused by you" and by_level["Exclusive"]["can_resume"]
    assert by_level["Shared"]["status"] == "active" and by_level["Shared"]["max_providers"] == 3

    options = subscriptions.subscription_options(actors.provider(provider.id))
    (niche,) = [n for n in options if n["slug"] == market.slug]
    assert [
        (lvl["name"], lvl["price_per_lead"], lvl["max_providers"], lvl["subscribed"]) for lvl in niche["levels"]
    ] == [("Exclusive", "40.00", 1, True), ("Shared", "10.00", 3, True)]
    assert [(f["name"], f["rule"]) for f in niche["fields"]] == [
        ("zip", "list"),
        ("roof_type", "list"),
        ("area_sqft", "range"),
    ]
    assert niche["fields"][1]["options"] == ["asphalt", "metal", "tile", "flat"]


# --------------------------------------------------------------------------- the 30-day preview

PAYLOADS = [
    {"zip": "30301", "roof_type": "metal", "area_sqft": "1200"},
    {"zip": "30301", "roof_type": "tile", "area_sqft": "950.5"},
    {"zip": "30302", "roof_type": "metal", "area_sqft": "10"},
    {"zip": "30302", "roof_type": "flat"},
    {"zip": "10001", "roof_type": "asphalt", "area_sqft": "0"},
    {"zip": "10001", "roof_type": "metal", "area_sqft": "2500.25"},
    {"zip": "10001-1234", "roof_type": "tile", "area_sqft": "-3"},
    {"zip": "30301", "roof_type": "flat", "area_sqft": "7"},
]


@pytest.fixture(scope="module")
def preview_world(module_db):
    """One niche whose counted leads are PAYLOADS (approved, distributed or bad), and
    leads the preview must not count: unconfirmed, unapproved, rejected, older than
    30 days, another niche."""
    market = make_market(levels=[("Shared", "5.00", 2)], providers=1, balance="500.00")
    counted = []
    for index, payload in enumerate(PAYLOADS):
        lead_id = approved_lead(market.slug, payload)
        if index % 2:
            distribution.distribute_lead(lead_id=lead_id)
        counted.append(lead_id)
    confirmed_lead(market.slug, PAYLOADS[0])  # pending approval: not counted
    rejected = confirmed_lead(market.slug, PAYLOADS[0])
    leads.reject_lead(lead_id=rejected, actor=ADMIN, reason="spam")
    old = approved_lead(market.slug, PAYLOADS[0])
    with unit_of_work() as uow:
        uow.session.execute(
            text("UPDATE leads SET created_at = now() - interval '31 days' WHERE id = :id"), {"id": old}
        )
    other = make_niche()
    approved_lead(other, PAYLOADS[0])
    with unit_of_work() as uow:
        stored = [uow.session.get(Lead, lead_id).payload for lead_id in counted]
    return {"niche_id": market.niche.id, "provider_id": market.providers[0].id, "payloads": stored, "db": module_db}


@pytest.fixture
def on_preview(preview_world):
    from tests.conftest import point_settings_at

    point_settings_at(database_url=preview_world["db"])
    return preview_world


def _count(world, filters) -> int:
    return subscriptions.filter_preview(
        actors.provider(world["provider_id"]), niche_id=world["niche_id"], filters=filters
    )["matched"]


def test_preview_counts_only_the_niches_approved_leads_of_the_last_30_days(on_preview):
    result = subscriptions.filter_preview(
        actors.provider(on_preview["provider_id"]), niche_id=on_preview["niche_id"], filters={}
    )
    assert (result["matched"], result["total"], result["days"]) == (len(PAYLOADS), len(PAYLOADS), 30)
    assert _count(on_preview, {"zip": ["30301"]}) == 3
    assert _count(on_preview, {"zip": ["30301"], "roof_type": ["metal", "flat"]}) == 2
    assert _count(on_preview, {"area_sqft": {"min": 10, "max": "1200"}}) == 3
    assert _count(on_preview, {"area_sqft": {"min": "950.5"}}) == 3
    assert _count(on_preview, {"area_sqft": {"max": 0}}) == 2


FIELD_VALUES = [*sorted({str(v) for p in PAYLOADS for v in p.values()}), "30303", "metal ", "10.0", "1200.0"]
bounds = st.one_of(
    st.sampled_from(["10", "950.5", "0", "-3", "2500.25", "7.0", 10, 0, 1200, -4, 2500.5]),
    st.sampled_from(TRICKY_NUMBERS),
    st.sampled_from(TRICKY_TEXT),
    st.integers(-5000, 5000),
)
rules = st.one_of(
    st.lists(
        st.one_of(st.sampled_from(FIELD_VALUES), st.sampled_from(TRICKY_TEXT), st.integers(-20, 2000)),
        min_size=1,
        max_size=4,
    ),
    st.fixed_dictionaries({}, optional={"min": bounds, "max": bounds}),
)
raw_filters = st.dictionaries(st.sampled_from(["zip", "roof_type", "area_sqft", "colour"]), rules, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=raw_filters)
def test_preview_count_agrees_with_the_engines_filter_semantics(on_preview, filters):
    try:
        validate_for_form(filters, ROOFING_FIELDS)  # what a subscription may store
    except InvalidFilters:
        # A refused filter is refused by the preview too: that is this example's check
        # (not a discarded one: most random filters are refused since the field rule).
        with pytest.raises(InvalidFilters):
            _count(on_preview, filters)
        return
    expected = sum(1 for payload in on_preview["payloads"] if matches(filters, payload))
    assert _count(on_preview, filters) == expected


def test_preview_of_an_unknown_niche_is_not_found(on_preview):
    with pytest.raises(NotFound):
        subscriptions.filter_preview(actors.provider(on_preview["provider_id"]), niche_id=uuid.uuid4(), filters={})


# --------------------------------------------------------------------------- leads


def test_a_provider_sees_only_its_own_leads_with_contact_price_level_and_sharing(db):
    market = make_market(levels=[("Shared", "10.00", 2)], providers=2)
    alice, bob = market.providers
    shared = distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    loner = make_provider(balance="50.00")
    niche2 = make_market(levels=[("Solo", "7.00", 1)], providers=0)
    subscribe(loner.id, niche2.levels[0].id)
    private = distributed(niche2.slug, {"zip": "30301", "roof_type": "tile"})

    rows = lead_inbox.lead_inbox(actors.provider(alice.id))
    assert [r["lead_id"] for r in rows] == [str(shared)]
    (row,) = rows
    email, phone = lead_contact(shared)
    assert (row["email"], row["phone"], row["charged_amount"], row["level"], row["providers_on_lead"]) == (
        email,
        phone,
        "10.00",
        "Shared",
        2,
    )
    assert row["payload"] == {"zip": "30301", "roof_type": "metal"}

    detail = lead_detail.provider_lead(actors.provider(bob.id), lead_id=shared)
    assert detail["email"] == email and detail["providers_on_lead"] == 2 and detail["level"] == "Shared"
    with pytest.raises(NotFound):
        lead_detail.provider_lead(actors.provider(alice.id), lead_id=private)
    with pytest.raises(NotFound):
        lead_detail.provider_lead(actors.provider(alice.id), lead_id=uuid.uuid4())


def test_leads_are_paged_newest_first_without_gaps_or_repeats(db):
    market = make_market(levels=[("Solo", "1.00", 1)], providers=1, balance="100.00")
    provider = market.providers[0]
    made = [distributed(market.slug, {"zip": "30301", "roof_type": "metal"}) for _ in range(5)]
    seen, after = [], None
    while True:
        rows = lead_inbox.lead_inbox(actors.provider(provider.id), limit=2, after=after)
        seen += [r["lead_id"] for r in rows[:2]]
        if len(rows) <= 2:
            break
        after = [rows[1]["assigned_at"], rows[1]["id"]]
    assert seen == [str(x) for x in reversed(made)]
    with pytest.raises(InvalidInput):
        lead_inbox.lead_inbox(actors.provider(provider.id), after=["not a time", "x"])


def test_leads_csv_has_a_row_per_assigned_lead(db, monkeypatch):
    monkeypatch.setattr(lead_inbox, "CSV_BATCH", 2)  # several keyset batches
    market = make_market(levels=[("Solo", "1.00", 1)], providers=1, balance="100.00")
    provider = market.providers[0]
    made = [distributed(market.slug, {"zip": f"3030{i}", "roof_type": "metal"}) for i in range(5)]
    rows = list(csv.DictReader(io.StringIO("".join(lead_inbox.lead_inbox_csv(actors.provider(provider.id))))))
    assert [r["lead_id"] for r in rows] == [str(x) for x in reversed(made)]
    assert rows[0]["email"] == lead_contact(made[-1])[0] and rows[0][money_column("price")] == "1.00"
    # One column per form field, headed by its label (no JSON column).
    assert "payload" not in rows[0]
    assert (rows[0]["ZIP code"], rows[0]["Roof type"], rows[0]["Roof area"]) == ("30304", "metal", "")


# --------------------------------------------------------------------------- missed leads


def test_missed_leads_give_each_subscriptions_reason_and_never_contact_details(db):
    market = make_market(levels=[("Solo", "10.00", 1)], providers=0)
    level = market.levels[0]
    picky = make_provider(balance="100.00")
    picky_sub = subscribe(picky.id, level.id, {"zip": ["30301"]})
    rival = make_provider(balance="100.00")
    subscribe(rival.id, level.id)
    missed_zip = distributed(market.slug, {"zip": "30302", "roof_type": "metal", "area_sqft": "1500"})
    lost_to_rival = distributed(market.slug, {"zip": "30301", "roof_type": "tile"})
    won = distributed(market.slug, {"zip": "30301", "roof_type": "flat"})
    other_niche = make_market(levels=[("Solo", "1.00", 1)], providers=1)
    elsewhere = distributed(other_niche.slug, {"zip": "30301", "roof_type": "metal"})

    mine = [a for lead in (lost_to_rival, won) for a in assignments_of(lead) if a.provider_id == picky.id]
    assert [a.lead_id for a in mine] in ([lost_to_rival], [won])  # fairness: one each
    received = mine[0].lead_id
    not_received = won if received == lost_to_rival else lost_to_rival

    rows = missed_leads.missed_leads(actors.provider(picky.id))
    by_id = {r["lead_id"]: r for r in rows}
    assert set(by_id) == {str(missed_zip), str(not_received)}
    assert str(elsewhere) not in by_id and str(received) not in by_id
    assert by_id[str(missed_zip)]["fields"] == {"zip": "30302"}  # only what its filters use
    assert [(x["subscription_id"], x["reason"]) for x in by_id[str(missed_zip)]["reasons"]] == [
        (str(picky_sub.id), "filter_mismatch:zip")
    ]
    assert "zip" in by_id[str(missed_zip)]["reasons"][0]["text"]
    assert [x["reason"] for x in by_id[str(not_received)]["reasons"]] == ["level_full"]

    listed = missed_leads.missed_leads(actors.provider(picky.id), with_reasons=False)
    assert [r["lead_id"] for r in listed] == [r["lead_id"] for r in rows]
    assert all(r["reasons"] == [] for r in listed)
    later = missed_leads.missed_reasons(
        actors.provider(picky.id), lead_ids=[missed_zip, not_received, received, elsewhere]
    )
    assert later == {r["lead_id"]: r["reasons"] for r in rows}  # the received and the foreign lead left out
    with pytest.raises(InvalidInput):
        missed_leads.missed_reasons(actors.provider(picky.id), lead_ids=[uuid.uuid4() for _ in range(51)])

    dumped = json.dumps(rows)
    for lead_id in (missed_zip, not_received):
        email, phone = lead_contact(lead_id)
        assert email not in dumped and (phone is None or phone not in dumped)
    assert "metal" not in dumped and "1500" not in dumped and "email" not in dumped and "phone" not in dumped


def test_missed_leads_of_a_provider_without_filters_show_no_payload(db):
    market = make_market(levels=[("Solo", "10.00", 1)], providers=0)
    broke = make_provider(balance="5.00")
    subscribe(broke.id, market.levels[0].id)  # auto-paused: balance below the price
    rich = make_provider(balance="50.00")
    subscribe(rich.id, market.levels[0].id)
    lead_id = distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    (row,) = missed_leads.missed_leads(actors.provider(broke.id))
    assert row["lead_id"] == str(lead_id) and row["fields"] == {}
    assert [x["reason"] for x in row["reasons"]] == ["subscription_paused"]
    assert missed_leads.missed_leads(actors.provider(make_provider().id)) == []
    late = make_provider(balance="50.00")
    late_sub = subscribe(late.id, market.levels[0].id)
    assert missed_leads.missed_leads(actors.provider(late.id)) == []  # leads from before it subscribed
    catalog.cancel_subscription(subscription_id=late_sub.id, actor=ADMIN)
    distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    assert missed_leads.missed_leads(actors.provider(late.id)) == []  # no longer subscribed to the niche


def test_missed_leads_pages_give_every_missed_lead_once_in_order_across_ties(db):
    """Walking the (created_at, id) cursor page by page gives exactly the one long
    list: every missed lead once, newest first, with its reasons, even when many
    leads share a created_at (the cursor's tie-break is the id)."""
    market = make_market(levels=[("Solo", "1.00", 1)], providers=1, balance="100.00")
    picky = make_provider(balance="100.00")
    subscribe(picky.id, market.levels[0].id, {"zip": ["30301"]})
    made = [distributed(market.slug, {"zip": "30301" if i % 3 else "30302", "roof_type": "metal"}) for i in range(27)]
    confirmed_lead(market.slug)  # not approved: never a missed lead
    with unit_of_work() as uow:
        # Six distinct created_at values, four or five leads on each.
        uow.session.execute(
            text("UPDATE provider_subscriptions SET created_at = now() - interval '10 days' WHERE provider_id = :p"),
            {"p": picky.id},
        )
        uow.session.execute(
            text(
                "UPDATE leads SET created_at = date_trunc('second', now()) - interval '1 day'"
                "                              + (ordinal % 6) * interval '1 second'"
                "  FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(lead_id, ordinal)"
                " WHERE leads.id = u.lead_id"
            ),
            {"ids": made},
        )
        expected = [
            str(r[0])
            for r in uow.session.execute(
                text(
                    "SELECT id FROM leads l WHERE niche_id = :niche AND status IN ('approved', 'distributed', 'bad_lead')"
                    "   AND NOT EXISTS (SELECT 1 FROM lead_assignments a WHERE a.lead_id = l.id AND a.provider_id = :p)"
                    " ORDER BY created_at DESC, id DESC"
                ),
                {"niche": market.niche.id, "p": picky.id},
            )
        ]
        received = uow.session.execute(
            text("SELECT count(*) FROM lead_assignments WHERE provider_id = :p"), {"p": picky.id}
        ).scalar_one()
    assert received > 0 and len(expected) == len(made) - received  # some received: they are left out

    whole = missed_leads.missed_leads(actors.provider(picky.id), limit=1000)
    assert [r["lead_id"] for r in whole] == expected
    assert all(r["reasons"] for r in whole)
    size = 4
    pages, after = [], None
    while True:
        rows = missed_leads.missed_leads(actors.provider(picky.id), limit=size, after=after)
        pages.append(rows)
        if len(rows) <= size:
            break
        assert len(rows) == size + 1  # limit + 1: the extra row says there is a next page
        after = [rows[size - 1]["created_at"], rows[size - 1]["lead_id"]]
    assert len(pages) > 2
    for page, following in itertools.pairwise(pages):
        assert page[size]["lead_id"] == following[0]["lead_id"]  # the peeked row opens the next page
    walked = [row for page in pages for row in page[:size]]
    assert [r["lead_id"] for r in walked] == expected  # each once, in order
    assert walked == whole  # same rows, fields and reasons as one long page
    ties = {}
    for row in whole:
        ties[row["created_at"]] = ties.get(row["created_at"], 0) + 1
    assert max(ties.values()) > size  # a created_at shared across a page boundary


# --------------------------------------------------------------------------- ledger


def test_ledger_pages_newest_first_with_running_balance_and_no_memo(db):
    provider = make_provider(balance="20.00")
    memo = f"admin-only-{uuid.uuid4().hex}"
    ledger.adjust(provider_id=provider.id, type="credit", amount="5.00", actor=ADMIN, memo=memo)
    ledger.adjust(provider_id=provider.id, type="debit", amount="2.50", actor=ADMIN, memo=memo)
    first = ledger_entries.provider_ledger(actors.provider(provider.id), limit=2)
    assert len(first) == 3
    assert [(e["type"], e["signed_amount"], e["balance_after"]) for e in first[:2]] == [
        ("debit", "-2.50", "22.50"),
        ("credit", "+5.00", "25.00"),
    ]
    rest = ledger_entries.provider_ledger(actors.provider(provider.id), limit=2, before_seq=first[1]["seq"])
    assert [(e["type"], e["balance_after"]) for e in rest] == [("deposit", "20.00")]
    assert memo not in json.dumps(first + rest)
    assert ledger_entries.provider_ledger(actors.provider(make_provider().id)) == []
    csv_rows = list(
        csv.DictReader(io.StringIO("".join(ledger_entries.provider_ledger_csv(actors.provider(provider.id)))))
    )
    assert [(r["type"], r[money_column("amount")], r[money_column("balance_after")]) for r in csv_rows] == [
        ("debit", "-2.50", "22.50"),
        ("credit", "+5.00", "25.00"),
        ("deposit", "+20.00", "20.00"),
    ]
    with pytest.raises(InvalidInput):
        ledger_entries.provider_ledger(actors.provider(provider.id), before_seq="3")


# --------------------------------------------------------------------------- the API twins


def _provider_login(api: str, balance: str = "50.00"):
    email = unique_email("views")
    provider = accounts.create_provider_account(name="Views Co", email=email, password=PASSWORD, actor=admin())
    if balance:
        ledger.post(provider_id=provider.id, type="deposit", amount=balance, key=f"views:{provider.id}")
    token = auth.login(email=email, password=PASSWORD).token
    return provider, token


def test_csv_exports_accept_a_bearer_token_or_the_session_cookie_and_nothing_else(db, api_server):
    provider, token = _provider_login(api_server)
    market = make_market(levels=[("Solo", "5.00", 1)], providers=0)
    subscribe(provider.id, market.levels[0].id)
    lead_id = distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    url = f"{api_server}/api/v1/provider/leads.csv"

    by_bearer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    sealed = auth.seal_token(token)  # the back office's cookie holds the token sealed
    by_cookie = httpx.get(url, cookies={"hotlead_session": sealed})
    for resp in (by_bearer, by_cookie):
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        assert "attachment" in resp.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        assert [r["lead_id"] for r in rows] == [str(lead_id)]
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, cookies={"hotlead_session": "nonsense"}).status_code == 401
    assert httpx.get(url, cookies={"hotlead_session": token}).status_code == 401  # a raw token is no cookie
    ledger_rows = list(
        csv.DictReader(
            io.StringIO(httpx.get(f"{api_server}/api/v1/provider/ledger.csv", cookies={"hotlead_session": sealed}).text)
        )
    )
    assert [r["type"] for r in ledger_rows] == ["charge", "deposit"]


def test_preview_missed_and_detail_endpoints(db, api_server, monkeypatch):
    provider, token = _provider_login(api_server)
    headers = {"Authorization": f"Bearer {token}"}
    market = make_market(levels=[("Solo", "5.00", 1)], providers=1)
    subscribe(provider.id, market.levels[0].id, {"roof_type": ["tile"]})
    lead_id = distributed(market.slug, {"zip": "30301", "roof_type": "metal"})
    api = f"{api_server}/api/v1/provider"

    preview = httpx.post(
        f"{api}/filter-preview",
        headers=headers,
        json={"niche_id": str(market.niche.id), "filters": {"roof_type": ["metal"]}},
    )
    assert preview.status_code == 200 and preview.json()["matched"] == 1, preview.text
    bad = httpx.post(
        f"{api}/filter-preview",
        headers=headers,
        json={"niche_id": str(market.niche.id), "filters": {"area_sqft": {"min": 9, "max": 1}}},
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {
        "area_sqft": "min must not be greater than max"
    }
    assert httpx.post(f"{api}/filter-preview", headers=headers, json={"niche_id": "x"}).status_code == 400

    missed = httpx.get(f"{api}/missed-leads", headers=headers, params={"limit": 500})
    assert missed.status_code == 200
    (item,) = missed.json()["items"]
    assert item["lead_id"] == str(lead_id) and item["fields"] == {"roof_type": "metal"}
    assert item["reasons"][0]["reason"] == "filter_mismatch:roof_type"
    assert lead_contact(lead_id)[0] not in missed.text

    from hotlead_app.api import provider as provider_api

    second = distributed(market.slug, {"zip": "30302", "roof_type": "flat"})
    monkeypatch.setattr(provider_api, "MISSED_MAX_LIMIT", 1)  # the cap, without 51 distributions
    capped = httpx.get(f"{api}/missed-leads", headers=headers, params={"limit": 500}).json()
    assert [i["lead_id"] for i in capped["items"]] == [str(second)] and capped["next_cursor"]
    rest = httpx.get(f"{api}/missed-leads", headers=headers, params={"cursor": capped["next_cursor"]}).json()
    assert [i["lead_id"] for i in rest["items"]] == [str(lead_id)] and rest["next_cursor"] is None

    assert httpx.get(f"{api}/leads/{lead_id}", headers=headers).status_code == 404
    overview = httpx.get(f"{api}/overview", headers=headers).json()
    assert overview["balance"] == "50.00" and len(overview["spend_per_day"]) == 30


@pytest.mark.parametrize("cursor", ["WyJub3QgYSB0aW1lIiwieCJd", "WzFd"])  # ["not a time","x"], [1]
def test_the_leads_endpoint_answers_a_malformed_cursor_with_400(db, api_server, cursor):
    _, token = _provider_login(api_server)
    resp = httpx.get(
        f"{api_server}/api/v1/provider/leads", params={"cursor": cursor}, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["details"] == {"cursor": "invalid"}
