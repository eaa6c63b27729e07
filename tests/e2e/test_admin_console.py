"""The admin console in Chromium: bulk approval, the queue updating by itself, the
keyboard, the leads browser, a lead's detail (explanation, refund, Global Bad Lead)
and the overview's charts."""

from __future__ import annotations

import json
import os
import re
import uuid
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import select

from hotlead_app.components import format as fmt
from hotlead_app.db import unit_of_work
from hotlead_app.domain.consent import ClientInfo
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.models import Lead, LedgerEntry, Partner
from hotlead_app.services import catalog, distribution, intake, leads
from hotlead_app.services.reads import approval_queue, overview
from hotlead_app.settings import PROJECT_ROOT
from tests.conftest import wait_for
from tests.e2e.conftest import sign_in_admin
from tests.factories import (
    ADMIN,
    approved_lead,
    assignments_of,
    confirmation_token,
    confirmed_lead,
    make_market,
    submitted_lead,
    unique_email,
)


def _clear_queue() -> None:
    """Leads other tests left waiting would push ours off the first page."""
    with unit_of_work() as uow:
        waiting = uow.session.exec(select(Lead.id).where(Lead.status == LeadStatus.PENDING_APPROVAL)).all()
    for lead_id in waiting:
        leads.reject_lead(lead_id=lead_id, actor=ADMIN, reason="cleared by a test")


_PARTNER_CODE = f"e2e-{uuid.uuid4().hex[:6]}"


def _attributed_lead(slug: str) -> uuid.UUID:
    """A confirmed lead that came through a partner's link with UTM parameters."""
    with unit_of_work() as uow:
        if uow.session.exec(select(Partner).where(Partner.code == _PARTNER_CODE)).first() is None:
            uow.session.add(Partner(code=_PARTNER_CODE, name="E2E Ads"))
    lead = intake.submit_lead(
        niche_slug=slug,
        email=unique_email("attributed"),
        payload={"zip": "30301", "roof_type": "tile"},
        referrer_url="https://example.org/roof-guide",
        utm_params={"utm_source": "google", "utm_campaign": "spring"},
        partner_code=_PARTNER_CODE,
        client=ClientInfo(ip="203.0.113.9", user_agent="E2E-Browser/1.0"),
    )
    leads.confirm_lead(token=confirmation_token(lead.id))
    return lead.id


def _status(lead_id: uuid.UUID) -> LeadStatus:
    with unit_of_work() as uow:
        return uow.session.get(Lead, lead_id).status


def _email(lead_id: uuid.UUID) -> str:
    with unit_of_work() as uow:
        return uow.session.get(Lead, lead_id).email


def test_admin_approves_two_leads_at_once(page: Page, app_server, shared_db):
    _clear_queue()
    market = make_market(providers=0)
    first, second = (confirmed_lead(market.slug) for _ in range(2))
    third = _attributed_lead(market.slug)

    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    for lead_id in (first, second, third):
        expect(page.locator(f"[id='lead-{lead_id}']")).to_be_visible(timeout=30_000)
    # What an admin decides on: answers, contact, source, UTM, partner, consent evidence, time waiting.
    card = page.locator(f"[id='lead-{third}']")
    expect(card).to_contain_text("ZIP code: 30301")
    expect(card).to_contain_text(_email(third))
    expect(card).to_contain_text("https://example.org/roof-guide")
    expect(card).to_contain_text("utm_source: google · utm_campaign: spring")
    expect(card).to_contain_text("Partner: " + _PARTNER_CODE)
    expect(card).to_contain_text("IP 203.0.113.9")
    expect(card).to_contain_text("E2E-Browser/1.0")
    expect(card.locator(".waiting")).to_contain_text("waiting 0 min")
    expect(page.locator("#nav-queue-count")).to_have_text("3", timeout=30_000)
    page.locator(f"[id='lead-{first}'] .select-lead").click()
    page.locator(f"[id='lead-{second}'] .select-lead").click()
    expect(page.locator("#approve-selected")).to_have_text("Approve selected (2)")
    page.locator("#approve-selected").click()
    expect(page.locator("#approve-dialog-title")).to_have_text("Approve 2 leads?")
    page.locator("#confirm-approve").click()

    expect(page.locator(f"[id='lead-{first}']")).to_have_count(0, timeout=30_000)
    expect(page.locator(f"[id='lead-{second}']")).to_have_count(0)
    expect(page.locator(f"[id='lead-{third}']")).to_be_visible()
    expect(page.get_by_text("Approved 2 leads.")).to_be_visible()
    assert _status(first) == LeadStatus.APPROVED and _status(second) == LeadStatus.APPROVED
    assert _status(third) == LeadStatus.PENDING_APPROVAL
    expect(page.locator("#nav-queue-count")).to_have_text("1", timeout=30_000)

    # Reject selected: the dialog names the count and asks for a reason first.
    page.locator(f"[id='lead-{third}'] .select-lead").click()
    page.locator("#reject-selected").click()
    expect(page.locator("#reject-dialog-title")).to_have_text("Reject this lead?")
    page.locator("#confirm-reject").click()
    expect(page.locator("#reject-reason-error")).to_be_visible()
    assert _status(third) == LeadStatus.PENDING_APPROVAL
    page.locator("#reject-reason").fill("duplicate request")
    page.locator("#reject-memo").fill("same person as yesterday")
    page.locator("#confirm-reject").click()
    expect(page.locator("#queue-empty")).to_be_visible(timeout=30_000)
    assert _status(third) == LeadStatus.REJECTED


