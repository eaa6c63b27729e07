"""``/confirm?token=…``: the link in the confirmation email.

Confirmed (or confirmed before): the request recapped (service, contact, answers) and
what happens next. An expired link, or one replaced by a newer one (the person asked
for another): a form to get a fresh link. A tampered link: says so."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.fields import focus_first_invalid, text_field
from hotlead_app.components.page import public_page
from hotlead_app.domain.errors import DomainError, Expired
from hotlead_app.domain.forms import normalize_email
from hotlead_app.services import intake, tokens
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.state.client import client_of
from hotlead_app.state.events import event

#: The outcomes after which the person may ask for a new link.
RESENDABLE = ("expired", "superseded")


def next_steps(max_providers: int) -> str:
    """What happens after confirming, with the niche's reach when it has one."""
    who = f"up to {max_providers} local {'pro' if max_providers == 1 else 'pros'}" if max_providers else "local pros"
    return f"We check every request by hand, usually within a business day. Then {who} contact you by email or phone."


class ConfirmState(rx.State):
    # loading | confirmed | already | expired | superseded | invalid | limited
    outcome: rx.Field[str] = rx.field("loading")
    message: rx.Field[str] = rx.field("")
    lead_id: rx.Field[str] = rx.field("")
    resend_message: rx.Field[str] = rx.field("")
    resend_error: rx.Field[str] = rx.field("")
    # the recap of a confirmed request
    niche: rx.Field[str] = rx.field("")
    contact: rx.Field[list[list[str]]] = rx.field(default_factory=list)
    answers: rx.Field[list[list[str]]] = rx.field(default_factory=list)
    next_steps: rx.Field[str] = rx.field("")

    @event
    def load(self):
        self.outcome = "loading"
        self.resend_message = ""
        self.resend_error = ""
        self.niche, self.contact, self.answers, self.next_steps = "", [], [], ""
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
            superseded = exc.details.get("token") == "superseded"
            self.outcome = "superseded" if superseded else "invalid"
            self.message = (
                "This link was replaced by a newer one: use the link in the latest email we sent, "
                "or ask for a new one below."
                if superseded
                else exc.message
            )
        else:
            recap = confirmed.recap
            if recap is not None:
                self.niche = recap.niche_name
                self.contact = [
                    [label, value]
                    for label, value in (
                        ("Name", recap.name),
                        ("Email", recap.email),
                        ("Phone", fmt.phone(recap.phone)),
                    )
                    if value
                ]
                self.answers = [[label, value] for label, value in fmt.answers(recap.fields, recap.payload)]
                self.next_steps = next_steps(recap.max_providers)
            if confirmed.already:
                self.outcome = "already"
                self.message = "You already confirmed this request. Nothing more to do."
            else:
                self.outcome = "confirmed"
                self.message = "Thank you, your request is confirmed."

    @event
    def resend(self, form_data: dict):
        email = form_data.get("email", "")
        try:
            normalize_email(email)
        except ValueError as exc:
            self.resend_error, self.resend_message = str(exc), ""
            return focus_first_invalid("resend-form")
        self.resend_error = ""
        try:
            intake.resend_confirmation(email=email, lead_id=self.lead_id, client=client_of(self))
        except RateLimited:
            self.resend_message = "We just sent one. Please wait a few minutes before asking again."
        else:
            self.resend_message = "If that address made this request, a new link is on its way."
        return None


def _resend_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Enter the email address you used and we send you a new link.", size="2"),
            text_field(
                id="resend-email",
                name="email",
                label="Your email",
                type="email",
                autocomplete="email",
                required=True,
                error=ConfirmState.resend_error,
            ),
            rx.button("Send a new link", type="submit", id="resend", size="3"),
            rx.cond(
                ConfirmState.resend_message != "",
                rx.text(ConfirmState.resend_message, size="2", id="resend-message", role="status"),
            ),
            width="100%",
            spacing="3",
        ),
        on_submit=ConfirmState.resend,
        no_validate=True,
        reset_on_submit=False,
        id="resend-form",
        width="100%",
    )


def _pairs(rows: rx.Var, id: str) -> rx.Component:
    return rx.data_list.root(
        rx.foreach(rows, lambda r: rx.data_list.item(rx.data_list.label(r[0]), rx.data_list.value(r[1]))),
        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
        id=id,
    )


def _recap() -> rx.Component:
    return rx.vstack(
        rx.cond(
            ConfirmState.niche != "",
            rx.card(
                rx.vstack(
                    rx.heading("Your ", ConfirmState.niche, " request", size="4"),
                    _pairs(ConfirmState.contact, "recap-contact"),
                    rx.cond(ConfirmState.answers.length() > 0, _pairs(ConfirmState.answers, "recap-answers")),
                    spacing="3",
                ),
                width="100%",
                id="confirm-recap",
            ),
        ),
        rx.heading("What happens next", size="4"),
        rx.text(ConfirmState.next_steps, id="confirm-next-steps"),
        rx.text(
            "Nothing to pay: the service is free for you. Only the pros you hear from see your contact details.",
            size="2",
            color_scheme="gray",
        ),
        rx.link("Request another service", href=routes.HOME, size="2"),
        width="100%",
        spacing="3",
    )


def _resend_state(icon: str) -> rx.Component:
    return rx.vstack(
        rx.callout(ConfirmState.message, icon=icon, color_scheme="amber", id="confirm-outcome", width="100%"),
        _resend_form(),
        width="100%",
        spacing="4",
    )


def _outcome() -> rx.Component:
    """What the link did: the recap, a form for a fresh link, or why it cannot work."""
    return rx.match(
        ConfirmState.outcome,
        ("loading", rx.center(rx.spinner(size="3"), padding="4em", class_name="loading")),
        (
            "confirmed",
            rx.vstack(
                rx.callout(ConfirmState.message, icon="circle_check", color_scheme="green", id="confirm-outcome"),
                _recap(),
                width="100%",
                spacing="4",
            ),
        ),
        (
            "already",
            rx.vstack(
                rx.callout(ConfirmState.message, icon="circle_check", color_scheme="blue", id="confirm-outcome"),
                _recap(),
                width="100%",
                spacing="4",
            ),
        ),
        ("expired", _resend_state("clock")),
        ("superseded", _resend_state("mail")),
        rx.vstack(
            rx.callout(ConfirmState.message, icon="triangle_alert", color_scheme="red", id="confirm-outcome"),
            rx.link("See the services we offer", href=routes.HOME),
            width="100%",
            spacing="3",
        ),
    )


@public_page(route=routes.CONFIRM, title="Confirm your request", on_load=ConfirmState.load)
def confirm() -> rx.Component:
    return rx.vstack(
        rx.heading(
            rx.match(
                ConfirmState.outcome,
                ("confirmed", "Your request is confirmed"),
                ("already", "Your request is confirmed"),
                "Confirm your request",
            ),
            size="7",
            as_="h1",
            id="confirm-heading",
        ),
        _outcome(),
        width="100%",
        spacing="4",
    )
