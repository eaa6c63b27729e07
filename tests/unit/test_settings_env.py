"""HOTLEAD_ENV: prod refuses development and test set-ups, staging refuses live payment
keys, dev runs on the defaults.  Each rule is checked through the environment, as the
platform reads it at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hotlead_app.settings import DEFAULT_SECRET_KEY, DEFAULT_SMTP_URL, Settings

PROD_OK = {
    "HOTLEAD_ENV": "prod",
    "HOTLEAD_SECRET_KEY": "p" * 48,
    "HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD": "a-real-admin-password",
    "HOTLEAD_SMTP_URL": "smtps://mailer:pw@smtp.example.com:465",
    "STRIPE_API_KEY": "sk_live_abc123",
    "PAYPAL_CLIENT_ID": "live-client",
    "PAYPAL_API_BASE": "",
}
STAGING_OK = {
    **PROD_OK,
    "HOTLEAD_ENV": "staging",
    "HOTLEAD_SMTP_URL": "smtp://maildev:1025",
    "STRIPE_API_KEY": "sk_test_abc123",
    "PAYPAL_CLIENT_ID": "sandbox-client",
    "PAYPAL_API_BASE": "https://api-m.sandbox.paypal.com",
}
ALL_KEYS = set(PROD_OK) | {"STRIPE_API_BASE", "HOTLEAD_BACKUP_KEY", "HOTLEAD_BACKUP_PREVIOUS_KEYS"}


@pytest.fixture
def environ(monkeypatch):
    """Start every test from an environment without any of these variables."""
    for key in ALL_KEYS:
        monkeypatch.delenv(key, raising=False)

    def apply(values: dict[str, str]) -> Settings:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return apply


def test_a_complete_prod_setup_starts(environ):
    settings = environ(PROD_OK)
    assert settings.env == "prod" and settings.stripe_api_key.startswith("sk_live_")


def test_a_complete_staging_setup_starts(environ):
    settings = environ(STAGING_OK)
    assert settings.env == "staging" and "sandbox" in settings.paypal_base


def test_dev_allows_every_default_and_any_key(environ):
    settings = environ({"HOTLEAD_ENV": "dev", "STRIPE_API_KEY": "sk_test_x", "PAYPAL_CLIENT_ID": "c"})
    assert settings.secret_key == DEFAULT_SECRET_KEY and settings.smtp_url == DEFAULT_SMTP_URL
    assert environ({"STRIPE_API_KEY": "sk_live_x"}).env == "dev"


@pytest.mark.parametrize("env", [PROD_OK, STAGING_OK])
def test_the_default_secret_is_refused_outside_dev(environ, env):
    with pytest.raises(ValidationError, match="HOTLEAD_SECRET_KEY must be set"):
        environ({**env, "HOTLEAD_SECRET_KEY": DEFAULT_SECRET_KEY})


@pytest.mark.parametrize("smtp", ["", "   ", DEFAULT_SMTP_URL])
def test_prod_refuses_to_start_without_smtp(environ, smtp):
    with pytest.raises(ValidationError, match="HOTLEAD_SMTP_URL must name a real SMTP server"):
        environ({**PROD_OK, "HOTLEAD_SMTP_URL": smtp})


def test_prod_smtp_unset_means_the_dev_default_and_is_refused(environ):
    values = {k: v for k, v in PROD_OK.items() if k != "HOTLEAD_SMTP_URL"}
    with pytest.raises(ValidationError, match="dev sandbox"):
        environ(values)


@pytest.mark.parametrize("key", ["sk_test_51abc", "rk_test_51abc"])
def test_prod_refuses_stripe_test_keys(environ, key):
    with pytest.raises(ValidationError, match="STRIPE_API_KEY is a test-mode key"):
        environ({**PROD_OK, "STRIPE_API_KEY": key})


def test_prod_refuses_the_paypal_sandbox(environ):
    with pytest.raises(ValidationError, match="PayPal's sandbox"):
        environ({**PROD_OK, "PAYPAL_API_BASE": "https://api-m.sandbox.paypal.com"})


def test_prod_without_paypal_ignores_its_base(environ):
    settings = environ({**PROD_OK, "PAYPAL_CLIENT_ID": "", "PAYPAL_API_BASE": "https://api-m.sandbox.paypal.com"})
    assert settings.env == "prod"


def test_prod_paypal_defaults_to_the_live_api(environ):
    assert environ(PROD_OK).paypal_base == "https://api-m.paypal.com"


@pytest.mark.parametrize("key", ["sk_live_51abc", "rk_live_51abc"])
def test_staging_refuses_live_stripe_keys(environ, key):
    with pytest.raises(ValidationError, match="STRIPE_API_KEY is a live key"):
        environ({**STAGING_OK, "STRIPE_API_KEY": key})


@pytest.mark.parametrize("base", ["https://api-m.paypal.com", "https://api.paypal.com/"])
def test_staging_refuses_the_live_paypal_api(environ, base):
    with pytest.raises(ValidationError, match="only PayPal's sandbox"):
        environ({**STAGING_OK, "PAYPAL_API_BASE": base})


def test_staging_paypal_defaults_to_the_sandbox_and_takes_a_local_stand_in(environ):
    assert "sandbox" in environ({**STAGING_OK, "PAYPAL_API_BASE": ""}).paypal_base
    assert environ({**STAGING_OK, "PAYPAL_API_BASE": "http://127.0.0.1:8099"}).env == "staging"


def test_staging_may_use_the_dev_mail_sandbox(environ):
    values = {k: v for k, v in STAGING_OK.items() if k != "HOTLEAD_SMTP_URL"}
    assert environ(values).smtp_url == DEFAULT_SMTP_URL


@pytest.mark.parametrize("env", [{"HOTLEAD_ENV": "dev"}, PROD_OK])
def test_an_unusable_backup_key_is_refused_at_start_in_every_environment(environ, env, monkeypatch):
    import base64

    for bad in ("not-base64!", base64.b64encode(b"sixteen bytes!!!").decode()):
        with pytest.raises(ValidationError, match="HOTLEAD_BACKUP_KEY must be base64 of 32 bytes"):
            environ({**env, "HOTLEAD_BACKUP_KEY": bad})
    good = base64.b64encode(b"k" * 32).decode()
    with pytest.raises(ValidationError, match="HOTLEAD_BACKUP_PREVIOUS_KEYS"):
        environ({**env, "HOTLEAD_BACKUP_KEY": good, "HOTLEAD_BACKUP_PREVIOUS_KEYS": f"{good},short"})
    monkeypatch.delenv("HOTLEAD_BACKUP_PREVIOUS_KEYS")
    assert environ({**env, "HOTLEAD_BACKUP_KEY": good}).backup_key == good
