"""Sign-in: server-side sessions behind opaque bearer tokens (only their hash is stored)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError
from hotlead_app.models import AuthSession, User
from hotlead_app.models._types import utcnow
from hotlead_app.services import accounts

SESSION_TTL = timedelta(hours=12)
# A session used within its last half is renewed (sliding expiry).
RENEW_WHEN_LEFT = SESSION_TTL / 2
# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = accounts.hash_password("not-a-real-password")


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    default_message = "Sign in first."


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    email: str
    role: str
    provider_id: uuid.UUID | None
    session_id: uuid.UUID

    @property
    def actor(self) -> Actor:
        return Actor(role=self.role, id=self.user_id, provider_id=self.provider_id)


@dataclass(frozen=True)
class SignedIn:
    token: str
    role: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(*, email: object, password: object) -> SignedIn:
    """Same answer for an unknown email and a wrong password."""
    bad = NotAuthenticated("Wrong email or password.")
    if not isinstance(email, str) or not isinstance(password, str) or len(password.encode()) > 1024:
        raise bad
    with unit_of_work() as uow:
        user = uow.session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            accounts.verify_password(password, _DUMMY_HASH)
            raise bad
        if not accounts.verify_password(password, user.password_hash) or not user.active:
            raise bad
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + SESSION_TTL
        uow.session.add(AuthSession(token_hash=_hash(token), user_id=user.id, expires_at=expires_at))
        return SignedIn(token=token, role=user.role.value, expires_at=expires_at)


def authenticate(*, token: str) -> Principal:
    if not token or len(token) > 200:
        raise NotAuthenticated()
    now = utcnow()
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(AuthSession, User)
            .join(User, User.id == AuthSession.user_id)
            .where(AuthSession.token_hash == _hash(token))
        ).first()
        if row is None:
            raise NotAuthenticated()
        session, user = row
        if session.revoked_at is not None or session.expires_at <= now or not user.active:
            raise NotAuthenticated("Your session has ended; sign in again.")
        if session.expires_at - now < RENEW_WHEN_LEFT:
            session.expires_at = now + SESSION_TTL
            uow.session.add(session)
        return Principal(user.id, user.email, user.role.value, user.provider_id, session.id)


def logout(*, token: str) -> None:
    with unit_of_work() as uow:
        session = uow.session.exec(select(AuthSession).where(AuthSession.token_hash == _hash(token))).first()
        if session is not None and session.revoked_at is None:
            session.revoked_at = utcnow()
            uow.session.add(session)
