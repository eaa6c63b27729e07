"""The client behind a request: its address (X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

from starlette.requests import Request

from hotlead_app.domain.client_address import resolve_ip
from hotlead_app.domain.consent import ClientInfo
from hotlead_app.settings import get_settings


def client_info(request: Request) -> ClientInfo:
    peer = request.client.host if request.client else None
    ip = resolve_ip(peer, request.headers.get("x-forwarded-for"), get_settings().trusted_proxies)
    return ClientInfo(ip=ip, user_agent=request.headers.get("user-agent"))
