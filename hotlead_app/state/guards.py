"""Page bases that resolve who is signed in, for the admin console and the provider
dashboard.

A page guard only decides where the browser goes: a handler asks for the principal and,
when there is none (signed out, expired, or the wrong role), redirects to sign-in.
Authorization itself stays in the services, which check the actor on every call.

``@guarded`` (under ``@event``, :mod:`hotlead_app.state.events`) writes that check once: the handler is declared as
``def handler(self, principal, ...)`` and runs only with a principal."""

from __future__ import annotations

import functools
import inspect
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.services import auth
from hotlead_app.state.events import event
from hotlead_app.state.session import SessionState


class _PageGuard(rx.State, mixin=True):
    """The guard the page decorators (``components/page.py``) put first in on-load;
    mixed into the admin and provider bases (``_guard()`` says who may see the page)."""

    def _guard(self) -> auth.Principal | None:  # pragma: no cover - every base defines it
        raise NotImplementedError

    def _refuse(self):
        """Where a visitor without the page's principal goes: sign-in, which brings them
        back here after (``?next=``); or, when signed in with the other role, the page
        that says this one is not for that account."""
        url = self.router.url
        here = (url.path.rstrip("/") or "/") + (f"?{url.query}" if url.query else "")
        if isinstance(self, SessionState) and self.principal() is not None:
            return rx.redirect(routes.with_next(routes.WRONG_ACCOUNT, here))
        return rx.redirect(routes.with_next(routes.SIGN_IN, here))

    @event
    def require(self):
        """Send the browser to sign-in (or the wrong-account page) unless the page's
        principal is signed in."""
        if self._guard() is None:
            return self._refuse()
        return None


class AdminPageState(_PageGuard, SessionState):
    """Shared by the admin pages: who is signed in, as an admin."""

    def _guard(self) -> auth.Principal | None:
        principal = self.principal()
        if principal is None or principal.role != "admin":
            return None
        return principal


class ProviderPageState(_PageGuard, SessionState):
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


def guarded(fn):
    """Run the event handler ``fn(self, principal, *args)`` with the principal of the
    page's ``_guard()``; without one, redirect to sign-in and do nothing else.

    The handler Reflex sees has ``fn``'s signature without ``principal`` (the arguments
    the page sends are unchanged), and stays a generator when ``fn`` is one."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def handler(self, *args, **kwargs):
            principal = self._guard()
            if principal is None:
                yield self._refuse()
                return
            yield from fn(self, principal, *args, **kwargs)
    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def handler(self, *args, **kwargs):
            principal = self._guard()
            if principal is None:
                return self._refuse()
            return await fn(self, principal, *args, **kwargs)
    else:

        @functools.wraps(fn)
        def handler(self, *args, **kwargs):
            principal = self._guard()
            if principal is None:
                return self._refuse()
            return fn(self, principal, *args, **kwargs)

    signature = inspect.signature(fn)
    self_param, _principal, *rest = signature.parameters.values()
    handler.__signature__ = signature.replace(parameters=[self_param, *rest])
    return handler
