"""``/confirm?token=…``: the link in the confirmation email."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.layout import public_layout
from hotlead_app.domain.errors import DomainError, Expired
from hotlead_app.services import leads


class ConfirmState(rx.State):
    outcome: str = "loading"  # loading | confirmed | expired | invalid
    message: str = ""

    @rx.event
    def load(self):
        self.outcome = "loading"
        token = self.router.url.query_parameters.get("token", "")
        try:
            leads.confirm_lead(token=token)
        except Expired as exc:
            self.outcome, self.message = "expired", exc.message
        except DomainError as exc:
            self.outcome, self.message = "invalid", exc.message
        else:
            self.outcome = "confirmed"
            self.message = ("Thank you, your request is confirmed. We review it shortly and "
                            "local providers will contact you.")


@rx.page(route=routes.CONFIRM, title="Confirm your request | Find Me A Hot Lead", on_load=ConfirmState.load)
def confirm() -> rx.Component:
    return public_layout(
        rx.match(
            ConfirmState.outcome,
            ("loading", rx.center(rx.spinner(size="3"), padding="4em")),
            ("confirmed", rx.callout(ConfirmState.message, icon="circle_check", color_scheme="green",
                                     id="confirm-outcome")),
            ("expired", rx.callout(ConfirmState.message, icon="clock", color_scheme="amber", id="confirm-outcome")),
            rx.callout(ConfirmState.message, icon="triangle_alert", color_scheme="red", id="confirm-outcome"),
        )
    )
