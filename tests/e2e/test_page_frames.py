"""Every page in Chromium opens in its frame: the document title, the logo from
``assets/`` (loaded, with its alt text), the favicon links, the back-office navigation
and heading; and the guard the page decorators put in front of each back-office page
holds (anonymous visitors are sent to sign-in, with the page to come back to, from
every back-office page; a provider opening an admin page gets the wrong-account page).

With ``HOTLEAD_SHOTS=<dir>`` each page is also saved there as a full-page screenshot
at 1366 px and at 375 px wide (``<name>-1366.png``, ``<name>-375.png``)."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, ledger
from tests.conftest import http_ok
from tests.factories import ROOFING_FIELDS, unique_email

PASSWORD = "correct horse battery"
WAIT = 30_000
SITE = "Find Me A Hot Lead"
SHOTS = os.environ.get("HOTLEAD_SHOTS", "")


@dataclass(frozen=True)
class Shown:
    name: str  # the screenshot's name
    path: str
    title: str  # the document title before " | Find Me A Hot Lead" ("" for the site name alone)
    heading: str | None = None  # the frame's heading (back-office pages)


@dataclass(frozen=True)
class World:
    admin_email: str
    provider_email: str
    provider_id: uuid.UUID
    slug: str


@pytest.fixture(scope="module")
def world(app_server) -> World:
    """An admin, and a provider with a balance subscribed to a niche's level."""
    admin_email = unique_email("frames-admin")
    with unit_of_work() as uow:
        accounts.create_user(uow, email=admin_email, password=PASSWORD, role=UserRole.ADMIN)
    provider_email = unique_email("frames-provider")
    provider = accounts.create_provider_account(
        name="Frames Roofing", email=provider_email, password=PASSWORD, actor=admin()
    )
    niche = catalog.create_niche(
        slug=f"frames-{uuid.uuid4().hex[:8]}", name="Frame roofs", fields=ROOFING_FIELDS, actor=admin()
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Shared", price_per_lead="12.50", max_providers=2, priority_order=1, actor=admin()
    )
    ledger.post(provider_id=provider.id, type="deposit", amount="80.00", key=f"frames:{provider.id}")
    catalog.create_subscription(competition_level_id=level.id, filters={}, actor=admin(), provider_id=provider.id)
    return World(admin_email, provider_email, provider.id, niche.slug)


def admin_pages(w: World) -> list[Shown]:
    return [
        Shown("admin-overview", "/admin", "Overview", "Overview"),
        Shown("admin-queue", "/admin/queue", "Approval queue", "Approval queue"),
        Shown("admin-leads", "/admin/leads", "Leads", "Leads"),
        Shown("admin-lead", f"/admin/leads/{uuid.uuid4()}", "Lead", "Lead"),
        Shown("admin-niches", "/admin/niches", "Niches", "Niches"),
        Shown("admin-providers", "/admin/providers", "Providers", "Providers"),
        Shown("admin-provider", f"/admin/providers/{w.provider_id}", "Provider", "Frames Roofing"),
        Shown("admin-ledger", "/admin/ledger", "Ledger", "Ledger"),
        Shown("admin-audit", "/admin/audit", "Audit log", "Audit log"),
        Shown("admin-reconciliation", "/admin/reconciliation", "Payments reconciliation", "Payments reconciliation"),
        Shown("admin-returns", "/admin/returns", "Returns", "Returns"),
        Shown("admin-conversion", "/admin/conversion", "Conversion", "Conversion"),
    ]


def provider_pages(w: World) -> list[Shown]:
    return [
        Shown("provider-overview", "/provider", "Overview", "Overview"),
        Shown("provider-subscriptions", "/provider/subscriptions", "Subscriptions", "Subscriptions"),
        Shown("provider-leads", "/provider/leads", "Leads", "Leads"),
        Shown("provider-lead", f"/provider/leads/{uuid.uuid4()}", "Lead", "Lead"),
        Shown("provider-missed", "/provider/missed", "Missed leads", "Missed leads"),
        Shown("provider-returns", "/provider/returns", "Returns", "Returns"),
        Shown("provider-ledger", "/provider/ledger", "Ledger", "Ledger"),
        Shown("provider-api-keys", "/provider/api-keys", "API keys", "API keys"),
        Shown("provider-integrations", "/provider/integrations", "Integrations", "Integrations"),
        Shown("provider-funds", "/provider/funds", "Add funds", "Add funds"),
        Shown("provider-funds-return", "/provider/funds/return", "Payment", "Payment"),
    ]


