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


COOKIE_PROBE = """
import json, warnings
warnings.simplefilter("ignore")
from hotlead_app.state.session import SessionState
cookie = SessionState.get_fields()["token"].default
print(json.dumps({"name": cookie.name, "secure": cookie.secure, "same_site": cookie.same_site}))
"""


@pytest.mark.parametrize(
    "env,secure",
    [
        ({"HOTLEAD_ENV": "dev"}, False),
        (
            {
                "HOTLEAD_ENV": "staging",
                "HOTLEAD_SECRET_KEY": "s" * 48,
                "HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD": "a-real-admin-password",
            },
            True,
        ),
    ],
)
def test_the_session_cookie_is_secure_outside_dev(env, secure):
    import json
    import os
    import subprocess
    import sys

    from hotlead_app.settings import PROJECT_ROOT

    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLEAD_")}
    out = subprocess.run(
        [sys.executable, "-c", COOKIE_PROBE],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cookie = json.loads(out.stdout.strip().splitlines()[-1])
    assert cookie == {"name": "hotlead_session", "secure": secure, "same_site": "strict"}
