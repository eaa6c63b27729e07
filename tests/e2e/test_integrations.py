"""The provider's Integrations page in Chromium against the prod-mode app: an endpoint
is added (its secret shown once), a lead is approved, a real Celery worker distributes
it and POSTs it to a real local receiver, and the delivery log shows it delivered."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import Lead, LeadStatus
from hotlead_app.services import accounts, catalog, intake, leads, ledger, webhooks
from tests.conftest import wait_for
from tests.e2e.conftest import PASSWORD, WAIT, api_login, new_admin, sign_in_provider
from tests.factories import ROOFING_FIELDS, confirmation_token, unique_email
from tests.webhook_receiver import Receiver


def _provider_in_a_market() -> tuple[str, str]:
    email = unique_email("hooks")
    provider = accounts.create_provider_account(name="Hook Roofing", email=email, password=PASSWORD, actor=admin())
    niche = catalog.create_niche(
        slug=f"hooks-{uuid.uuid4().hex[:8]}", name=f"Hooks {uuid.uuid4().hex[:4]}", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Solo", price_per_lead="9.00", max_providers=1, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="50.00", key=f"e2e:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    return email, niche.slug


def _status(lead_id: uuid.UUID) -> LeadStatus:
    with unit_of_work() as uow:
        lead = uow.session.get(Lead, lead_id)
        assert lead is not None
        return lead.status


def test_a_provider_adds_an_endpoint_and_sees_the_lead_delivered_in_the_log(
    page: Page, app_server, shared_db, celery_worker
):
    receiver = Receiver()
    try:
        email, slug = _provider_in_a_market()
        sign_in_provider(page, app_server, email, lands_on=r"/provider$")
        page.goto(f"{app_server}/provider/integrations")
        expect(page.locator("#endpoints-empty")).to_be_visible(timeout=WAIT)

        page.locator("#endpoint-url").fill("ftp://crm.example.com/in")
        page.locator("#add-endpoint").click()
        expect(page.locator("#url-error")).to_be_visible(timeout=WAIT)

        page.locator("#endpoint-url").fill(receiver.url())
        page.locator("#endpoint-description").fill("Our CRM")
        page.locator("#add-endpoint").click()
        expect(page.locator("#new-secret")).to_have_text(re.compile(r"^whsec_"), timeout=WAIT)
        secret = page.locator("#new-secret").inner_text().strip()
        row = page.locator(".endpoint-row")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(receiver.url())
        expect(row).to_contain_text("active")
        assert secret not in row.inner_text()

        lead = intake.submit_lead(
            niche_slug=slug, email=unique_email("buyer"), payload={"zip": "30301", "roof_type": "tile"}
        )
        leads.confirm_lead(token=confirmation_token(lead.id))
        headers = api_login(app_server, new_admin("hooks-admin"))
        approved = httpx.post(f"{app_server}/api/v1/admin/leads/{lead.id}/approve", json={}, headers=headers)
        assert approved.status_code == 200, approved.text
        wait_for(lambda: _status(lead.id) == LeadStatus.DISTRIBUTED, timeout=60, message="the distribution")
        (got,) = wait_for(lambda: receiver.received, timeout=60, message="the delivery at the receiver")
        assert webhooks.verify(secret, got.headers["hotlead-signature"], got.body)

        row.locator(".show-log").click()
        delivery = page.locator(".delivery-row")
        expect(delivery).to_have_count(1, timeout=WAIT)
        for _ in range(20):  # the attempt is recorded just after the receiver answered
            if "delivered" in delivery.locator(".delivery-status").inner_text():
                break
            page.locator("#refresh-log").click()
            page.wait_for_timeout(500)
        expect(delivery.locator(".delivery-status")).to_have_text("delivered", timeout=WAIT)
        expect(delivery).to_contain_text("lead.assigned")
        expect(delivery.locator(".delivery-attempts")).to_contain_text("HTTP 200")

        delivery.locator(".redeliver").click()
        wait_for(lambda: len(receiver.received) == 2, timeout=60, message="the redelivery")
        assert receiver.ids() == [got.delivery_id] * 2

        row.locator(".send-test").click()
        expect(page.locator(".delivery-row")).to_have_count(2, timeout=WAIT)
        expect(page.locator(".delivery-row").first).to_contain_text("ping")

        row.locator(".turn-off").click()
        expect(row).to_contain_text("off", timeout=WAIT)
        expect(row.locator(".turn-on")).to_be_visible()
    finally:
        receiver.stop()
