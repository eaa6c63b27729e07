"""``/``: the services a person can request."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.services import intake
from hotlead_app.state.events import event


class HomeState(rx.State):
    niches: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    @event
    def load(self):
        self.niches = [{"slug": n.slug, "name": n.name} for n in intake.list_active_niches()]
        self.loading = False


@public_page(route=routes.HOME, on_load=HomeState.load)
def home() -> rx.Component:
    return rx.vstack(
        rx.heading("What do you need done?", size="7"),
        rx.cond(
            HomeState.loading,
            rx.spinner(),
            rx.cond(
                HomeState.niches.length() > 0,
                rx.vstack(
                    rx.foreach(
                        HomeState.niches,
                        lambda n: rx.link(n["name"], href="/n/" + n["slug"], size="4"),
                    ),
                ),
                rx.text("No services are open yet.", color_scheme="gray"),
            ),
        ),
        spacing="4",
    )
