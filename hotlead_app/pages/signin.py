"""``/signin``: admins and providers sign in."""

from __future__ import annotations

import asyncio

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.domain.client_address import resolve_ip
from hotlead_app.services import auth
from hotlead_app.services.login_throttle import LoginUnavailable
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.settings import get_settings
from hotlead_app.state.events import event
from hotlead_app.state.session import SessionState


class SignInState(SessionState):
    error: rx.Field[str] = rx.field("")
    busy: rx.Field[bool] = rx.field(False)

    def _client_ip(self) -> str:
        """The browser's address (X-Forwarded-For only from trusted proxies, as the API)."""
        raw = dict(self.router.headers.raw_headers)
        return resolve_ip(
            self.router.session.client_ip or None, raw.get("x-forwarded-for"), get_settings().trusted_proxies
        )

    @event
    async def submit(self, form_data: dict):
        self.busy = True
        yield
        email, password = form_data.get("email", ""), form_data.get("password", "")
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
            self._signed_in(signed, str(email).strip().lower())
            yield rx.redirect(routes.ADMIN_QUEUE if signed.role == "admin" else routes.PROVIDER_HOME)
        finally:
            self.busy = False


@public_page(route=routes.SIGN_IN, title="Sign in")
def signin() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Sign in", size="7"),
            rx.input(name="email", id="signin-email", type="email", placeholder="Email", width="100%", size="3"),
            rx.input(
                name="password",
                id="signin-password",
                type="password",
                placeholder="Password",
                width="100%",
                size="3",
            ),
            rx.cond(
                SignInState.error != "",
                rx.callout(
                    SignInState.error, icon="triangle_alert", color_scheme="red", width="100%", id="signin-error"
                ),
            ),
            rx.button("Sign in", type="submit", loading=SignInState.busy, width="100%", size="3"),
            spacing="4",
            width="100%",
        ),
        on_submit=SignInState.submit,
        reset_on_submit=False,
    )
