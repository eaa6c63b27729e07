"""Who is calling: the bearer token resolved to a principal, and role checks."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from hotlead_app.domain.errors import Forbidden
from hotlead_app.services import auth


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise auth.NotAuthenticated()
    return token.strip()


SESSION_COOKIE = "hotlead_session"


async def principal_from_bearer_or_cookie(request: Request) -> auth.Principal:
    """The bearer token's principal, else the back office's session cookie's (a sealed
    token: for plain browser links such as CSV downloads and the API docs)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        raw = token.strip()
        return await run_in_threadpool(lambda: auth.authenticate(token=raw))
    sealed = request.cookies.get(SESSION_COOKIE, "")
    if not sealed:
        raise auth.NotAuthenticated()
    return await run_in_threadpool(lambda: auth.authenticate_sealed(sealed=sealed))


async def current_principal(token: str = Depends(bearer_token)) -> auth.Principal:
    return await run_in_threadpool(lambda: auth.authenticate(token=token))


async def require_admin(principal: auth.Principal = Depends(current_principal)) -> auth.Principal:
    if principal.role != "admin":
        raise Forbidden("Only admins may do this.")
    return principal


async def require_provider(principal: auth.Principal = Depends(current_principal)) -> auth.Principal:
    if principal.role != "provider" or principal.provider_id is None:
        raise Forbidden("Only providers may do this.")
    return principal
