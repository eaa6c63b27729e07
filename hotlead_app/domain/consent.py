"""The consent a person gives on the form, versioned so evidence names the exact text."""

from __future__ import annotations

from dataclasses import dataclass

CONSENT_VERSION = "2026-11-v1"
CONSENT_TEXT = (
    "By requesting quotes you agree that up to a few service providers in your area may contact "
    "you by email or phone about this request, once you confirm it. We share your request only "
    "with providers who match it."
)
HONEYPOT_FIELD = "website"


@dataclass(frozen=True)
class ClientInfo:
    """Who sent a request, as far as the platform can tell."""

    ip: str = "unknown"
    user_agent: str | None = None