def test_a_confirmed_lead_appears_in_the_open_queue_and_the_keyboard_decides(page: Page, app_server, shared_db):
    _clear_queue()
    market = make_market(providers=0)
    waiting = confirmed_lead(market.slug)

    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    expect(page.locator(f"[id='lead-{waiting}']")).to_be_visible(timeout=30_000)
    expect(page.locator("#nav-queue-count")).to_have_text("1", timeout=30_000)

    arriving = confirmed_lead(market.slug)  # confirmed while the page is open: no reload
    expect(page.locator(f"[id='lead-{arriving}']")).to_be_visible(timeout=20_000)
    expect(page.locator(f"[id='lead-{arriving}']")).to_contain_text(_email(arriving))
    expect(page.locator("#nav-queue-count")).to_have_text("2", timeout=20_000)

    # Keyboard: j focuses the first (oldest) lead, a approves it.
    page.locator("#queue-help").click()
    page.keyboard.press("j")
    expect(page.locator(f"[id='lead-{waiting}']")).to_be_focused()
    page.keyboard.press("a")
    expect(page.locator(f"[id='lead-{waiting}']")).to_have_count(0, timeout=30_000)
    assert _status(waiting) == LeadStatus.APPROVED
    expect(page.locator("#nav-queue-count")).to_have_text("1", timeout=20_000)
    # r opens the reject dialog of the focused lead.
    page.locator(f"[id='lead-{arriving}']").focus()
    page.keyboard.press("r")
    expect(page.locator("#reject-dialog-title")).to_have_text("Reject this lead?")
    page.locator("#reject-reason").fill("test lead")
    page.locator("#confirm-reject").click()
    expect(page.locator("#queue-empty")).to_be_visible(timeout=30_000)
    assert _status(arriving) == LeadStatus.REJECTED

    # Leaving the queue: the count follows on other admin pages too.
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.wait_for_function("getComputedStyle(document.body).pointerEvents !== 'none'")
    page.get_by_role("link", name=re.compile("^Leads")).click()
    expect(page).to_have_url(re.compile(r"/admin/leads"), timeout=30_000)
    later = confirmed_lead(market.slug)
    expect(page.locator("#nav-queue-count")).to_have_text("1", timeout=20_000)
    leads.reject_lead(lead_id=later, actor=ADMIN, reason="cleanup")
    expect(page.locator("#nav-queue-count")).to_have_text("0", timeout=20_000)


