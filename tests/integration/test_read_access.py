"""Every read of ``services/reads`` checks its actor: an admin-only read refuses a
provider (and anyone else); a provider's read refuses anyone but a provider and never
returns another provider's rows.  The list of reads is taken from the package itself,
so a new read function must be classified here (and so checked) to pass."""

from __future__ import annotations

import csv
import importlib
import inspect
import io
import pkgutil
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hotlead_app.domain import actors
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import Forbidden, NotFound
from hotlead_app.services import catalog, distribution, reads
from hotlead_app.services.reads import (
    account_summary,
    lead_detail,
    lead_inbox,
    ledger_entries,
    missed_leads,
    subscriptions,
)
from tests.factories import ADMIN, approved_lead, assignments_of, make_market

ANY_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")

#: module.function -> the arguments besides the actor of a call that reaches its check.
ADMIN_ONLY: dict[str, dict[str, Any]] = {
    "approval_queue.approval_queue": {},
    "approval_queue.backlog": {},
    "approval_queue.backlog_by_wait": {},
    "audit_trail.audit_trail": {},
    "conversion.conversion_report": {},
    "lead_detail.admin_lead": {"lead_id": ANY_ID},
    "lead_detail.explanation": {"lead_id": ANY_ID},
    "lead_detail.lead_record": {"lead_id": ANY_ID},
    "lead_search.search_leads": {},
    "ledger_entries.all_entries": {},
    "ledger_entries.all_entries_csv": {},
    "niches.niche_detail": {"niche_id": ANY_ID},
    "niches.niche_health": {},
    "overview.leads_per_day": {},
    "overview.overview": {},
    "overview.providers_by_status": {},
    "overview.revenue_per_day": {},
    "providers.list_providers": {},
    "providers.provider_detail": {"provider_id": ANY_ID},
    "providers.resolve_provider": {"text": "someone@example.com"},
    "return_requests.admin_returns": {},
    "statements.admin_statement": {"provider_id": ANY_ID, "month": "2026-11"},
    "statements.admin_statements": {"provider_id": ANY_ID},
}
PROVIDER_ONLY: dict[str, dict[str, Any]] = {
    "account_summary.account_summary": {},
    "lead_detail.provider_lead": {"lead_id": ANY_ID},
    "lead_inbox.lead_inbox": {},
    "lead_inbox.lead_inbox_csv": {},
    "ledger_entries.provider_ledger": {},
    "ledger_entries.provider_ledger_csv": {},
    "missed_leads.missed_leads": {},
    "missed_leads.missed_reasons": {"lead_ids": []},
    "return_requests.provider_returns": {},
    "statements.provider_statement": {"month": "2026-11"},
    "statements.provider_statements": {},
    "subscriptions.filter_preview": {"niche_id": ANY_ID, "filters": {}},
    "subscriptions.provider_subscriptions": {},
    "subscriptions.subscription_options": {},
}
#: Reads anyone may call (open niches only for a non-admin, see test below).
OPEN = {"niches.list_niches"}
#: The catalog's reads (``services/catalog.py``): an admin reads any row; a provider only
#: its own (or, for the levels, the ones it may subscribe to); anyone else is refused.
ADMIN_OR_OWN: dict[str, dict[str, Any]] = {
    "catalog.get_provider": {"provider_id": ANY_ID},
    "catalog.list_levels": {},
    "catalog.list_subscriptions": {},
}
#: Not reads: formatting helpers that read nothing.
HELPERS = {
    "lead_detail.reason_text",
    "ledger_entries.date_bounds",
    "lead_inbox.field_columns",
    "missed_leads.reason_text",
    "subscriptions.describe_filters",
    "niches.unsold_warning",
}


