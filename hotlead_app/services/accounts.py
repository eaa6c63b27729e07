"""Accounts: users with a role and an argon2 password hash."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from passlib.context import CryptContext
from sqlmodel import select

from hotlead_app.db import UnitOfWork, unit_of_work
from hotlead_app.domain.actors import SYSTEM, Actor
from hotlead_app.domain.errors import Conflict, InvalidInput
from hotlead_app.domain.forms import normalize_email
from hotlead_app.models import User, UserRole
from hotlead_app.services import audit

# argon2id parameters pinned (RFC 9106's second recommendation: 64 MiB, 3 passes,
# 4 lanes), so a library upgrade cannot weaken new hashes silently; a stored hash
# made with other parameters still verifies.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_COST_KIB = 65536
ARGON2_PARALLELISM = 4
_passwords = CryptContext(
    schemes=["argon2"],
    deprecated="auto",
    argon2__type="ID",
    argon2__time_cost=ARGON2_TIME_COST,
    argon2__memory_cost=ARGON2_MEMORY_COST_KIB,
    argon2__parallelism=ARGON2_PARALLELISM,
)
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72


@dataclass(frozen=True)
class UserRead:
    id: uuid.UUID
    email: str
    role: UserRole
    provider_id: uuid.UUID | None


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _passwords.verify(password, password_hash)


def _clean(email: object, password: object) -> tuple[str, str]:
    errors: dict[str, str] = {}
    clean_email = ""
    try:
        clean_email = normalize_email(email).lower()
    except ValueError as exc:
        errors["email"] = str(exc)
    if (
        not isinstance(password, str)
        or len(password.encode()) < MIN_PASSWORD
        or len(password.encode()) > MAX_PASSWORD_BYTES
    ):
        errors["password"] = f"between {MIN_PASSWORD} and {MAX_PASSWORD_BYTES} bytes"
    if errors:
        raise InvalidInput("The account is not valid.", details=errors)
    return clean_email, password  # type: ignore[return-value]


def create_user(
    uow: UnitOfWork,
    *,
    email: object,
    password: object,
    role: UserRole,
    provider_id: uuid.UUID | None = None,
    actor: Actor = SYSTEM,
) -> UserRead:
    clean_email, clean_password = _clean(email, password)
    if uow.session.exec(select(User).where(User.email == clean_email)).first() is not None:
        raise Conflict("An account with this email exists.", details={"email": clean_email})
    user = User(email=clean_email, password_hash=hash_password(clean_password), role=role, provider_id=provider_id)
    uow.session.add(user)
    uow.session.flush()
    after = {"email": user.email, "role": user.role.value, "provider_id": str(provider_id) if provider_id else None}
    audit.record(uow, actor=actor, entity_type="user", entity_id=user.id, action="created", before=None, after=after)
    return UserRead(user.id, user.email, user.role, user.provider_id)


def ensure_bootstrap_admin(*, email: str, password: str) -> UserRead | None:
    """Create this admin unless an account with the email exists; None when it did."""
    with unit_of_work() as uow:
        if uow.session.exec(select(User).where(User.email == email.strip().lower())).first() is not None:
            return None
        return create_user(uow, email=email, password=password, role=UserRole.ADMIN)


def create_provider_account(*, name: object, email: object, password: object, actor: Actor):
    """A provider and its first login, in one transaction."""
    from hotlead_app.services import catalog

    clean_email, _ = _clean(email, password)
    with unit_of_work() as uow:
        if uow.session.exec(select(User).where(User.email == clean_email)).first() is not None:
            raise Conflict("An account with this email exists.", details={"email": clean_email})
        provider = catalog.create_provider(name=name, email=clean_email, actor=actor, uow=uow)
        create_user(
            uow, email=clean_email, password=password, role=UserRole.PROVIDER, provider_id=provider.id, actor=actor
        )
        return provider
