"""Who does a thing: recorded on every audit row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    role: str  # admin | provider | buyer | system
    id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


SYSTEM = Actor(role="system")
BUYER = Actor(role="buyer")


def admin(user_id: uuid.UUID | None = None) -> Actor:
    return Actor(role="admin", id=user_id)


def provider(provider_id: uuid.UUID, user_id: uuid.UUID | None = None) -> Actor:
    return Actor(role="provider", id=user_id, provider_id=provider_id)
