"""The operator commands, run as an operator would: a subprocess against the database."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from hotlead_app.settings import PROJECT_ROOT
from tests.factories import unique_email


def _cli(db: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "HOTLEAD_DATABASE_URL": db, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "hotlead_app.cli", *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
    )


def test_create_admin_makes_an_account_that_can_sign_in(db, api_server):
    email = unique_email("ops")
    done = _cli(db, "create-admin", email, "--password-stdin", stdin="a-long-password\n")
    assert done.returncode == 0, done.stderr
    login = httpx.post(f"{api_server}/api/v1/auth/login", json={"email": email, "password": "a-long-password"})
    assert login.status_code == 200 and login.json()["role"] == "admin"
    again = _cli(db, "create-admin", email, "--password-stdin", stdin="a-long-password\n")
    assert again.returncode == 2 and "exists" in again.stderr
    short = _cli(db, "create-admin", unique_email("ops"), "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr
