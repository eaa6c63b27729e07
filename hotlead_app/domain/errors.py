"""Business exceptions.

Each names a business fact, carries a stable snake_case ``code`` for API clients,
a ``message`` written for a person, and ``details`` (a dict, JSON-safe) with the
specifics. Entry points translate them into responses; the domain never picks an
HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every business rule violation."""

    code: ClassVar[str] = "domain_error"
    default_message: ClassVar[str] = "The request breaks a business rule."

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None) -> None:
        self.message: str = message or self.default_message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-safe body: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class IllegalTransition(DomainError):
    """A lead was asked to move between two states the state table does not allow,
    or the table's condition for that move does not hold. Details: ``from``, ``to``."""

    code = "illegal_transition"
    default_message = "This lead cannot make that change of status."


class InvalidFilters(DomainError):
    """Subscription filters are malformed. Details map each bad field to a message."""

    code = "invalid_filters"
    default_message = "The subscription filters are not valid."


class InsufficientBalance(DomainError):
    """The entry would take the provider's balance below zero."""

    code = "insufficient_balance"
    default_message = "The balance is too low for this operation."


class InvalidInput(DomainError):
    """A value is malformed. Details map each bad field to a message."""

    code = "invalid_input"
    default_message = "Some values are not valid."


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    default_message = "Not found."


class AlreadyRefunded(DomainError):
    """An assignment is refunded at most once."""

    code = "already_refunded"
    default_message = "This assignment has already been refunded."


class Conflict(DomainError):
    """The request conflicts with the current state of the data."""

    code = "conflict"
    default_message = "The request conflicts with the current state."


class Expired(DomainError):
    """A link or token is genuine but too old (HTTP 410)."""

    code = "expired"
    default_message = "This link has expired."


class Forbidden(DomainError):
    """The caller may not do this."""

    code = "forbidden"
    default_message = "You may not do this."
