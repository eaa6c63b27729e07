"""``/``: what the service is, how it works, the services a person can request (each
with how many pros a request can reach), and the way in for providers."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.services import intake
from hotlead_app.state.events import event


def reach_text(max_providers: int) -> str:
    """ "Up to 3 pros contact you" (the niche's reach: ``intake.max_providers_per_lead``)."""
    if max_providers <= 0:
        return "Local pros contact you"
    return f"Up to {max_providers} {'pro contacts' if max_providers == 1 else 'pros contact'} you"


class HomeState(rx.State):
    niches: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    @event
    def load(self):
        self.niches = [
            {"slug": n.slug, "name": n.name, "reach": reach_text(n.max_providers)} for n in intake.list_open_niches()
        ]
        self.loading = False


def _step(number: str, title: str, text: str) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.center(
                rx.text(number, weight="bold", size="3"),
                width="2em",
                height="2em",
                border_radius="50%",
                background_color="var(--accent-4)",
                flex_shrink="0",
                aria_hidden="true",
            ),
            rx.box(rx.text(title, weight="bold", size="3"), rx.text(text, size="2", color_scheme="gray")),
            align="start",
            spacing="3",
        ),
    )


def _niche_card(n: dict) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.box(
                    rx.text(n["name"], weight="bold", size="4"),
                    rx.text(n["reach"], size="2", color_scheme="gray", class_name="niche-reach"),
                ),
                rx.icon("chevron_right", aria_hidden="true"),
                justify="between",
                align="center",
                width="100%",
            ),
            width="100%",
        ),
        href="/n/" + n["slug"],
        underline="none",
        width="100%",
        class_name="niche-link",
        aria_label=n["name"] + ": " + n["reach"],
    )


@public_page(route=routes.HOME, on_load=HomeState.load)
def home() -> rx.Component:
    return rx.vstack(
        rx.heading("Find a trusted local pro, free", size="7", as_="h1"),
        rx.text(
            "Tell us what you need in a minute. We pass your request to local professionals "
            "who do that work, and they contact you with a quote. It costs you nothing.",
            size="3",
        ),
        rx.heading("How it works", size="5", as_="h2"),
        rx.el.ol(
            _step("1", "Choose a service", "Answer a few questions about the job."),
            _step("2", "Confirm by email", "Click the link we send you, so we know the request is yours."),
            _step(
                "3",
                "Hear from pros",
                "After a quick check, local pros contact you: each service below says how many at most.",
            ),
            style={"list_style": "none", "padding": "0", "margin": "0", "display": "grid", "gap": "12px"},
            id="how-it-works",
        ),
        rx.heading("What do you need done?", size="5", as_="h2"),
        rx.cond(
            HomeState.loading,
            rx.spinner(),
            rx.cond(
                HomeState.niches.length() > 0,
                rx.vstack(rx.foreach(HomeState.niches, _niche_card), width="100%", spacing="2", id="niche-list"),
                rx.text("No services are open yet.", color_scheme="gray"),
            ),
        ),
        rx.card(
            rx.text(
                "Are you a service provider? ",
                rx.link("Sign in", href=routes.SIGN_IN, id="provider-sign-in", underline="always"),
                " to see your leads, or ask us for an account.",
                size="2",
            ),
            width="100%",
            variant="surface",
        ),
        spacing="4",
        width="100%",
    )
