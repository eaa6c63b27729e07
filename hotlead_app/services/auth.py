"""Sign-in: server-side sessions behind opaque bearer tokens (only their hash is stored)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlmodel import col, select

from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError, Forbidden, NotFound
from hotlead_app.models import ApiKey, AuthSession, User
from hotlead_app.models._types import utcnow
from hotlead_app.services import accounts, audit, login_throttle
from hotlead_app.settings import get_settings

# A session ends ``session_absolute_hours`` after sign-in whatever happens, and
# ``session_idle_minutes`` after it was last used (``expires_at`` is that idle deadline,
# moved forward on use, at most once per RENEW_STEP, never past the absolute end).
RENEW_STEP = timedelta(seconds=60)
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

    @property
    def own_provider_id(self) -> uuid.UUID:
        """The provider this principal acts for; only a provider's session or key has one."""
        if self.provider_id is None:
            raise Forbidden("Only a provider account can do this.")
        return self.provider_id


@dataclass(frozen=True)
class SignedIn:
    token: str
    role: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(*, email: object, password: object, client_ip: str = "unknown") -> SignedIn:
    """Same answer for an unknown email and a wrong password.  The attempt is counted
    (``login_throttle``) before the password is checked: 429 past the limits per
    (email, client address) and per client address, a delay past the per-email one,
    503 when the counters cannot be reached."""
    bad = NotAuthenticated("Wrong email or password.")
    if not isinstance(email, str) or not isinstance(password, str) or len(password.encode()) > 1024:
        raise bad
    key = email.strip().lower()[:255]
    attempt = login_throttle.count(key, client_ip or "unknown")
    login_throttle.wait(attempt)
    with unit_of_work() as uow:
        user = uow.session.exec(select(User).where(User.email == key)).first()
        if user is None:
            accounts.verify_password(password, _DUMMY_HASH)
        if user is None or not accounts.verify_password(password, user.password_hash) or not user.active:
            raise bad
        token = secrets.token_urlsafe(32)
        absolute, idle = _lifetimes()
        expires_at = utcnow() + min(absolute, idle)
        role = user.role.value
        uow.session.add(AuthSession(token_hash=_hash(token), user_id=user.id, expires_at=expires_at))
    login_throttle.refund(attempt)
    return SignedIn(token=token, role=role, expires_at=expires_at)


API_KEY_PREFIX = "hlk_"


def authenticate(*, token: str) -> Principal:
    if not token or len(token) > 200:
        raise NotAuthenticated()
    if token.startswith(API_KEY_PREFIX):
        return _authenticate_key(token)
    now = utcnow()
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(AuthSession, User)
            .join(User, col(User.id) == col(AuthSession.user_id))
            .where(AuthSession.token_hash == _hash(token))
        ).first()
        if row is None:
            raise NotAuthenticated()
        session, user = row
        absolute, idle = _lifetimes()
        ends_at = session.created_at + absolute
        if session.revoked_at is not None or session.expires_at <= now or ends_at <= now or not user.active:
            raise NotAuthenticated("Your session has ended; sign in again.")
        renewed = min(now + idle, ends_at)
        # Moved forward on use (at most once per RENEW_STEP); down when the settings shrank.
        if renewed - session.expires_at >= RENEW_STEP or renewed < session.expires_at:
            session.expires_at = renewed
            uow.session.add(session)
        return Principal(user.id, user.email, user.role.value, user.provider_id, session.id)


def _lifetimes() -> tuple[timedelta, timedelta]:
    settings = get_settings()
    return timedelta(hours=settings.session_absolute_hours), timedelta(minutes=settings.session_idle_minutes)


def logout(*, token: str) -> None:
    with unit_of_work() as uow:
        session = uow.session.exec(select(AuthSession).where(AuthSession.token_hash == _hash(token))).first()
        if session is not None and session.revoked_at is None:
            session.revoked_at = utcnow()
            uow.session.add(session)


