"""The admin console's catalog pages in Chromium: niches and their levels, providers
(create with a login, credit, deactivate), the global ledger and the audit log."""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect
from sqlmodel import select

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import CompetitionLevel, LedgerEntry, Niche, ServiceProvider
from hotlead_app.services import accounts, ledger
from tests.e2e.conftest import PASSWORD, WAIT, sign_in_admin, sign_in_provider
from tests.factories import unique_email

SHOTS = os.environ.get("HOTLEAD_SHOTS", "")


def _error_next_to(page: Page, input_id: str) -> Locator:
    """The error message in the nearest box around the input that holds one."""
    return (
        page.locator(f"[id='{input_id}']")
        .locator("xpath=ancestor::div[.//*[contains(@class,'field-error')]][1]")
        .locator(".field-error")
    )


def _shoot(page: Page, name: str) -> None:
    """With ``HOTLEAD_SHOTS=<dir>``: the page at 1366 and 375 px."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _fits_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 900})


def test_admin_builds_a_niche_form_and_a_level_and_the_public_form_shows_it(page: Page, app_server, shared_db):
    sign_in_admin(page, app_server, prefix="catalog-admin")
    slug = f"fences-{uuid.uuid4().hex[:6]}"
    page.goto(f"{app_server}/admin/niches")
    expect(page.locator("#new-niche")).to_be_visible(timeout=WAIT)
    page.locator("#new-niche").click()
    # The slug follows the name as it is typed, until the admin types one of their own.
    page.locator("#niche-name").fill("Fences & Gates — North")
    expect(page.locator("#niche-slug")).to_have_value("fences-gates-north", timeout=WAIT)
    expect(page.locator("#niche-slug-hint")).to_be_visible()
    _shoot(page, "admin-niche-editor")
    page.locator("#niche-slug").fill(slug)
    page.locator("#niche-name").fill("Fences")
    expect(page.locator("#niche-slug")).to_have_value(slug)
    page.locator("#niche-name").fill("")
    expect(page.locator("#niche-slug")).to_have_value(slug)
    # The editor starts with a ZIP field; add a select and forget its options and the name first.
    page.locator("#add-field").click()
    page.locator("#field-1-name").fill("material")
    page.locator("#field-1-label").fill("Fence material")
    page.locator("#field-1-type").select_option("select")
    page.locator("#field-1-required").click()
    expect(page.locator("#field-1-options")).to_be_visible()
    page.locator("#save-niche").click()
    expect(_error_next_to(page, "field-1-options")).to_contain_text("non-empty list", timeout=WAIT)
    expect(_error_next_to(page, "niche-name")).to_contain_text("required")
    # Nothing was written and what was typed is still there.
    expect(page.locator("#niche-slug")).to_have_value(slug)
    expect(page.locator("#field-1-label")).to_have_value("Fence material")
    with unit_of_work() as uow:
        assert uow.session.exec(select(Niche).where(Niche.slug == slug)).first() is None

    page.locator("#niche-name").fill("Fences")
    page.locator("#field-1-options").fill("wood, vinyl, chain link")
    # A third field, moved above the select.
    page.locator("#add-field").click()
    page.locator("#field-2-name").fill("length_ft")
    page.locator("#field-2-type").select_option("number")
    page.locator(".field-row").nth(2).get_by_role("button", name="Move up").click()
    expect(page.locator("#field-1-name")).to_have_value("length_ft")
    page.locator("#save-niche").click()
    row = page.locator(f"[id='niche-{slug}']")
    expect(row).to_contain_text("Fences", timeout=WAIT)
    expect(page.locator("#niche-editor")).to_have_count(0)
    # Open without a level: counted, and warned about in the words the page defines.
    expect(row.locator(".niche-levels")).to_have_text("No level")
    expect(row.locator(".niche-warning")).to_contain_text("no active level")
    expect(page.locator("#niches-warning-rule")).to_contain_text("no active competition level")
    with unit_of_work() as uow:
        stored = uow.session.exec(select(Niche).where(Niche.slug == slug)).one()
    assert [f["name"] for f in stored.fields] == ["zip", "length_ft", "material"]

    # Edit it: the length field goes away.
    row.get_by_role("button", name="Edit").click()
    expect(page.locator("#field-1-name")).to_have_value("length_ft", timeout=WAIT)
    page.locator(".field-row").nth(1).get_by_role("button", name="Remove field").click()
    expect(page.locator("#field-1-name")).to_have_value("material")
    page.locator("#save-niche").click()
    expect(page.locator("#niche-editor")).to_have_count(0, timeout=WAIT)
    expect(row).to_contain_text("2")

    row.get_by_role("button", name="Levels").click()
    page.locator("#new-level").click()
    page.locator("#level-name").fill("Exclusive")
    page.locator("#level-price").fill("twelve")
    page.locator("#level-max").fill("1")
    page.locator("#save-level").click()
    expect(_error_next_to(page, "level-price")).to_contain_text("like $45", timeout=WAIT)
    expect(page.locator("#level-name")).to_have_value("Exclusive")
    with unit_of_work() as uow:
        niche = uow.session.exec(select(Niche).where(Niche.slug == slug)).one()
        assert uow.session.exec(select(CompetitionLevel).where(CompetitionLevel.niche_id == niche.id)).all() == []
    page.locator("#level-price").fill("$45")
    page.locator("#save-level").click()
    expect(page.locator("#levels")).to_contain_text(fmt.money(Decimal("45")), timeout=WAIT)
    # One level now, and still a warning: nobody subscribes to it yet.
    expect(row.locator(".niche-levels")).to_have_text("1 level", timeout=WAIT)
    expect(row.locator(".niche-warning")).to_contain_text("no active provider")
    with unit_of_work() as uow:
        niche = uow.session.exec(select(Niche).where(Niche.slug == slug)).one()
        (level,) = uow.session.exec(select(CompetitionLevel).where(CompetitionLevel.niche_id == niche.id)).all()
    assert [(f["name"], f["type"], f["required"]) for f in niche.fields] == [
        ("zip", "zip", True),
        ("material", "select", True),
    ]
    assert niche.fields[1]["options"] == ["wood", "vinyl", "chain link"]
    assert (level.name, level.price_per_lead, level.max_providers) == ("Exclusive", Decimal("45.00"), 1)
    # A price with thousands separators is read the same way.
    # (by keyboard: the "Saved level" toast may still cover the row)
    page.locator(f"[id='level-{level.id}']").get_by_role("button", name="Edit").focus()
    page.keyboard.press("Enter")
    page.locator("#level-price").fill("$1,200.50")
    page.locator("#save-level").click()
    expect(page.locator("#levels")).to_contain_text(fmt.money(Decimal("1200.50")), timeout=WAIT)
    with unit_of_work() as uow:
        stored_level = uow.session.get(CompetitionLevel, level.id)
        assert stored_level is not None and stored_level.price_per_lead == Decimal("1200.50")
    _shoot(page, "admin-niches")
    _fits_a_phone(page)
    # At 375 px every action of a niche is on screen, not scrolled away.
    page.set_viewport_size({"width": 375, "height": 800})
    box = row.get_by_role("button", name="Levels").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    # And so is each competition level's Edit (it was a table's last column, off-screen).
    level_edit = page.locator(f"[id='level-{level.id}']").get_by_role("button", name="Edit level Exclusive")
    box = level_edit.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    expect(page.locator(f"[id='level-{level.id}'] .level-price")).to_have_text(fmt.money(Decimal("1200.50")))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{app_server}/n/{slug}")
    expect(page.get_by_role("heading", name=re.compile("Fences"))).to_be_visible(timeout=WAIT)
    expect(page.locator("[id='payload.zip']")).to_be_visible()
    expect(page.get_by_text("Fence material")).to_be_visible()
    options = page.locator("[id='payload.material'] option").all_text_contents()
    assert options[1:] == ["wood", "vinyl", "chain link"]


def test_admin_creates_a_provider_credits_it_and_deactivates_it(page: Page, browser: Browser, app_server, shared_db):
    sign_in_admin(page, app_server, prefix="catalog-admin")
    name = f"Acme Fencing {uuid.uuid4().hex[:4]}"
    login = unique_email("acme")
    memo = f"welcome credit {uuid.uuid4().hex[:6]}"

    page.goto(f"{app_server}/admin/providers")
    expect(page.locator("#new-provider")).to_be_visible(timeout=WAIT)
    page.locator("#new-provider").click()
    page.locator("#provider-name").fill(name)
    page.locator("#provider-email").fill(login)
    page.locator("#provider-password").fill("short")
    page.locator("#create-provider").click()
    expect(_error_next_to(page, "provider-password")).to_contain_text("between 8 and 72", timeout=WAIT)
    expect(page.locator("#provider-name")).to_have_value(name)
    expect(page.locator("#provider-email")).to_have_value(login)
    page.locator("#provider-password").fill(PASSWORD)
    page.locator("#create-provider").click()
    expect(page).to_have_url(re.compile(r"/admin/providers/[0-9a-f-]{36}"), timeout=WAIT)
    provider_id = uuid.UUID(page.url.rstrip("/").rsplit("/", 1)[-1])
    expect(page.locator("#provider-balance")).to_have_text(fmt.money("0.00"), timeout=WAIT)

    # A credit is reviewed, names amount and provider, and posts once even on a double click.
    page.locator("#adj-amount").fill("100.00")
    page.locator("#adj-memo").fill(memo)
    page.locator("#review-adjustment").click()
    expect(page.locator("#adjustment-summary")).to_have_text(f"Credit {fmt.money(100)} to {name}?", timeout=WAIT)
    page.locator("#confirm-adjustment").dblclick()
    expect(page.locator("#provider-balance")).to_have_text(fmt.money("100.00"), timeout=WAIT)
    # The second click reached the server with the same key and was told so.
    expect(page.get_by_text("This adjustment was already posted.")).to_be_visible(timeout=WAIT)
    expect(page.locator("#adjustment-form")).to_be_visible()
    expect(page.get_by_role("cell", name=memo)).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1000)  # let a second click's event, if any, land
    with unit_of_work() as uow:
        entries = uow.session.exec(select(LedgerEntry).where(LedgerEntry.provider_id == provider_id)).all()
    assert [(e.type.value, str(e.amount), e.memo) for e in entries] == [("credit", "100.00", memo)]
    _fits_a_phone(page)

    # The provider signs in with the login the admin made and sees its balance.
    other = browser.new_context()
    try:
        provider_page = other.new_page()
        sign_in_provider(provider_page, app_server, login)
        expect(provider_page.locator("#provider-balance")).to_have_text(fmt.money("100.00"), timeout=WAIT)
        assert memo not in provider_page.content()
        # The admin's pages send a provider away.
        for path in (f"/admin/providers/{provider_id}", "/admin/ledger", "/admin/audit"):
            provider_page.goto(f"{app_server}{path}")
            expect(provider_page).to_have_url(re.compile(r"/wrong-account\?next="), timeout=WAIT)
            assert memo not in provider_page.content()
    finally:
        other.close()

    # Deactivating asks first: cancelling changes nothing.
    page.locator("#toggle-status").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Deactivate {name}?", timeout=WAIT)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    with unit_of_work() as uow:
        assert uow.session.get(ServiceProvider, provider_id).status.value == "active"
    page.locator("#toggle-status").click()
    page.locator("#status-memo").fill("paused for a billing review")
    page.locator("#confirm-status").click()
    expect(page.locator("#provider-status")).to_have_text(
        fmt.status_word(fmt.PROVIDER_STATUS, "inactive"), timeout=WAIT
    )
    with unit_of_work() as uow:
        assert uow.session.get(ServiceProvider, provider_id).status.value == "inactive"

    # The audit log, filtered on this provider, shows both memos.
    page.goto(f"{app_server}/admin/audit")
    expect(page.locator("#audit-entity_id")).to_be_visible(timeout=WAIT)
    page.locator("#audit-entity_type").select_option("provider")
    page.locator("#audit-entity_id").fill(str(provider_id))
    page.locator("#audit-filter").click()
    table = page.locator("#audit-table")
    expect(table).to_contain_text("paused for a billing review", timeout=WAIT)
    expect(table).to_contain_text(memo)
    expect(table.locator("tbody tr")).to_have_count(3)  # created, balance_credit, set_inactive
    page.locator("#audit-entity_id").fill("not-an-id")
    page.locator("#audit-filter").click()
    expect(_error_next_to(page, "audit-entity_id")).to_contain_text("an id", timeout=WAIT)
    expect(page.locator("#audit-entity_id")).to_have_value("not-an-id")


def test_the_global_ledger_filters_by_provider_and_type(page: Page, app_server, shared_db):
    tag = uuid.uuid4().hex[:6]
    first = accounts.create_provider_account(
        name=f"Ledger One {tag}", email=unique_email("l1"), password=PASSWORD, actor=admin()
    )
    second = accounts.create_provider_account(
        name=f"Ledger Two {tag}", email=unique_email("l2"), password=PASSWORD, actor=admin()
    )
    ledger.post(provider_id=first.id, type="deposit", amount="40.00", key=f"e2e:{first.id}:dep")
    ledger.adjust(provider_id=first.id, type="debit", amount="5.00", actor=admin(), memo=f"fee {tag}")
    ledger.adjust(provider_id=second.id, type="credit", amount="7.00", actor=admin(), memo=f"gift {tag}")

    sign_in_admin(page, app_server, prefix="catalog-admin")
    page.goto(f"{app_server}/admin/ledger")
    table = page.locator("#ledger-table")
    expect(table).to_contain_text(f"gift {tag}", timeout=WAIT)
    # Newest first: the credit to the second provider is the top row.
    expect(table.locator("tbody tr").first).to_contain_text(f"Ledger Two {tag}")

    page.locator("#ledger-provider").fill(first.email)
    page.locator("#ledger-filter").click()
    expect(table.locator("tbody tr")).to_have_count(2, timeout=WAIT)
    expect(table).to_contain_text(f"fee {tag}")
    expect(table).not_to_contain_text(f"gift {tag}")
    expect(table.locator("tbody tr").first).to_contain_text(fmt.signed_money("-5.00"))

    page.locator("#ledger-type").select_option("deposit")
    page.locator("#ledger-filter").click()
    expect(table.locator("tbody tr")).to_have_count(1, timeout=WAIT)
    expect(table).to_contain_text(fmt.signed_money("40.00"))

    page.locator("#ledger-provider").fill("nobody-here@example.com")
    page.locator("#ledger-filter").click()
    expect(_error_next_to(page, "ledger-provider")).to_contain_text("no provider", timeout=WAIT)
    expect(page.locator("#ledger-provider")).to_have_value("nobody-here@example.com")

    # Opened from a provider's page, the ledger comes filtered.
    page.goto(f"{app_server}/admin/ledger?provider={second.id}")
    expect(page.locator("#ledger-table tbody tr")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#ledger-table")).to_contain_text(f"gift {tag}")


def test_the_provider_list_pages_forward_and_back(page: Page, app_server, shared_db):
    from hotlead_app.services import catalog

    tag = uuid.uuid4().hex[:6]
    for i in range(26):
        catalog.create_provider(name=f"Pager {tag} {i:02d}", email=unique_email("pager"), actor=admin())
    sign_in_admin(page, app_server, prefix="catalog-admin")
    page.goto(f"{app_server}/admin/providers")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(25, timeout=WAIT)
    first_page = rows.all_inner_texts()
    expect(page.locator(".page-prev")).to_be_disabled()
    page.locator(".page-next").click()
    expect(page.locator(".page-prev")).to_be_enabled(timeout=WAIT)
    second_page = rows.all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    page.locator(".page-prev").click()
    expect(page.locator(".page-prev")).to_be_disabled(timeout=WAIT)
    assert rows.all_inner_texts() == first_page
