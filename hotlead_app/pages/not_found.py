"""The page of an address the site does not have: says so in the site's frame, with the
ways back (the services, the provider and admin pages)."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page


@public_page(route=routes.NOT_FOUND, title="Page not found")
def not_found() -> rx.Component:
    return rx.vstack(
        rx.text("404", size="2", color_scheme="gray", weight="bold"),
        rx.heading("We can't find that page", size="7", as_="h1", id="not-found"),
        rx.text(
            "The address may be mistyped, or the page has moved. These will get you back on track:",
            size="3",
        ),
        rx.el.ul(
            rx.el.li(rx.link("Find a pro: the services we offer", href=routes.HOME)),
            rx.el.li(rx.link("Service providers: your leads", href=routes.PROVIDER_HOME)),
            rx.el.li(rx.link("Team: the admin console", href=routes.ADMIN_QUEUE)),
            style={"padding_left": "1.2em", "line_height": "2"},
        ),
        spacing="4",
        width="100%",
    )