def test_leads_browser_filters_and_links_to_the_detail(page: Page, app_server, shared_db):
    market = make_market(providers=0)
    wanted = confirmed_lead(market.slug)
    other = submitted_lead(market.slug)
    email = _email(wanted)

    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    page.goto(f"{app_server}/admin/leads")
    expect(page.locator("#leads-table")).to_be_visible(timeout=30_000)
    page.locator("#filter-email").fill(email)
    page.locator("#filter-apply").click()
    expect(page.locator(f"[id='row-{wanted}']")).to_be_visible(timeout=30_000)
    expect(page.locator("#leads-table tbody tr")).to_have_count(1)
    expect(page.locator(f"[id='row-{other}']")).to_have_count(0)

    # The start of an address and a status that does not match: nothing.
    page.locator("#filter-email").fill(email.split("@")[0])
    page.locator("#filter-status").click()
    page.get_by_role("option", name=fmt.status_word(fmt.LEAD_STATUS, "rejected")).click()
    page.locator("#filter-apply").click()
    expect(page.locator("#leads-empty")).to_be_visible(timeout=30_000)
    # A bad day range is told next to the field.
    page.locator("#filter-status").click()
    page.get_by_role("option", name="Any status").click()
    page.locator("#filter-from").fill("2026-12-31")
    page.locator("#filter-to").fill("2026-01-01")
    page.locator("#filter-apply").click()
    expect(page.locator(".field-error")).to_contain_text("after the last day", timeout=30_000)
    page.locator("#filter-from").fill("")
    page.locator("#filter-to").fill("")
    page.locator("#filter-email").fill(email)
    page.locator("#filter-apply").click()
    page.locator(f"[id='row-{wanted}'] .lead-link").click()
    expect(page).to_have_url(re.compile(f"/admin/leads/{wanted}"), timeout=30_000)
    expect(page.locator("#lead-status")).to_have_text(
        fmt.status_word(fmt.LEAD_STATUS, "pending_approval"), timeout=30_000
    )
    expect(page.locator("#explanation-empty")).to_be_visible()


def test_lead_detail_explains_refunds_and_names_global_bad_lead_amounts(page: Page, app_server, shared_db):
    market = make_market(levels=[("Shared", "12.50", 2)], providers=3, balance="50.00")
    lead_id = approved_lead(market.slug)
    assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
    first, second = assignments_of(lead_id)
    names = {p.id: p.name for p in market.providers}
    left_out = next(p for p in market.providers if p.id not in (first.provider_id, second.provider_id))

    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    page.goto(f"{app_server}/admin/leads/{lead_id}")
    explanation = page.locator("#explanation-table")
    expect(explanation).to_be_visible(timeout=30_000)
    expect(explanation.locator(".explanation-row")).to_have_count(3)
    expect(explanation).to_contain_text(names[first.provider_id])
    expect(explanation.locator("tr", has_text=left_out.name)).to_contain_text("The level was full")
    expect(explanation.locator("tr", has_text=names[first.provider_id])).to_contain_text("Received the lead")

    # Refund the first assignment: the dialog names the amount and the provider; a reason is required.
    page.locator(f"[id='assignment-{first.id}'] .refund").click()
    expect(page.locator("#refund-dialog-text")).to_have_text(
        f"{fmt.money('12.50')} goes back to {names[first.provider_id]}'s balance."
    )
    page.locator("#confirm-refund").click()
    expect(page.locator("#action-reason-error")).to_be_visible()
    page.locator("#action-reason").fill("wrong phone number")
    page.locator("#action-memo").fill("called twice")
    page.locator("#confirm-refund").click()
    expect(page.get_by_text(f"Refunded {fmt.money('12.50')}.")).to_be_visible(timeout=30_000)
    expect(page.locator(f"[id='assignment-{first.id}']")).to_contain_text("refunded: wrong phone number")
    expect(page.locator("#history-table")).to_contain_text("called twice")
    with unit_of_work() as uow:
        entries = uow.session.exec(
            select(LedgerEntry).where(LedgerEntry.provider_id == first.provider_id).order_by(LedgerEntry.seq)
        ).all()
    assert [(e.type.value, e.amount) for e in entries][-1] == ("refund", Decimal("12.50"))
    assert catalog.get_provider(ADMIN, provider_id=first.provider_id).balance == Decimal("50.00")

    # Global Bad Lead: the dialog says what goes back to whom (only the unrefunded assignment).
    page.locator("#bad-lead").click()
    dialog = page.locator("#bad-lead-dialog-text")
    expect(dialog).to_contain_text(f"{fmt.money('12.50')} in total")
    expect(dialog).to_contain_text(f"{fmt.money('12.50')} to {names[second.provider_id]}")
    expect(dialog).not_to_contain_text(names[first.provider_id])
    page.locator("#action-reason").fill("fake person")
    page.locator("#confirm-bad-lead").click()
    expect(page.locator("#lead-status")).to_have_text(fmt.status_word(fmt.LEAD_STATUS, "bad_lead"), timeout=30_000)
    assert _status(lead_id) == LeadStatus.BAD_LEAD
    assert catalog.get_provider(ADMIN, provider_id=second.provider_id).balance == Decimal("50.00")


