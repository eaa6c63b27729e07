"""The frame of every back-office page: a top bar with the sections of the admin
console or the provider dashboard, and the page's content below.

Pages pass their own sign-out handler (any ``SessionState`` subclass has one).  The
admin navigation shows the approval backlog from ``NavState`` (kept live by the queue
work; see ``hotlead_app/state/nav.py``)."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.layout import logo

ADMIN_SECTIONS: list[tuple[str, str]] = [
    ("Overview", routes.ADMIN_OVERVIEW),
    ("Queue", routes.ADMIN_QUEUE),
    ("Leads", routes.ADMIN_LEADS),
    ("Niches", routes.ADMIN_NICHES),
    ("Providers", routes.ADMIN_PROVIDERS),
    ("Ledger", routes.ADMIN_LEDGER),
    ("Audit", routes.ADMIN_AUDIT),
    ("Payments", routes.ADMIN_RECONCILIATION),
    ("Returns", routes.ADMIN_RETURNS),
    ("Conversion", routes.ADMIN_CONVERSION),
]

PROVIDER_SECTIONS: list[tuple[str, str]] = [
    ("Overview", routes.PROVIDER_HOME),
    ("Subscriptions", routes.PROVIDER_SUBSCRIPTIONS),
    ("Leads", routes.PROVIDER_LEADS),
    ("Missed leads", routes.PROVIDER_MISSED),
    ("Returns", routes.PROVIDER_RETURNS),
    ("Ledger", routes.PROVIDER_LEDGER),
    ("API keys", routes.PROVIDER_API_KEYS),
    ("Integrations", routes.PROVIDER_INTEGRATIONS),
    ("Add funds", routes.PROVIDER_FUNDS),
]


def _nav_link(label: str, href: str, badge: rx.Component | None = None) -> rx.Component:
    from hotlead_app.state.menu import MenuState

    return rx.link(
        rx.hstack(rx.text(label, size="2"), badge or rx.fragment(), spacing="1", align="center"),
        href=href,
        underline="none",
        class_name="nav-link",
        white_space="nowrap",
        on_click=MenuState.close,
    )


#: Below Radix's ``md`` breakpoint (1024 px) the sections hide behind the menu button.
NAV_CSS = """
.nav-menu-button { display: none; }
@media (max-width: 1023.98px) {
  .nav-menu-button { display: inline-flex; }
  .backoffice-nav { display: none !important; }
  .backoffice-nav.nav-open { display: flex !important; flex-direction: column; gap: 0; }
  .backoffice-nav.nav-open .nav-link { padding: 0.6em 0.25em; border-top: 1px solid var(--gray-a4); }
}
"""


def _menu_button() -> rx.Component:
    """The "Menu" button of a narrow screen: a real button (Enter and Space work),
    ``aria-expanded`` and ``aria-controls`` naming the navigation it shows."""
    from hotlead_app.state.menu import MenuState

    return rx.button(
        rx.icon(rx.cond(MenuState.open, "x", "menu"), size=18),
        "Menu",
        variant="soft",
        color_scheme="gray",
        high_contrast=True,
        size="2",
        on_click=MenuState.toggle,
        class_name="nav-menu-button",
        id="nav-menu-button",
        custom_attrs={"aria-expanded": rx.cond(MenuState.open, "true", "false"), "aria-controls": "backoffice-nav"},
    )


def _sign_out_everywhere() -> rx.Component:
    """ "Sign out everywhere", after a confirmation: ends every session of the account."""
    from hotlead_app.state.session import SessionState

    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button("Sign out everywhere", variant="ghost", size="1", color_scheme="red", id="sign-out-everywhere")
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Sign out everywhere?"),
            rx.alert_dialog.description(
                "Every browser and API client signed in with this account is signed out, this one too. "
                "API keys keep working."
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Sign out everywhere",
                        color_scheme="red",
                        on_click=SessionState.sign_out_everywhere,
                        id="confirm-sign-out-everywhere",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )


def backoffice_layout(
    *children: rx.Component,
    sections: list[tuple[str, str]],
    title: str | rx.Var,
    on_sign_out,
    badges: dict[str, rx.Component] | None = None,
    actions: rx.Component | None = None,
) -> rx.Component:
    """A responsive frame: brand, navigation (behind a menu button on a phone), sign-out,
    page title."""
    from hotlead_app.state.menu import MenuState

    badges = badges or {}
    return rx.box(
        rx.el.style(NAV_CSS),
        rx.flex(
            logo("32px"),
            _menu_button(),
            # On a phone the open menu takes its own rows under the logo and sign-out.
            rx.el.nav(
                *[_nav_link(label, href, badges.get(label)) for label, href in sections],
                style={"display": "flex", "flexWrap": "wrap", "gap": "var(--space-4)"},
                flex=rx.breakpoints(initial="1 1 100%", md="1 1 0%"),
                order=rx.breakpoints(initial="1", md="0"),
                class_name=rx.cond(MenuState.open, "backoffice-nav nav-open", "backoffice-nav"),
                id="backoffice-nav",
                aria_label="Sections",
            ),
            rx.button(
                "Sign out", variant="ghost", size="1", on_click=on_sign_out, class_name="sign-out", margin_left="auto"
            ),
            _sign_out_everywhere(),
            wrap="wrap",
            spacing="4",
            align="center",
            padding="0.75em 1em",
            border_bottom="1px solid var(--gray-a5)",
            width="100%",
            role="banner",
        ),
        rx.box(
            rx.flex(
                rx.heading(title, size="6"),
                rx.spacer(),
                actions or rx.fragment(),
                wrap="wrap",
                spacing="3",
                align="center",
                width="100%",
                margin_bottom="1em",
            ),
            *children,
            width="100%",
            max_width="72em",
            margin="0 auto",
            padding="1.5em 1em",
            overflow_x="auto",
            role="main",
        ),
        min_height="100vh",
    )


def admin_layout(
    *children: rx.Component, title: str | rx.Var, on_sign_out, actions=None, queue_badge: rx.Component | None = None
) -> rx.Component:
    badges = {"Queue": queue_badge} if queue_badge is not None else None
    return backoffice_layout(
        *children, sections=ADMIN_SECTIONS, title=title, on_sign_out=on_sign_out, badges=badges, actions=actions
    )


def provider_layout(*children: rx.Component, title: str | rx.Var, on_sign_out, actions=None) -> rx.Component:
    return backoffice_layout(
        *children, sections=PROVIDER_SECTIONS, title=title, on_sign_out=on_sign_out, actions=actions
    )


def empty_state(message: str, id: str | None = None) -> rx.Component:
    return rx.text(message, color_scheme="gray", id=id, class_name="empty-state")


def pager(has_prev: rx.Var, has_next: rx.Var, on_prev, on_next) -> rx.Component:
    """Previous / next buttons for a keyset-paginated list."""
    return rx.hstack(
        rx.button("← Previous", variant="soft", size="1", disabled=~has_prev, on_click=on_prev, class_name="page-prev"),
        rx.button("Next →", variant="soft", size="1", disabled=~has_next, on_click=on_next, class_name="page-next"),
        spacing="2",
        justify="end",
        width="100%",
    )
