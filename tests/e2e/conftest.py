"""What the browser tests share: signing in admins and providers through the real
sign-in page (and through the API, for the set-up a test does over HTTP).

    email = sign_in_admin(page, app_server)                # a new admin, signed in
    sign_in_provider(page, app_server, email)              # lands on /provider
    sign_in(page, app_server, email, password="wrong")     # no landing page expected
    headers = api_login(app_server, email)                 # Bearer headers for /api/v1
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from hotlead_app.db import unit_of_work
from hotlead_app.models import UserRole
from hotlead_app.services import accounts
from tests.factories import unique_email

PASSWORD = "correct horse battery"  # every account the browser tests create
WAIT = 30_000  # ms: a prod-mode page on a busy 2-core machine


def sign_in(page: Page, base: str, email: str, *, password: str = PASSWORD, lands_on: str | None = None) -> None:
    """Fill and send the sign-in form; with ``lands_on`` (a regex), wait for that URL."""
    page.goto(f"{base}/signin")
    expect(page.locator("#signin-email")).to_be_visible(timeout=WAIT)
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if lands_on is not None:
        expect(page).to_have_url(re.compile(lands_on), timeout=WAIT)


def new_admin(prefix: str = "e2e-admin") -> str:
    """A new admin account (password :data:`PASSWORD`); its email."""
    email = unique_email(prefix)
    with unit_of_work() as uow:
        accounts.create_user(uow, email=email, password=PASSWORD, role=UserRole.ADMIN)
    return email


def sign_in_admin(page: Page, base: str, *, prefix: str = "e2e-admin", lands_on: str = r"/admin") -> str:
    """A new admin, signed in on ``page``; its email."""
    email = new_admin(prefix)
    sign_in(page, base, email, lands_on=lands_on)
    return email


def sign_in_provider(page: Page, base: str, email: str, *, lands_on: str = r"/provider") -> None:
    """A provider's login (password :data:`PASSWORD`), signed in on ``page``."""
    sign_in(page, base, email, lands_on=lands_on)


def api_login(base: str, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for ``/api/v1`` after a real ``POST /auth/login``."""
    resp = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}
