"""The client behind a request: its address (X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import Request

from hotlead_app.domain.consent import ClientInfo
from hotlead_app.settings import get_settings


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, spec: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(spec))


def resolve_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: str) -> str:
    """Walk X-Forwarded-For from the right while the hop is a trusted proxy."""
    address = peer or "unknown"
    if not forwarded_for or not trusted_proxies or not _trusted(address, trusted_proxies):
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops:
        candidate = hops.pop()
        if not _trusted(candidate, trusted_proxies):
            return candidate
        address = candidate
    return address


def client_info(request: Request) -> ClientInfo:
    peer = request.client.host if request.client else None
    ip = resolve_ip(peer, request.headers.get("x-forwarded-for"), get_settings().trusted_proxies)
    return ClientInfo(ip=ip, user_agent=request.headers.get("user-agent"))
