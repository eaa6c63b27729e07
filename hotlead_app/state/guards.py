"""Page bases that resolve who is signed in, for the admin console and the provider
dashboard.

A page guard only decides where the browser goes: a handler asks for the principal and,
when there is none (signed out, expired, or the wrong role), redirects to sign-in.
Authorization itself stays in the services, which check the actor on every call."""

from __future__ import annotations

import uuid

from hotlead_app.services import auth
from hotlead_app.state.session import SessionState


class AdminPageState(SessionState):
    """Shared by the admin pages: who is signed in, as an admin."""

    def _admin(self) -> auth.Principal | None:
        principal = self.principal()
        if principal is None or principal.role != "admin":
            return None
        return principal

    def _guard(self) -> auth.Principal | None:
        return self._admin()


class ProviderPageState(SessionState):
    """Shared by the provider pages: who is signed in, as a provider."""

    def provider(self) -> auth.Principal | None:
        principal = self.principal()
        if principal is None or principal.role != "provider" or principal.provider_id is None:
            return None
        return principal

    def provider_id(self) -> uuid.UUID | None:
        principal = self.provider()
        return principal.provider_id if principal else None

    def _guard(self) -> auth.Principal | None:
        return self.provider()
