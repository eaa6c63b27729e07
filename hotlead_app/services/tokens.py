"""Signed, single-purpose confirmation tokens; only their SHA-256 is stored.

A token is ``<lead id>.<nonce>.<signature>``; the signature is an HMAC of the
purpose, lead id and nonce under the secret key.  The database keeps the token's
hash and the nonce's outbox job; neither alone lets anyone forge a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from hotlead_app.settings import get_settings

PURPOSE = b"lead-confirmation:v1"


def _sign(lead_id: uuid.UUID, nonce: str) -> str:
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, PURPOSE + b":" + lead_id.hex.encode() + b":" + nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def make_token(lead_id: uuid.UUID, nonce: str) -> str:
    return f"{lead_id.hex}.{nonce}.{_sign(lead_id, nonce)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_token(token: str) -> uuid.UUID | None:
    """The lead id a genuine token names, or None for anything tampered or malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    lead_hex, nonce, signature = parts
    try:
        lead_id = uuid.UUID(hex=lead_hex)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(lead_id, nonce)):
        return None
    return lead_id
