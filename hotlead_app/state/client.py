"""The client behind a Reflex event: the person's address (X-Forwarded-For only from
trusted proxies, the rule of ``domain.client_address``) and browser, as the API would
see them. Shared by the public form and the confirmation page."""

from __future__ import annotations

import reflex as rx

from hotlead_app.domain.client_address import resolve_ip
from hotlead_app.domain.consent import ClientInfo
from hotlead_app.settings import get_settings


def client_of(state: rx.State) -> ClientInfo:
    """The person's address and browser, as the API would see them."""
    router = state.router
    forwarded = router.headers.raw_headers.get("x-forwarded-for")
    ip = resolve_ip(router.session.client_ip or None, forwarded, get_settings().trusted_proxies)
    return ClientInfo(ip=ip, user_agent=router.headers.user_agent or None)
