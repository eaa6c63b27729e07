"""``/signin``: admins and providers sign in."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.page import public_page
from hotlead_app.services import auth
from hotlead_app.services.ratelimit import RateLimited
from hotlead_app.state.session import SessionState


class SignInState(SessionState):
    error: str = ""
    busy: bool = False

    @rx.event
    def submit(self, form_data: dict):
        self.busy = True
        yield
        try:
            signed = auth.login(email=form_data.get("email", ""), password=form_data.get("password", ""))
        except RateLimited:
            self.error = "Too many failed attempts for this account; wait a few minutes."
        except auth.NotAuthenticated as exc:
            self.error = exc.message
        else:
            self.error = ""
            self.token = signed.token
            self.role = signed.role
            self.email = str(form_data.get("email", "")).strip().lower()
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
