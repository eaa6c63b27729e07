"""Every page in Chromium opens in its frame: the document title, the logo from
``assets/`` (loaded, with its alt text), the favicon links, the back-office navigation
and heading; and the guard the page decorators put in front of each back-office page
holds (anonymous visitors are sent to sign-in, with the page to come back to, from
every back-office page; a provider opening an admin page gets the wrong-account page).

Each page is also saved as a full-page screenshot at 1366 px and at 375 px wide
(``<name>-1366.png``, ``<name>-375.png``) in ``build/screenshots/`` (``HOTLEAD_SHOTS=<dir>``
names another folder, ``HOTLEAD_SHOTS=off`` none), with an ``index.html`` that shows them
all side by side. The pages and their world: ``tests/e2e/every_page.py``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import http_ok
from tests.e2e.every_page import (
    SITE,
    WAIT,
    WIDTHS,
    Shown,
    World,
    admin_pages,
    build_world,
    provider_pages,
    public_pages,
    screenshot,
    settle,
    shots_folder,
    write_index,
)
from tests.e2e.every_page import sign_in as _sign_in


@pytest.fixture(scope="module")
def world(app_server) -> World:
    return build_world()


@pytest.fixture(scope="module", autouse=True)
def _screenshot_index():
    yield
    write_index(shots_folder())


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
        # .first: the frame's heading (a page may have a section of the same name below it)
        expect(page.get_by_role("heading", name=shown.heading, exact=True).first).to_be_visible(timeout=WAIT)
        expect(page.locator(".backoffice-nav")).to_be_visible()
        expect(page.locator(".sign-out")).to_be_visible()
    expect(page.locator(".loading")).to_have_count(0, timeout=WAIT)
    if shots_folder() is not None:
        _screenshots(page, shown.name)


def _screenshots(page: Page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        settle(page)
        screenshot(page, name, width)
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
