"""The back office's cookie (and Reflex's state) hold the session token sealed, never raw."""

from __future__ import annotations

import pytest

from hotlead_app.services import auth
from hotlead_app.settings import get_settings


def test_a_sealed_token_opens_only_with_our_key_and_unaltered():
    token = "raw-session-token-" + "x" * 30
    sealed = auth.seal_token(token)
    assert token not in sealed and sealed != auth.seal_token(token)  # a fresh nonce each time
    assert auth.unseal_token(sealed) == token
    altered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (altered, token, "", "s1.", "s1.!!!", None, 42, "s1." + "A" * 500):
        assert auth.unseal_token(bad) is None, bad


def test_another_secret_key_cannot_open_it(monkeypatch):
    sealed = auth.seal_token("token-under-the-dev-key")
    monkeypatch.setenv("HOTLEAD_SECRET_KEY", "another-secret-key-" + "z" * 20)
    get_settings.cache_clear()
    try:
        assert auth.unseal_token(sealed) is None
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_sealed_api_key_is_not_a_session():
    with pytest.raises(auth.NotAuthenticated):
        auth.authenticate_sealed(sealed=auth.seal_token(auth.API_KEY_PREFIX + "abc"))
