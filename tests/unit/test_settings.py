"""Settings refuse to run production on development secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hotlead_app.settings import DEFAULT_SECRET_KEY, Settings


def test_dev_runs_on_the_default_secret():
    assert Settings(env="dev").secret_key == DEFAULT_SECRET_KEY


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_prod_and_staging_refuse_the_default_secret(env):
    with pytest.raises(ValidationError, match="HOTLEAD_SECRET_KEY"):
        Settings(env=env, bootstrap_admin_password="a-real-password-123")


def test_prod_refuses_a_short_secret_and_the_default_admin_password():
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(env="prod", secret_key="short", bootstrap_admin_password="a-real-password-123")
    with pytest.raises(ValidationError, match="BOOTSTRAP_ADMIN_PASSWORD"):
        Settings(env="prod", secret_key="x" * 40)


def test_prod_starts_with_real_secrets(monkeypatch):
    monkeypatch.setenv("HOTLEAD_ENV", "prod")
    monkeypatch.setenv("HOTLEAD_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD", "a-real-password-123")
    monkeypatch.setenv("HOTLEAD_SMTP_URL", "smtp://mail.example.com:587")
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)  # the tests' stand-in key is test-mode
    monkeypatch.delenv("PAYPAL_CLIENT_ID", raising=False)
    settings = Settings()
    assert settings.env == "prod" and not settings.is_dev
