"""An admin reviews payment reconciliation issues and resolves one, in Chromium."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.models import UserRole
from hotlead_app.services import accounts
from hotlead_app.services.payments import issues
from tests.e2e.conftest import PASSWORD, sign_in
from tests.factories import unique_email
from tests.integration.payments_helpers import one


def test_an_admin_pages_through_open_issues_and_resolves_one(page: Page, app_server, shared_db):
    email = unique_email("recon-admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
        for n in range(21):
            issues.record_issue(
                uow,
                kind="missing_deposit",
                processor="stripe",
                reference=f"cs_e2e_{uuid.uuid4().hex}",
                actual=Decimal("15.00"),
                details=f"e2e issue {n}",
            )
    sign_in(page, app_server, email, lands_on=r"/admin")
    page.goto(f"{app_server}/admin/reconciliation")
    expect(page).to_have_title(re.compile("Payments reconciliation"))
    rows = page.locator(".issue-row")
    expect(rows).to_have_count(20, timeout=30_000)
    page.locator(".page-next").click()
    expect(rows.first).to_be_visible()
    assert rows.count() >= 1
    page.locator(".page-prev").click()
    expect(rows).to_have_count(20, timeout=30_000)

    first = rows.first
    reference = first.locator("code").inner_text()
    first.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("alertdialog")).to_contain_text(reference)
    page.locator("#resolve-note").fill("checked at Stripe: a test payment")
    page.locator("#confirm-resolve").click()
    expect(page.get_by_text(f"Issue {reference} marked resolved.")).to_be_visible(timeout=30_000)
    expect(page.locator(f".issue-row:has-text('{reference}')")).to_have_count(0)
    assert one(
        "SELECT status, resolution_note FROM reconciliation_issues WHERE processor_reference = :r", r=reference
    ) == ("resolved", "checked at Stripe: a test payment")


def test_the_reconciliation_page_needs_an_admin(page: Page, app_server, shared_db):
    page.goto(f"{app_server}/admin/reconciliation")
    expect(page).to_have_url(re.compile(r"/signin"), timeout=30_000)
