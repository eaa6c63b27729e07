"""Which address a request comes from: X-Forwarded-For is believed only from trusted proxies.

The rule serves the REST api (``api/client.py``) and the Reflex pages alike (the public form
records the submitter's address for consent), so it lives here, below both.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


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