def logout_everywhere(*, principal: Principal) -> int:
    """End every live session of the principal's user (every browser and API client
    signed in with the password; API keys are revoked on their own).  How many ended."""
    now = utcnow()
    with unit_of_work() as uow:
        live = uow.session.exec(
            select(AuthSession).where(
                AuthSession.user_id == principal.user_id,
                col(AuthSession.revoked_at).is_(None),
                col(AuthSession.expires_at) > now,
            )
        ).all()
        for session in live:
            session.revoked_at = now
            uow.session.add(session)
        audit.record(
            uow,
            actor=principal.actor,
            entity_type="user",
            entity_id=principal.user_id,
            action="signed_out_everywhere",
            before=None,
            after={"sessions_ended": len(live)},
        )
        return len(live)


# --------------------------------------------------------------------------- sealed tokens
# The back office keeps the session token in a cookie that Reflex also holds in its
# state (Redis).  It keeps the token *sealed* there: AES-GCM under a key derived from
# HOTLEAD_SECRET_KEY, so Redis never holds a token the API accepts as a bearer token.
# A sealed token is accepted only where the cookie is (pages, CSV downloads, the docs).

_SEAL_PREFIX = "s1."
_SEAL_AAD = b"hotlead session cookie v1"


@lru_cache(maxsize=4)
def _sealer(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hotlead session seal v1").derive(
        secret_key.encode()
    )
    return AESGCM(key)


def seal_token(token: str) -> str:
    nonce = os.urandom(12)
    sealed = _sealer(get_settings().secret_key).encrypt(nonce, token.encode(), _SEAL_AAD)
    return _SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal_token(sealed: object) -> str | None:
    """The token inside, or None (not sealed by us with this secret key, or altered)."""
    if not isinstance(sealed, str) or not sealed.startswith(_SEAL_PREFIX) or len(sealed) > 400:
        return None
    body = sealed[len(_SEAL_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return _sealer(get_settings().secret_key).decrypt(raw[:12], raw[12:], _SEAL_AAD).decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None


def authenticate_sealed(*, sealed: str) -> Principal:
    token = unseal_token(sealed)
    if token is None or token.startswith(API_KEY_PREFIX):
        raise NotAuthenticated()
    return authenticate(token=token)


def logout_sealed(*, sealed: str) -> None:
    token = unseal_token(sealed)
    if token is not None:
        logout(token=token)


# --------------------------------------------------------------------------- API keys


@dataclass(frozen=True)
class ApiKeyRead:
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    id: uuid.UUID
    key: str  # shown once


def _authenticate_key(token: str) -> Principal:
    with unit_of_work() as uow:
        row = uow.session.exec(
            select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id)).where(ApiKey.key_hash == _hash(token))
        ).first()
        if row is None:
            raise NotAuthenticated("This API key is not valid.")
        key, user = row
        if key.revoked_at is not None or not user.active:
            raise NotAuthenticated("This API key was revoked.")
        now = utcnow()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            key.last_used_at = now
            uow.session.add(key)
        return Principal(user.id, user.email, user.role.value, key.provider_id, key.id)


def create_api_key(*, principal: Principal, name: object = None) -> NewApiKey:
    label = name.strip()[:100] if isinstance(name, str) and name.strip() else "API key"
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    with unit_of_work() as uow:
        key = ApiKey(
            provider_id=principal.own_provider_id,
            user_id=principal.user_id,
            name=label,
            prefix=token[:12],
            key_hash=_hash(token),
        )
        uow.session.add(key)
        uow.session.flush()
        audit.record(
            uow,
            actor=principal.actor,
            entity_type="api_key",
            entity_id=key.id,
            action="created",
            before=None,
            after={"name": label, "prefix": key.prefix},
        )
        return NewApiKey(key.id, token)


def list_api_keys(*, provider_id: uuid.UUID) -> list[ApiKeyRead]:
    with unit_of_work() as uow:
        keys = uow.session.exec(
            select(ApiKey).where(ApiKey.provider_id == provider_id).order_by(col(ApiKey.created_at).desc())
        ).all()
        return [ApiKeyRead(k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at) for k in keys]


def revoke_api_key(*, principal: Principal, key_id: uuid.UUID) -> None:
    with unit_of_work() as uow:
        key = uow.session.get(ApiKey, key_id)
        if key is None or key.provider_id != principal.provider_id:
            raise NotFound("No such API key.", details={"key_id": str(key_id)})
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            uow.session.add(key)
            audit.record(
                uow,
                actor=principal.actor,
                entity_type="api_key",
                entity_id=key.id,
                action="revoked",
                before=None,
                after={"prefix": key.prefix},
            )
