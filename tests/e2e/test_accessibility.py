"""Every page passes an axe-core scan (``axe-playwright-python``) in Chromium with no
serious or critical violation, at 1366 px and at 375 px: signed out (the public pages,
sign-in and a 404), as a provider (every provider page) and as an admin (every admin
page); plus the states that show more than the page at rest (the lead form and the
sign-in form with their errors, open confirmation dialogs, a new API key).

The pages are ``tests/e2e/every_page.py``'s list (the one the page-frame test walks).
A failure prints, for each page and width, the rule id, its impact, axe's help text
and the selectors of the failing nodes.

``HOTLEAD_AXE_REPORT=<file>`` also appends every violation of any impact (moderate and
minor too) to that file, one JSON line per page, width and rule."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

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
    sign_in,
    write_index,
)

BLOCKING = ("serious", "critical")

AXE = Axe()
#: HOTLEAD_AXE_REPORT=<file>: also append every violation found (any impact) there as JSON lines.
REPORT = os.environ.get("HOTLEAD_AXE_REPORT", "")


@dataclass
class Scan:
    """What the scans of one test found: page name -> width -> rule id -> violation."""

    found: dict[str, dict[int, dict[str, dict]]] = field(default_factory=dict)

    def run(self, page: Page, name: str, width: int) -> None:
        results = AXE.run(page, options={"resultTypes": ["violations"]})
        violations = results.response["violations"]
        self.found.setdefault(name, {})[width] = {v["id"]: v for v in violations if v.get("impact") in BLOCKING}
        if REPORT:  # every violation, whatever its impact, one JSON line each (for a reviewer)
            with open(REPORT, "a", encoding="utf-8") as out:
                for v in violations:
                    targets = [" ".join(str(t) for t in node["target"]) for node in v["nodes"]]
                    line = {"page": name, "width": width, "rule": v["id"], "impact": v.get("impact"), "nodes": targets}
                    out.write(json.dumps(line) + "\n")

    def check(self) -> None:
        problems: list[str] = []
        for name, widths in self.found.items():
            for width, violations in widths.items():
                for rule, v in violations.items():
                    targets = [" ".join(str(t) for t in node["target"]) for node in v["nodes"]]
                    shown = "\n      ".join(targets[:8]) + (
                        f"\n      … {len(targets) - 8} more" if len(targets) > 8 else ""
                    )
                    problems.append(f"{name} @ {width}px: {rule} ({v['impact']}): {v['help']}\n      {shown}")
        assert not problems, f"{len(problems)} accessibility problem(s):\n  " + "\n  ".join(problems)


@pytest.fixture(scope="module")
def world(app_server) -> World:
    return build_world()


@pytest.fixture(scope="module", autouse=True)
def _screenshot_index():
    yield
    write_index(shots_folder())


def _title(shown: Shown) -> str:
    return f"{shown.title} | {SITE}" if shown.title else SITE


def _settled(page: Page) -> None:
    """No spinner left, and the animations (a dialog opening) finished."""
    expect(page.locator(".loading")).to_have_count(0, timeout=WAIT)
    settle(page)


def _open(page: Page, base: str, shown: Shown) -> None:
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    page.goto(f"{base}{shown.path}")
    expect(page).to_have_title(_title(shown), timeout=WAIT)
    if shown.heading is not None:
        expect(page.get_by_role("heading", name=shown.heading, exact=True).first).to_be_visible(timeout=WAIT)
    _settled(page)


def _scan_widths(page: Page, scan: Scan, name: str, *, shoot: bool = False) -> None:
    """Scan the page as it is at each width (and keep a screenshot of a state)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _settled(page)
        scan.run(page, name, width)
        if shoot:
            screenshot(page, name, width)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def _scan_pages(page: Page, base: str, scan: Scan, pages: list[Shown]) -> None:
    for shown in pages:
        _open(page, base, shown)
        _scan_widths(page, scan, shown.name)


def _state(page: Page, scan: Scan, name: str, reach: Callable[[], None]) -> None:
    reach()
    _settled(page)
    _scan_widths(page, scan, name, shoot=True)