def _public_functions() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.iter_modules(reads.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"hotlead_app.services.reads.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = fn
    return found


def _catalog_reads() -> dict[str, Callable[..., Any]]:
    """The catalog's public ``get_*`` / ``list_*`` functions (its reads)."""
    return {
        f"catalog.{name}": fn
        for name, fn in inspect.getmembers(catalog, inspect.isfunction)
        if name.startswith(("get_", "list_")) and fn.__module__ == catalog.__name__
    }


def _fn(qualified: str) -> Callable[..., Any]:
    return {**_public_functions(), **_catalog_reads()}[qualified]


def test_every_read_is_classified_and_takes_the_actor_first():
    functions = _public_functions()
    assert set(functions) == set(ADMIN_ONLY) | set(PROVIDER_ONLY) | OPEN | HELPERS
    assert set(_catalog_reads()) == set(ADMIN_OR_OWN)
    functions.update(_catalog_reads())
    for name in set(ADMIN_ONLY) | set(PROVIDER_ONLY) | OPEN | set(ADMIN_OR_OWN):
        first = next(iter(inspect.signature(functions[name]).parameters))
        assert first == "actor", name


@pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
@pytest.mark.parametrize(
    "who", [actors.provider(ANY_ID), SYSTEM, Actor(role="buyer")], ids=["provider", "system", "buyer"]
)
def test_an_admin_only_read_refuses_anyone_but_an_admin(db, name, who):
    with pytest.raises(Forbidden):
        _fn(name)(who, **ADMIN_ONLY[name])


@pytest.mark.parametrize("name", sorted(PROVIDER_ONLY))
@pytest.mark.parametrize("who", [ADMIN, SYSTEM, Actor(role="provider")], ids=["admin", "system", "no-provider"])
def test_a_providers_read_refuses_anyone_but_a_provider(db, name, who):
    with pytest.raises(Forbidden):
        _fn(name)(who, **PROVIDER_ONLY[name])


@pytest.mark.parametrize("name", sorted(ADMIN_OR_OWN))
@pytest.mark.parametrize(
    "who", [SYSTEM, Actor(role="buyer"), Actor(role="provider")], ids=["system", "buyer", "no-provider"]
)
def test_a_catalog_read_refuses_anyone_but_an_admin_or_a_provider(db, name, who):
    with pytest.raises(Forbidden):
        _fn(name)(who, **ADMIN_OR_OWN[name])


def test_a_provider_reads_only_its_own_catalog_rows_and_the_levels_it_may_buy(db):
    market = make_market(levels=[("Solo", "5.00", 1), ("Pair", "3.00", 2)], providers=2, balance="20.00")
    closed = make_market(levels=[("Solo", "4.00", 1)], providers=0)
    catalog.update_niche(niche_id=closed.niche.id, actor=ADMIN, values={"active": False})
    solo, pair = sorted(catalog.list_levels(ADMIN, niche_id=market.niche.id), key=lambda x: x.priority_order)
    catalog.update_level(level_id=pair.id, actor=ADMIN, values={"active": False})
    alice, bob = market.providers
    as_alice = actors.provider(alice.id)

    # The provider itself, never another one (which does not exist for it).
    assert catalog.get_provider(as_alice, provider_id=alice.id).id == alice.id
    with pytest.raises(NotFound):
        catalog.get_provider(as_alice, provider_id=bob.id)
    assert catalog.get_provider(ADMIN, provider_id=bob.id).id == bob.id

    # Its own subscriptions, whatever it asks for; another provider's are refused.
    own = {s.id for s in market.subscriptions if s.provider_id == alice.id}
    assert own and {s.id for s in catalog.list_subscriptions(as_alice)} == own
    assert {s.id for s in catalog.list_subscriptions(as_alice, niche_id=market.niche.id)} == own
    with pytest.raises(Forbidden):
        catalog.list_subscriptions(as_alice, provider_id=bob.id)
    everyone = {s.id for s in catalog.list_subscriptions(ADMIN, niche_id=market.niche.id)}
    assert everyone == {s.id for s in market.subscriptions} and everyone > own

    # The levels it may subscribe to: active ones of open niches; an admin sees all.
    seen = {lvl.id for lvl in catalog.list_levels(as_alice)}
    assert solo.id in seen and pair.id not in seen
    assert not seen & {lvl.id for lvl in catalog.list_levels(ADMIN, niche_id=closed.niche.id)}
    assert {lvl.id for lvl in catalog.list_levels(ADMIN, niche_id=market.niche.id)} == {solo.id, pair.id}


def test_a_non_admin_sees_only_open_niches(db):
    from hotlead_app.services.reads import niches

    market = make_market(levels=[("Solo", "1.00", 1)], providers=0)
    catalog.update_niche(niche_id=market.niche.id, actor=ADMIN, values={"active": False})
    assert market.slug in {n["slug"] for n in niches.list_niches(ADMIN)}
    for who in (actors.provider(ANY_ID), SYSTEM):
        assert market.slug not in {n["slug"] for n in niches.list_niches(who, active_only=False)}


def test_a_providers_reads_never_return_another_providers_rows(db):
    market = make_market(levels=[("Solo", "5.00", 1)], providers=2, balance="50.00")
    alice, bob = market.providers
    received: dict[uuid.UUID, set[str]] = {alice.id: set(), bob.id: set()}
    for i in range(4):  # one place a lead: the fair rotation alternates between the two
        lead_id = approved_lead(market.slug, {"zip": f"3030{i}", "roof_type": "metal"})
        distribution.distribute_lead(lead_id=lead_id)
        (assignment,) = assignments_of(lead_id)
        received[assignment.provider_id].add(str(lead_id))
    assert all(len(leads) == 2 for leads in received.values())
    subs = {p.id: {str(s.id) for s in market.subscriptions if s.provider_id == p.id} for p in (alice, bob)}

    for me, other in ((alice, bob), (bob, alice)):
        actor = actors.provider(me.id)
        inbox = lead_inbox.lead_inbox(actor)
        assert {r["lead_id"] for r in inbox} == received[me.id]
        assert {r["provider_id"] for r in inbox} == {str(me.id)}
        assert {r["subscription_id"] for r in inbox} <= subs[me.id]
        exported = list(csv.DictReader(io.StringIO("".join(lead_inbox.lead_inbox_csv(actor)))))
        assert {r["lead_id"] for r in exported} == received[me.id]

        for lead_id in received[other.id]:
            with pytest.raises(NotFound):
                lead_detail.provider_lead(actor, lead_id=uuid.UUID(lead_id))
        for lead_id in received[me.id]:
            assert lead_detail.provider_lead(actor, lead_id=uuid.UUID(lead_id))["lead_id"] == lead_id

        entries = ledger_entries.provider_ledger(actor)
        own_entries = {e["id"] for e in ledger_entries.all_entries(ADMIN, provider_id=me.id, limit=500)}
        assert entries and {e["id"] for e in entries} <= own_entries
        exported_entries = csv.DictReader(io.StringIO("".join(ledger_entries.provider_ledger_csv(actor))))
        assert {r["id"] for r in exported_entries} <= own_entries

        assert {s["id"] for s in subscriptions.provider_subscriptions(actor)} == subs[me.id]
        assert account_summary.account_summary(actor)["id"] == str(me.id)

        missed = missed_leads.missed_leads(actor)
        assert {m["lead_id"] for m in missed} == received[other.id]  # a lead, never the other's assignment
        for m in missed:
            assert {r["subscription_id"] for r in m["reasons"]} <= subs[me.id]
            assert "email" not in m and "phone" not in m
        reasons = missed_leads.missed_reasons(actor, lead_ids=[uuid.UUID(x) for x in received[me.id]])
        assert reasons == {}  # its own leads are not missed
