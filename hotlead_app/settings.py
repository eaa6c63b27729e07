"""One settings object for the whole platform, read from ``HOTLEAD_*`` variables.

Every variable has a working default for a single machine.  Outside ``dev`` the
platform refuses to start with the default secret key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEFAULT_ADMIN_PASSWORD = "hotlead-admin"

# Ports of the project's own embedded servers: never the system's 5432 / 6379.
EMBEDDED_PG_PORT = 54329
EMBEDDED_REDIS_PORT = 63799


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLEAD_", extra="ignore")

    env: Literal["dev", "staging", "prod"] = "dev"
    database_url: str = f"postgresql+psycopg://hotlead@127.0.0.1:{EMBEDDED_PG_PORT}/hotlead"
    redis_url: str = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    secret_key: str = DEFAULT_SECRET_KEY
    smtp_url: str = "smtp://127.0.0.1:1025"
    public_url: str = "http://localhost:3000"
    port: int = 3000
    data_dir: Path = PROJECT_ROOT / ".hotlead"
    bootstrap_admin_email: str = "admin@hotlead.local"
    bootstrap_admin_password: str = DEFAULT_ADMIN_PASSWORD
    confirmation_ttl_hours: int = Field(default=48, ge=1)
    email_from: str = "Find Me A Hot Lead <no-reply@hotlead.local>"
    # Rate limits per client IP, in the `limits` package's notation.
    rate_limit_submit: str = "10/minute;100/day"
    rate_limit_confirm: str = "30/minute"
    rate_limit_resend: str = "3/10minutes"
    rate_limit_login: str = "5/15minutes"
    # X-Forwarded-For is honoured only from these proxy addresses (comma-separated CIDRs).
    trusted_proxies: str = ""
    # Start MailDev (SMTP sink + web inbox) with `make run` in dev when SMTP is the default.
    maildev_web_port: int = 1080

    # Payment processors: read without the HOTLEAD_ prefix, as API.md names them.
    stripe_api_key: str = Field(default="", validation_alias="STRIPE_API_KEY")
    stripe_webhook_secret: str = Field(default="", validation_alias="STRIPE_WEBHOOK_SECRET")
    paypal_client_id: str = Field(default="", validation_alias="PAYPAL_CLIENT_ID")
    paypal_client_secret: str = Field(default="", validation_alias="PAYPAL_CLIENT_SECRET")
    paypal_webhook_id: str = Field(default="", validation_alias="PAYPAL_WEBHOOK_ID")

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> "Settings":
        if self.env != "dev" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(
                f"HOTLEAD_SECRET_KEY must be set to a real secret when HOTLEAD_ENV={self.env}"
            )
        if self.env != "dev" and len(self.secret_key) < 32:
            raise ValueError("HOTLEAD_SECRET_KEY must be at least 32 characters outside dev")
        if self.env != "dev" and self.bootstrap_admin_password == DEFAULT_ADMIN_PASSWORD:
            raise ValueError(
                f"HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD must be set when HOTLEAD_ENV={self.env}"
            )
        return self

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
