"""The signed-in person, shared by every back-office page.

The browser keeps only the opaque session token (a cookie, SameSite=Strict); every
handler that touches private data asks the auth service who it belongs to."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.services import auth


class SessionState(rx.State):
    token: str = rx.Cookie("", name="hotlead_session", same_site="strict", max_age=12 * 3600)
    email: str = ""
    role: str = ""

    def principal(self) -> auth.Principal | None:
        """Who is signed in, or None (an expired or unknown token)."""
        if not self.token:
            return None
        try:
            return auth.authenticate(token=self.token)
        except auth.NotAuthenticated:
            return None

    def _signed_in(self, signed: auth.SignedIn, email: str) -> None:
        self.token = signed.token
        self.role = signed.role
        self.email = email

    @rx.event
    def sign_out(self):
        if self.token:
            auth.logout(token=self.token)
        self.token = ""
        self.email = ""
        self.role = ""
        return rx.redirect(routes.SIGN_IN)
