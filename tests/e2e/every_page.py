"""Every page of the product, and a small world that gives them something to show:
the one list the page-frame test and the accessibility scan walk, so a new page is
added once (here) and both check it.

    world = build_world()                 # an admin, a funded provider, a niche, two leads
    for shown in admin_pages(world): ...  # name (screenshot), path, title, heading
    write_index(shots_folder())           # index.html: every screenshot, 1366 px beside 375 px

Screenshots go to ``build/screenshots/`` under the project by default; the
``HOTLEAD_SHOTS`` environment variable names another folder (``HOTLEAD_SHOTS=off``: none)."""

from __future__ import annotations

import html
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import admin
from hotlead_app.models import UserRole
from hotlead_app.services import accounts, catalog, distribution, ledger
from tests.factories import ROOFING_FIELDS, approved_lead, confirmed_lead, unique_email

PASSWORD = "correct horse battery"
WAIT = 30_000
SITE = "Find Me A Hot Lead"
WIDTHS = (1366, 375)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHOTS = PROJECT_ROOT / "build" / "screenshots"


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
    sold_lead: uuid.UUID  # bought by the provider
    waiting_lead: uuid.UUID  # confirmed, in the approval queue


def build_world() -> World:
    """An admin; a provider with a balance subscribed to a niche's level that bought
    one lead; a second lead waiting in the approval queue."""
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
    sold = approved_lead(niche.slug)
    assert distribution.distribute_lead(lead_id=sold).outcome == "distributed"
    waiting = confirmed_lead(niche.slug)
    return World(admin_email, provider_email, provider.id, niche.slug, sold, waiting)


def admin_pages(w: World) -> list[Shown]:
    return [
        Shown("admin-overview", "/admin", "Overview", "Overview"),
        Shown("admin-queue", "/admin/queue", "Approval queue", "Approval queue"),
        Shown("admin-leads", "/admin/leads", "Leads", "Leads"),
        Shown("admin-lead", f"/admin/leads/{w.sold_lead}", "Lead", "Lead"),
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
        Shown("provider-lead", f"/provider/leads/{w.sold_lead}", "Lead", "Lead"),
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


def sign_in(page: Page, base: str, email: str, lands_on: str) -> None:
    page.goto(f"{base}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=WAIT)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(lands_on), timeout=WAIT)


def settle(page: Page) -> None:
    """After a resize or a click: two frames drawn (charts re-measure on a resize
    observer) and no finite animation running (a dialog opening)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function(
        "() => document.getAnimations().every("
        "a => a.playState !== 'running' || a.effect?.getTiming().iterations === Infinity)",
        timeout=WAIT,
        polling=100,
    )


# --------------------------------------------------------------------------- screenshots


def shots_folder() -> Path | None:
    """Where screenshots go: ``HOTLEAD_SHOTS`` (``off``: nowhere), else ``build/screenshots``."""
    chosen = os.environ.get("HOTLEAD_SHOTS", "")
    if chosen.lower() == "off":
        return None
    return Path(chosen) if chosen else DEFAULT_SHOTS


def screenshot(page: Page, name: str, width: int) -> None:
    """The whole page at its current width as ``<name>-<width>.png`` (when screenshots are on)."""
    folder = shots_folder()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def _page_order():
    """Sort key: the pages in the lists' order (public, provider, admin), each state
    (``admin-provider-status-dialog``) right after its page, unknown names last."""
    w = World("", "", uuid.uuid4(), "", uuid.uuid4(), uuid.uuid4())
    order = [s.name for s in [*public_pages(w), *provider_pages(w), *admin_pages(w)]]

    def key(name: str) -> tuple[int, int, str]:
        pages = [i for i, page in enumerate(order) if name == page or name.startswith(page + "-")]
        # the longest matching page name is the page a state belongs to
        best = max(pages, key=lambda i: len(order[i]), default=len(order))
        return (best, 0 if best < len(order) and name == order[best] else 1, name)

    return key


def write_index(folder: Path | None) -> None:
    """``index.html`` in ``folder``: one row per page, its 1366 px and 375 px shots side by side."""
    if folder is None or not folder.is_dir():
        return
    names = sorted(
        {m.group(1) for p in folder.glob("*.png") if (m := re.fullmatch(r"(.+)-(\d+)\.png", p.name))},
        key=_page_order(),
    )
    rows = []
    for name in names:
        cells = "".join(
            f'<td><a href="{html.escape(f"{name}-{w}.png")}"><img src="{html.escape(f"{name}-{w}.png")}" '
            f'alt="{html.escape(name)} at {w} px" loading="lazy" class="w{w}"></a></td>'
            if (folder / f"{name}-{w}.png").exists()
            else "<td>—</td>"
            for w in WIDTHS
        )
        rows.append(f'<tr><th scope="row" id="{html.escape(name)}">{html.escape(name)}</th>{cells}</tr>')
    links = " · ".join(f'<a href="#{html.escape(n)}">{html.escape(n)}</a>' for n in names)
    (folder / "index.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{SITE}: every page</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ vertical-align: top; padding: 0.5em; border-bottom: 1px solid #ccc; text-align: left; }}
img {{ border: 1px solid #999; max-height: 900px; object-fit: cover; object-position: top; }}
img.w1366 {{ width: 683px; }} img.w375 {{ width: 375px; }}
</style></head>
<body><h1>{SITE}: every page at 1366 px and 375 px</h1>
<p>Written by the browser tests (tests/e2e/test_page_frames.py, test_accessibility.py).
Click a picture for the full page.</p>
<p>{links}</p>
<table><thead><tr><th scope="col">page</th><th scope="col">1366 px (half size)</th>
<th scope="col">375 px</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
""",
        encoding="utf-8",
    )