def public_pages(w: World) -> list[Shown]:
    return [
        Shown("home", "/", ""),
        Shown("lead-form", f"/n/{w.slug}", "Request a service"),
        Shown("confirm", "/confirm", "Confirm your request"),
        Shown("signin", "/signin", "Sign in"),
        Shown("wrong-account", "/wrong-account", "Not available with this account"),
        Shown("not-found", "/no-such-page", "Page not found"),
    ]


def _sign_in(page: Page, base: str, email: str, lands_on: str) -> None:
    page.goto(f"{base}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=WAIT)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(lands_on), timeout=WAIT)


def _title(shown: Shown) -> str:
    return f"{shown.title} | {SITE}" if shown.title else SITE


def _frame_holds(page: Page, base: str, shown: Shown) -> None:
    page.goto(f"{base}{shown.path}")
    expect(page).to_have_title(_title(shown), timeout=WAIT)
    expect(page).to_have_url(re.compile(re.escape(shown.path.rstrip("/")) + r"/?$"))
    logo = page.get_by_role("img", name=SITE)
    expect(logo).to_be_visible(timeout=WAIT)
    # The logo is the home link, and assets/logo.svg was served (a broken image has no width).
    expect(page.get_by_role("link", name=SITE, exact=True)).to_have_attribute("href", "/")
    page.wait_for_function(
        "() => [...document.images].some(i => i.alt === 'Find Me A Hot Lead' && i.complete && i.naturalWidth > 0)",
        timeout=WAIT,
    )
    expect(page.locator('link[rel="icon"][href="/favicon.svg"]')).not_to_have_count(0)
    if shown.heading is not None:
        expect(page.get_by_role("heading", name=shown.heading, exact=True)).to_be_visible(timeout=WAIT)
        expect(page.locator(".backoffice-nav")).to_be_visible()
        expect(page.locator(".sign-out")).to_be_visible()
    expect(page.locator(".loading")).to_have_count(0, timeout=WAIT)
    if SHOTS:
        _screenshots(page, shown.name)


def _screenshots(page: Page, name: str) -> None:
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_the_assets_are_served(app_server):
    for name in ("logo.svg", "favicon.svg", "favicon.ico"):
        assert http_ok(f"{app_server}/{name}"), name


def test_every_public_page_opens_in_its_frame(page: Page, app_server, shared_db, world):
    page.set_viewport_size({"width": 1366, "height": 900})
    for shown in public_pages(world):
        _frame_holds(page, app_server, shown)
    expect(page.locator(".backoffice-nav")).to_have_count(0)


def test_every_admin_page_opens_in_the_admin_frame(page: Page, app_server, shared_db, world):
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in(page, app_server, world.admin_email, r"/admin/queue")
    for shown in admin_pages(world):
        _frame_holds(page, app_server, shown)
        expect(page.locator("#nav-queue-count")).to_be_visible(timeout=WAIT)
        expect(page.locator(".backoffice-nav").get_by_role("link", name="Niches")).to_be_visible()


def test_every_provider_page_opens_in_the_provider_frame(page: Page, app_server, shared_db, world):
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in(page, app_server, world.provider_email, r"/provider/?$")
    for shown in provider_pages(world):
        _frame_holds(page, app_server, shown)
        nav = page.locator(".backoffice-nav")
        expect(nav.get_by_role("link", name="Subscriptions")).to_be_visible()
        expect(nav.get_by_role("link", name="Queue")).to_have_count(0)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_back_office_page(page: Page, app_server, shared_db, world):
    for shown in [*admin_pages(world), *provider_pages(world)]:
        page.goto(f"{app_server}{shown.path}")
        expect(page).to_have_url(re.compile(r"/signin\?next=" + re.escape(shown.path) + "$"), timeout=WAIT)


def test_a_provider_cannot_open_an_admin_page(page: Page, app_server, shared_db, world):
    _sign_in(page, app_server, world.provider_email, r"/provider/?$")
    for shown in admin_pages(world):
        page.goto(f"{app_server}{shown.path}")
        expect(page).to_have_url(re.compile(r"/wrong-account\?next=" + re.escape(shown.path) + "$"), timeout=WAIT)
        expect(page.locator("#wrong-account")).to_contain_text("an admin", timeout=WAIT)
