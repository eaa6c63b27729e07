"""``/wrong-account?next=<page>``: a signed-in provider opened an admin page (or an
admin a provider page). It says so, links to the account's own pages, and offers to
sign in with another account (which then brings the person to the page they asked for)."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.domain.redirects import path_of, safe_next
from hotlead_app.services import auth
from hotlead_app.state.events import event
from hotlead_app.state.session import SessionState

ROLE_NAMES = {"admin": "an admin", "provider": "a service provider"}


def needed_role(path: str) -> str:
    """The role whose pages ``path`` is among (``""`` for neither)."""
    return next((role for role in routes.ROLE_AREAS if routes.in_area(role, path)), "")


class WrongAccountState(SessionState):
    signed_in: rx.Field[bool] = rx.field(False)
    # "The page you opened is for an admin. You are signed in as a service provider (bob@…)."
    message: rx.Field[str] = rx.field("")
    home: rx.Field[str] = rx.field(routes.PROVIDER_HOME)
    next_path: rx.Field[str] = rx.field("")

    def _next(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next", "")) or ""

    @event
    def load(self):
        principal = self.principal()
        target = self._next()
        self.next_path = target
        needed = ROLE_NAMES.get(needed_role(path_of(target)), "another account")
        self.signed_in = principal is not None
        if principal is None:
            self.message, self.home = f"The page you opened is for {needed}. Sign in to open it.", routes.SIGN_IN
            return
        account = f"{ROLE_NAMES.get(principal.role, principal.role)} ({principal.email})"
        self.message = f"The page you opened is for {needed}. You are signed in as {account}."
        self.home = routes.landing(principal.role)

    @event
    def switch_account(self):
        """Sign out here, then sign in with the account the page needs, and land on it."""
        if self.token:
            auth.logout_sealed(sealed=self.token)
        self.token, self.email, self.role = "", "", ""
        target = self._next()
        return rx.redirect(routes.with_next(routes.SIGN_IN, target) if target else routes.SIGN_IN)


S = WrongAccountState


@public_page(route=routes.WRONG_ACCOUNT, title="Not available with this account", on_load=S.load)
def wrong_account() -> rx.Component:
    return rx.vstack(
        rx.heading("This page is not for your account", size="7", as_="h1"),
        rx.callout(
            S.message,
            icon="shield_alert",
            color_scheme="amber",
            width="100%",
            id="wrong-account",
        ),
        rx.hstack(
            rx.cond(
                S.signed_in,
                rx.button("Go to your pages", size="3", on_click=rx.redirect(S.home), id="wrong-account-home"),
            ),
            rx.button(
                "Sign in with another account",
                variant="soft",
                size="3",
                on_click=S.switch_account,
                id="wrong-account-switch",
            ),
            wrap="wrap",
            spacing="3",
        ),
        spacing="4",
        width="100%",
    )