def test_overview_draws_its_charts_from_the_data(page: Page, app_server, shared_db):
    market = make_market(levels=[("Shared", "10.00", 1)], providers=1, balance="50.00")
    lead_id = approved_lead(market.slug)
    distribution.distribute_lead(lead_id=lead_id)
    confirmed_lead(market.slug)

    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    page.goto(f"{app_server}/admin")
    for chart in ("chart-leads", "chart-revenue", "chart-providers", "chart-backlog"):
        expect(page.locator(f"#{chart} svg.recharts-surface").first).to_be_visible(timeout=30_000)
    expect(page.locator("#chart-leads .recharts-bar-rectangle").first).to_be_attached()
    expect(page.locator("#chart-revenue .recharts-bar-rectangle").first).to_be_attached()
    expect(page.locator("#chart-providers .recharts-bar-rectangle").first).to_be_attached()
    expect(page.locator("#chart-backlog .recharts-bar-rectangle").first).to_be_attached()
    backlog = approval_queue.backlog(ADMIN).count
    expect(page.locator("#stat-backlog")).to_have_text(str(backlog))
    net = sum((Decimal(r["net"]) for r in overview.overview(ADMIN, days=30)["revenue_per_day"]), Decimal("0"))
    expect(page.locator("#stat-revenue")).to_have_text(fmt.money(net))
    # Usable on a phone: no horizontal page scroll.
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(500)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def _web_log() -> Path:
    """The app_server fixture's log (tests/conftest.py)."""
    workdir = Path(os.environ.get("HOTLEAD_E2E_APP_DIR") or PROJECT_ROOT / ".hotlead" / "e2e-app")
    return workdir / "web.log"


def test_the_backlog_watcher_stops_when_the_admin_leaves_or_closes_the_tab(page: Page, app_server, shared_db):
    sign_in_admin(page, app_server, prefix="console-admin", lands_on=r"/admin/queue")
    expect(page.locator("#nav-queue-count")).to_be_visible(timeout=30_000)
    client = page.evaluate("window.sessionStorage.getItem('token')")
    assert client

    def events(kind: str) -> list[dict]:
        found = []
        for line in _web_log().read_text(errors="replace").splitlines():
            if client in line and line.startswith("{") and kind in line:
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
        return [e for e in found if e.get("event") == kind]

    wait_for(lambda: events("nav.watch_started"), timeout=30, message="the watcher to start")
    # Off to a public page in the same tab (no reload, the websocket stays): the watcher ends.
    page.get_by_role("link", name="Find Me A Hot Lead", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"), timeout=30_000)
    wait_for(lambda: events("nav.watch_stopped"), timeout=40, message="the watcher to stop")
    assert events("nav.watch_stopped")[-1]["reason"] == "left the admin pages"
    # Back on an admin page a new one starts; closing the tab ends it.
    page.goto(f"{app_server}/admin/leads")
    expect(page.locator("#nav-queue-count")).to_be_visible(timeout=30_000)
    wait_for(lambda: len(events("nav.watch_started")) >= 2, timeout=30, message="a second watcher")
    page.close()
    wait_for(lambda: len(events("nav.watch_stopped")) >= 2, timeout=30, message="the second watcher to stop")
    assert events("nav.watch_stopped")[-1]["reason"] == "tab disconnected"