def test_signed_out_pages_have_no_serious_violations(page: Page, app_server, shared_db, world):
    scan = Scan()
    _scan_pages(page, app_server, scan, public_pages(world))

    def form_errors() -> None:
        page.goto(f"{app_server}/n/{world.slug}")
        page.locator("#lead-form").get_by_role("button").last.click()
        expect(page.locator("#lead-form [role=alert]").first).to_be_visible(timeout=WAIT)

    _state(page, scan, "lead-form-errors", form_errors)

    def signin_error() -> None:
        page.goto(f"{app_server}/signin")
        page.locator("#signin-email").fill("nobody@example.com")
        page.locator("#signin-password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#signin-error")).to_be_visible(timeout=WAIT)

    _state(page, scan, "signin-error", signin_error)
    scan.check()


def test_provider_pages_have_no_serious_violations(page: Page, app_server, shared_db, world):
    scan = Scan()
    sign_in(page, app_server, world.provider_email, r"/provider/?$")
    _scan_pages(page, app_server, scan, provider_pages(world))

    def subscription_form() -> None:
        page.goto(f"{app_server}/provider/subscriptions")
        page.locator("#new-subscription").click()
        expect(page.locator("#subscription-form")).to_be_visible(timeout=WAIT)

    _state(page, scan, "provider-subscriptions-form", subscription_form)

    def sign_out_everywhere_dialog() -> None:
        page.goto(f"{app_server}/provider")
        expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=WAIT)
        page.locator("#sign-out-everywhere").click()
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT)

    _state(page, scan, "provider-overview-sign-out-dialog", sign_out_everywhere_dialog)

    def new_key_and_revoke_dialog() -> None:
        page.keyboard.press("Escape")
        page.goto(f"{app_server}/provider/api-keys")
        page.locator("#key-name").fill("CRM sync")
        page.locator("#create-key").click()
        expect(page.locator("#new-key")).to_be_visible(timeout=WAIT)
        page.locator(".revoke-key").first.click()
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT)

    _state(page, scan, "provider-api-keys-revoke-dialog", new_key_and_revoke_dialog)
    scan.check()


def test_admin_pages_have_no_serious_violations(page: Page, app_server, shared_db, world):
    scan = Scan()
    sign_in(page, app_server, world.admin_email, r"/admin")
    _scan_pages(page, app_server, scan, admin_pages(world))

    def niche_editor() -> None:
        page.goto(f"{app_server}/admin/niches")
        page.locator("#new-niche").click()
        expect(page.locator("#niche-editor")).to_be_visible(timeout=WAIT)

    _state(page, scan, "admin-niches-editor", niche_editor)

    def reject_dialog() -> None:
        page.goto(f"{app_server}/admin/queue")
        page.locator(f"#lead-{world.waiting_lead} .reject").click()
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT)

    _state(page, scan, "admin-queue-reject-dialog", reject_dialog)
    page.keyboard.press("Escape")

    def adjustment_errors() -> None:
        page.goto(f"{app_server}/admin/providers/{world.provider_id}")
        page.locator("#review-adjustment").click()
        expect(page.locator("#adjustment-form [role=alert]").first).to_be_visible(timeout=WAIT)

    _state(page, scan, "admin-provider-adjustment-errors", adjustment_errors)

    def adjustment_confirm_dialog() -> None:
        page.locator("#adj-amount").fill("5.00")
        page.locator("#adj-memo").fill("Goodwill")
        page.locator("#review-adjustment").click()
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT)

    _state(page, scan, "admin-provider-adjustment-dialog", adjustment_confirm_dialog)
    page.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0, timeout=WAIT)

    def status_dialog() -> None:
        page.locator("#toggle-status").click()
        expect(page.get_by_role("alertdialog")).to_be_visible(timeout=WAIT)

    _state(page, scan, "admin-provider-status-dialog", status_dialog)
    expect(page).to_have_url(re.compile(r"/admin/providers/"))
    scan.check()
