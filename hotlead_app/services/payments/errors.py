"""Errors of the payments work."""

from __future__ import annotations

from hotlead_app.domain.errors import DomainError


class ProcessorUnavailable(DomainError):
    """The payment processor could not be reached, refused the call, or is not configured."""

    code = "payment_processor_unavailable"
    default_message = "The payment processor is not reachable right now; please try again in a moment."


class InvalidSignature(DomainError):
    """A webhook whose signature does not verify (or is too old)."""

    code = "invalid_signature"
    default_message = "The webhook signature could not be verified."
