"""The signed-in person, shared by every back-office page.

The browser keeps the session token only **sealed** (``auth.seal_token``: AES-GCM
under the secret key) in a cookie (SameSite=Strict, ``Secure`` outside dev); Reflex
holds the same sealed value in its state (Redis), so neither holds a token the API
accepts as a bearer token.  Every handler that touches private data asks the auth
service who the sealed token belongs to."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.services import auth
from hotlead_app.settings import get_settings
from hotlead_app.state.events import event

_settings = get_settings()


class SessionState(rx.State):
    # The sealed session token (never the raw one).
    token: str = rx.Cookie(
        "",
        name="hotlead_session",
        same_site="strict",
        secure=not _settings.is_dev,
        max_age=int(_settings.session_absolute_hours * 3600),
    )
    email: rx.Field[str] = rx.field("")
    role: rx.Field[str] = rx.field("")

    def principal(self) -> auth.Principal | None:
        """Who is signed in, or None (an expired, ended or unknown session)."""
        if not self.token:
            return None
        try:
            return auth.authenticate_sealed(sealed=self.token)
        except auth.NotAuthenticated:
            return None

    def _signed_in(self, signed: auth.SignedIn, email: str) -> None:
        self.token = auth.seal_token(signed.token)
        self.role = signed.role
        self.email = email

    def _forget(self):
        self.token = ""
        self.email = ""
        self.role = ""
        return rx.redirect(routes.SIGN_IN)

    @event
    def sign_out(self):
        if self.token:
            auth.logout_sealed(sealed=self.token)
        return self._forget()

    @event
    def sign_out_everywhere(self):
        """End every session of this account (other browsers, API logins), then this one."""
        principal = self.principal()
        if principal is not None:
            auth.logout_everywhere(principal=principal)
        return self._forget()
