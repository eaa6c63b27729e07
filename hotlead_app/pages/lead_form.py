"""``/n/[slug]``: the public form through which a person requests a service."""

from __future__ import annotations

from dataclasses import dataclass, field

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.fields import focus_first_invalid, select_field, text_field
from hotlead_app.components.page import public_page
from hotlead_app.domain.consent import CONSENT_TEXT, CONSENT_VERSION, HONEYPOT_FIELD
from hotlead_app.domain.errors import DomainError, InvalidInput, NotFound
from hotlead_app.domain.forms import normalize_email, normalize_field, normalize_name, normalize_phone
from hotlead_app.services import intake
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.state.client import client_of
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field


@dataclass
class FormField:
    name: str
    label: str
    type: str
    required: bool
    options: list[str] = field(default_factory=list)


class LeadFormState(rx.State):
    niche_name: rx.Field[str] = rx.field("")
    name_required: rx.Field[bool] = rx.field(False)
    # "up to N providers contact you": the most providers a lead of this niche can go to
    max_providers: rx.Field[int] = rx.field(0)
    niche_found: rx.Field[bool] = rx.field(True)
    loading: rx.Field[bool] = rx.field(True)
    fields: rx.Field[list[FormField]] = rx.field(default_factory=list)
    errors: ObjectField[dict[str, str]] = object_field(dict)
    form_error: rx.Field[str] = rx.field("")
    submitting: rx.Field[bool] = rx.field(False)
    submitted: rx.Field[bool] = rx.field(False)
    submitted_email: rx.Field[str] = rx.field("")
    lead_id: rx.Field[str] = rx.field("")
    resend_message: rx.Field[str] = rx.field("")
    referrer: rx.Field[str] = rx.field("")

    def _slug(self) -> str:
        """The niche slug from the URL path /n/<slug>."""
        return str(self.router.url.path).rstrip("/").rsplit("/", 1)[-1]

    @event
    def set_referrer(self, value: str):
        self.referrer = value if isinstance(value, str) else ""

    @event
    def load(self):
        self.loading = True
        self.submitted = False
        self.resend_message = ""
        self.errors = {}
        self.form_error = ""
        slug = self._slug()
        try:
            niche = intake.get_niche(slug=slug)
        except NotFound:
            self.niche_found = False
            self.loading = False
            return
        self.niche_found = True
        self.niche_name = niche.name
        self.name_required = niche.name_required
        self.max_providers = intake.max_providers_per_lead(niche_id=niche.id)
        self.fields = [
            FormField(
                name=f["name"],
                label=f.get("label") or f["name"],
                type=f["type"],
                required=bool(f.get("required")),
                options=[str(o) for o in f.get("options") or []],
            )
            for f in niche.fields
        ]
        self.loading = False
        return rx.call_script("document.referrer", callback=LeadFormState.set_referrer)

    def _attribution(self) -> tuple[dict[str, str], str | None]:
        query = self.router.url.query_parameters
        utm = {k: v for k, v in query.items() if k.startswith("utm_")}
        return utm, query.get("partner")

    @event
    def submit(self, form_data: dict):
        self.submitting = True
        yield
        slug = self._slug()
        payload = {f.name: form_data.get(f"payload.{f.name}", "") for f in self.fields}
        utm, partner = self._attribution()
        referrer = self.referrer if self.referrer.startswith(("http://", "https://")) else None
        try:
            lead = intake.submit_lead(
                niche_slug=slug,
                name=form_data.get("name", ""),
                email=form_data.get("email", ""),
                phone=form_data.get("phone", ""),
                payload=payload,
                referrer_url=referrer,
                utm_params=utm or None,
                partner_code=partner,
                honeypot=form_data.get(HONEYPOT_FIELD, ""),
                client=client_of(self),
            )
        except RateLimited:
            self.errors = {}
            self.form_error = "You have sent several requests in a short time. Please wait a minute and try again."
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.form_error = exc.message
            yield focus_first_invalid("lead-form")
        except DomainError as exc:
            self.errors = {}
            self.form_error = exc.message
        else:
            self.errors = {}
            self.form_error = ""
            self.submitted_email = str(form_data.get("email", "")).strip()
            self.lead_id = str(lead.id)
            self.submitted = True
        finally:
            self.submitting = False

    @event
    def check_field(self, name: str, value: str):
        """Validate one field as the person leaves it, with the service's own rules."""
        errors = dict(self.errors)
        errors.pop(name, None)
        blank = not str(value or "").strip()
        try:
            if name == "name":
                if self.name_required and blank:
                    raise ValueError("Enter your name.")
                normalize_name(value)
            elif name == "email":
                normalize_email(value)
            elif name == "phone":
                if not blank:
                    normalize_phone(value)
            else:
                field = next((f for f in self.fields if "payload." + f.name == name), None)
                if field is not None and not blank:
                    normalize_field({"type": field.type, "options": field.options}, value)
        except ValueError as exc:
            errors[name] = str(exc)
        self.errors = errors

    @event
    def resend(self):
        try:
            intake.resend_confirmation(email=self.submitted_email, lead_id=self.lead_id, client=client_of(self))
        except RateLimited:
            self.resend_message = "We just sent one. Please wait a few minutes before asking again."
        else:
            self.resend_message = "Sent again. The previous link no longer works."


