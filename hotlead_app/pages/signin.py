"""``/signin``: admins and providers sign in.

Labelled fields (an empty one says what to enter, not "wrong email or password"), and
after signing in the page that sent the person here (``?next=``: a same-origin path of
the role's own pages, :func:`hotlead_app.domain.redirects.safe_next`), else the role's
landing page."""

from __future__ import annotations

import asyncio

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.fields import focus_first_invalid, text_field
from hotlead_app.components.page import public_page
from hotlead_app.domain.client_address import resolve_ip
from hotlead_app.domain.redirects import path_of, safe_next
from hotlead_app.services import auth
from hotlead_app.services.login_throttle import LoginUnavailable
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.settings import get_settings
from hotlead_app.state.events import event
from hotlead_app.state.session import SessionState


def landing_after_sign_in(role: str, next_value: object) -> str:
    """``next`` when it is a safe same-origin path among ``role``'s pages, else the
    role's landing page."""
    target = safe_next(next_value)
    if target is not None and routes.in_area(role, path_of(target)):
        return target
    return routes.landing(role)


class SignInState(SessionState):
    error: rx.Field[str] = rx.field("")
    email_error: rx.Field[str] = rx.field("")
    password_error: rx.Field[str] = rx.field("")
    busy: rx.Field[bool] = rx.field(False)

    def _client_ip(self) -> str:
        """The browser's address (X-Forwarded-For only from trusted proxies, as the API)."""
        raw = dict(self.router.headers.raw_headers)
        return resolve_ip(
            self.router.session.client_ip or None, raw.get("x-forwarded-for"), get_settings().trusted_proxies
        )

    @event
    def reset_messages(self):
        self.error, self.email_error, self.password_error = "", "", ""

    @event
    async def submit(self, form_data: dict):
        email, password = str(form_data.get("email", "") or ""), str(form_data.get("password", "") or "")
        self.error = ""
        self.email_error = "" if email.strip() else "Enter your email."
        self.password_error = "" if password else "Enter your password."
        if self.email_error or self.password_error:
            yield focus_first_invalid("signin-form")
            return
        self.busy = True
        yield
        ip = self._client_ip()
        try:
            # In a thread: the throttle may make this attempt wait.
            signed = await asyncio.to_thread(auth.login, email=email, password=password, client_ip=ip)
        except RateLimited:
            self.error = "Too many sign-in attempts; wait a few minutes and try again."
        except LoginUnavailable:
            self.error = "Sign-in is unavailable for a moment; please try again shortly."
        except auth.NotAuthenticated as exc:
            self.error = exc.message
        else:
            self.error = ""
            self._signed_in(signed, email.strip().lower())
            next_value = self.router.url.query_parameters.get("next", "")
            yield rx.redirect(landing_after_sign_in(signed.role, next_value))
        finally:
            self.busy = False


@public_page(route=routes.SIGN_IN, title="Sign in", on_load=SignInState.reset_messages)
def signin() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Sign in", size="7", as_="h1"),
            rx.text(
                "For service providers and the team. Looking for a pro? ",
                rx.link("Start here", href="/", underline="always"),
                size="2",
            ),
            text_field(
                id="signin-email",
                name="email",
                label="Email",
                type="email",
                autocomplete="username",
                required=True,
                error=SignInState.email_error,
            ),
            text_field(
                id="signin-password",
                name="password",
                label="Password",
                type="password",
                autocomplete="current-password",
                required=True,
                error=SignInState.password_error,
            ),
            rx.cond(
                SignInState.error != "",
                rx.callout(
                    SignInState.error,
                    icon="triangle_alert",
                    color_scheme="red",
                    width="100%",
                    id="signin-error",
                    role="alert",
                ),
            ),
            rx.button("Sign in", type="submit", loading=SignInState.busy, width="100%", size="3"),
            spacing="4",
            width="100%",
        ),
        on_submit=SignInState.submit,
        reset_on_submit=False,
        no_validate=True,
        id="signin-form",
    )
