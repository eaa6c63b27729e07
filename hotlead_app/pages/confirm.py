"""``/confirm?token=…``: the link in the confirmation email."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.domain.errors import DomainError, Expired
from hotlead_app.services import intake, tokens
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.state.client import client_of
from hotlead_app.state.events import event


class ConfirmState(rx.State):
    outcome: rx.Field[str] = rx.field("loading")  # loading | confirmed | already | expired | invalid | limited
    message: rx.Field[str] = rx.field("")
    lead_id: rx.Field[str] = rx.field("")
    resend_message: rx.Field[str] = rx.field("")

    @event
    def load(self):
        self.outcome = "loading"
        self.resend_message = ""
        token = self.router.url.query_parameters.get("token", "")
        lead_id = tokens.read_token(token)
        self.lead_id = str(lead_id) if lead_id else ""
        try:
            confirmed = intake.confirm(token=token, client=client_of(self))
        except RateLimited:
            self.outcome, self.message = "limited", "Too many attempts from your network; try again in a minute."
        except Expired as exc:
            self.outcome, self.message = "expired", exc.message
        except DomainError as exc:
            self.outcome, self.message = "invalid", exc.message
        else:
            if confirmed.already:
                self.outcome = "already"
                self.message = "You already confirmed this request. Nothing more to do."
            else:
                self.outcome = "confirmed"
                self.message = (
                    "Thank you, your request is confirmed. We review it shortly and local providers will contact you."
                )

    @event
    def resend(self, form_data: dict):
        try:
            intake.resend_confirmation(email=form_data.get("email", ""), lead_id=self.lead_id, client=client_of(self))
        except RateLimited:
            self.resend_message = "We just sent one. Please wait a few minutes before asking again."
        else:
            self.resend_message = "If that address made this request, a new link is on its way."


def _resend_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Enter the email address you used and we send a new link.", size="2"),
            rx.hstack(
                rx.input(name="email", type="email", placeholder="you@example.com", id="resend-email", width="100%"),
                rx.button("Send a new link", type="submit", id="resend"),
                width="100%",
            ),
            rx.cond(
                ConfirmState.resend_message != "", rx.text(ConfirmState.resend_message, size="2", id="resend-message")
            ),
            width="100%",
        ),
        on_submit=ConfirmState.resend,
    )


@public_page(route=routes.CONFIRM, title="Confirm your request", on_load=ConfirmState.load)
def confirm() -> rx.Component:
    return rx.match(
        ConfirmState.outcome,
        ("loading", rx.center(rx.spinner(size="3"), padding="4em")),
        (
            "confirmed",
            rx.callout(ConfirmState.message, icon="circle_check", color_scheme="green", id="confirm-outcome"),
        ),
        (
            "already",
            rx.callout(ConfirmState.message, icon="circle_check", color_scheme="blue", id="confirm-outcome"),
        ),
        (
            "expired",
            rx.vstack(
                rx.callout(
                    ConfirmState.message, icon="clock", color_scheme="amber", id="confirm-outcome", width="100%"
                ),
                _resend_form(),
                width="100%",
            ),
        ),
        rx.callout(ConfirmState.message, icon="triangle_alert", color_scheme="red", id="confirm-outcome"),
    )