def _input(name: str, label: str, kind: str, required: bool | rx.Var, autocomplete: str) -> rx.Component:
    return text_field(
        id=name,
        label=label,
        type=kind,
        required=required,
        autocomplete=autocomplete,
        error=LeadFormState.errors.get(name, ""),
        on_blur=lambda value: LeadFormState.check_field(name, value),
    )


def _payload_field(f: FormField) -> rx.Component:
    name = "payload." + f.name
    error = LeadFormState.errors.get(name, "")
    return rx.cond(
        f.type == "select",
        select_field(
            id=name,
            label=f.label,
            options=f.options,
            required=f.required,
            error=error,
            on_change=lambda value: LeadFormState.check_field(name, value),
        ),
        text_field(
            id=name,
            label=f.label,
            type=rx.match(f.type, ("number", "text"), ("email", "email"), ("phone", "tel"), "text"),
            input_mode=rx.match(f.type, ("number", "decimal"), ("zip", "numeric"), ("phone", "tel"), "text"),
            autocomplete=rx.match(f.type, ("zip", "postal-code"), ("email", "email"), ("phone", "tel"), "on"),
            required=f.required,
            error=error,
            on_blur=lambda value: LeadFormState.check_field(name, value),
        ),
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _input("name", "Your name", "text", LeadFormState.name_required, "name"),
            _input("email", "Email", "email", True, "email"),
            _input("phone", "Phone", "tel", False, "tel"),
            rx.foreach(LeadFormState.fields, _payload_field),
            # A field people never see: bots fill it, and their request is dropped.
            rx.el.input(
                name=HONEYPOT_FIELD,
                type="text",
                tab_index=-1,
                auto_complete="off",
                aria_hidden="true",
                style={"position": "absolute", "left": "-10000px", "width": "1px", "height": "1px", "opacity": "0"},
            ),
            rx.text(
                CONSENT_TEXT, size="1", color_scheme="gray", id="consent-text", data_consent_version=CONSENT_VERSION
            ),
            rx.cond(
                LeadFormState.form_error != "",
                rx.callout(LeadFormState.form_error, icon="triangle_alert", color_scheme="red", width="100%"),
            ),
            rx.button(
                rx.cond(LeadFormState.submitting, "Sending…", "Request quotes"),
                type="submit",
                size="3",
                loading=LeadFormState.submitting,
                disabled=LeadFormState.submitting,
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=LeadFormState.submit,
        reset_on_submit=False,
        # Our own validation speaks next to each field; the browser's bubbles would
        # block the submit before the server could say anything.
        no_validate=True,
        id="lead-form",
    )


def _confirmation() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "Thanks! Check your inbox: we sent a confirmation link to ",
                rx.text.strong(LeadFormState.submitted_email),
                ". Your request goes to providers once you confirm it.",
            ),
            icon="mail_check",
            color_scheme="green",
            id="lead-submitted",
            width="100%",
        ),
        rx.hstack(
            rx.text("No email after a few minutes?", size="2"),
            rx.button("Send it again", on_click=LeadFormState.resend, variant="soft", size="2", id="resend"),
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            LeadFormState.resend_message != "", rx.text(LeadFormState.resend_message, size="2", id="resend-message")
        ),
        width="100%",
    )


@public_page(route=routes.LEAD_FORM, title="Request a service", on_load=LeadFormState.load)
def lead_form() -> rx.Component:
    return rx.cond(
        LeadFormState.loading,
        rx.center(rx.spinner(size="3"), padding="4em"),
        rx.cond(
            LeadFormState.niche_found,
            rx.vstack(
                rx.heading("Get ", LeadFormState.niche_name, " quotes", size="7"),
                rx.text(
                    "Tell us what you need. Once you confirm your email and we check the request, ",
                    rx.cond(
                        LeadFormState.max_providers > 0,
                        rx.text.span("up to ", LeadFormState.max_providers, " local pros"),
                        rx.text.span("local pros"),
                    ),
                    " contact you.",
                    color_scheme="gray",
                    id="form-intro",
                ),
                rx.cond(LeadFormState.submitted, _confirmation(), _form()),
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                rx.heading("We don't offer that service", size="6"),
                rx.link("See the services we offer", href=routes.HOME),
            ),
        ),
    )
