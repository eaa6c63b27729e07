"""Structured logs: one JSON object per line, the same field names in every process.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``event`` (the message, or the stable
name a call passes as ``extra={"event": ...}``, the message then in ``message``), ``logger``,
``service`` (``app``, ``worker``, ``internal``…), and where known ``request_id``,
``task_id``, ``lead_id``, ``provider_id``; an ``exception`` field carries a traceback.
Any ``extra={...}`` a call passes is added too (but for Celery's ``data``/``args``/
``kwargs``, which can carry task arguments).

The ids come from context variables: :class:`RequestIdMiddleware` sets ``request_id``
for each HTTP request (a sane incoming ``X-Request-ID`` is kept, else a new one; it is
sent back in the response), the Celery signals set ``task_id`` and the task's
``lead_id`` / ``provider_id`` arguments, and services add theirs with :func:`bind`.

Nothing secret is written: query parameters and ``key=value`` pairs named like a token,
key, password or secret, ``Bearer`` credentials and URL passwords are masked, and so is
any configured secret value (secret key, metrics token, admin password, SMTP and payment
credentials) wherever it appears.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
lead_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("lead_id", default=None)
provider_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("provider_id", default=None)

CONTEXT_FIELDS = {
    "request_id": request_id_var,
    "task_id": task_id_var,
    "lead_id": lead_id_var,
    "provider_id": provider_id_var,
}
REDACTED = "[REDACTED]"

# LogRecord attributes that are not a caller's extra fields.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# Extras never copied into the line: Celery passes a task's arguments in these.
_DROPPED_EXTRAS = {"data", "args", "kwargs", "color_message"}
_SECRET_NAME = r"(?:[a-z_]*token|[a-z_]*key|password|passwd|secret|nonce|signature|authorization|cookie)"
_PATTERNS = [
    # ?token=...  &api_key=...  password=...  (query strings, form bodies, key=value text)
    (re.compile(rf"(\b{_SECRET_NAME}=)[^&\s\"',;]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # "token": "..."  (JSON or repr of a dict)
    (re.compile(rf"([\"']{_SECRET_NAME}[\"']\s*:\s*[\"'])[^\"']+", re.IGNORECASE), rf"\1{REDACTED}"),
    # Authorization: Bearer ... / Basic ...
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
]


def _configured_secrets() -> list[str]:
    """Values that must never be written, whatever the message looks like."""
    try:
        from urllib.parse import unquote, urlparse

        from hotlead_app.settings import get_settings

        s = get_settings()
    except Exception:
        return []
    values = [
        s.secret_key,
        s.bootstrap_admin_password,
        getattr(s, "metrics_token", ""),
        s.stripe_api_key,
        s.stripe_webhook_secret,
        s.paypal_client_secret,
        getattr(s, "backup_key", ""),
    ]
    for url in (s.smtp_url, s.database_url, s.redis_url):
        password = urlparse(url).password
        if password:
            values += [password, unquote(password)]
    return sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets or ():
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.secrets = _configured_secrets()

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        if isinstance(value, dict):
            return {
                str(k): (REDACTED if re.fullmatch(_SECRET_NAME, str(k), re.IGNORECASE) else self._clean(v))
                for k, v in value.items()
            }
        return redact(str(value), self.secrets)

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage(), self.secrets)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": message,
            "logger": record.name,
            "service": self.service,
        }
        explicit_event = record.__dict__.get("event")
        if isinstance(explicit_event, str) and explicit_event:
            # log.info("restore check", extra={"event": "backup.restore_check"}): a stable name
            line["event"], line["message"] = explicit_event, message
        for name, var in CONTEXT_FIELDS.items():
            value = var.get()
            if value is not None:
                line[name] = value
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRS or key in _DROPPED_EXTRAS or key.startswith("_") or key in line:
                continue
            if re.fullmatch(_SECRET_NAME, key, re.IGNORECASE):
                line[key] = REDACTED
            else:
                line[key] = self._clean(value)
        if record.exc_info:
            line["exception"] = redact("".join(traceback.format_exception(*record.exc_info)), self.secrets)
        elif record.stack_info:
            line["stack"] = redact(record.stack_info, self.secrets)
        return json.dumps(line, default=str, ensure_ascii=False)


# Loggers that servers configure with handlers of their own: sent to the root instead.
_SERVER_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "granian",
    "_granian",
    "granian.access",
    "celery",
    "celery.task",
    "celery.app.trace",
    "celery.worker",
    "celery.redirected",
)
_HANDLER_MARK = "_hotlead_json"


def configure_logging(service: str, level: str | int | None = None) -> None:
    """JSON lines on stderr for this process (idempotent)."""
    if level is None:
        try:
            from hotlead_app.settings import get_settings

            level = get_settings().log_level
        except Exception:
            level = "INFO"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
    logging.captureWarnings(True)


@contextmanager
def bind(**fields: object) -> Iterator[None]:
    """Add ``lead_id`` / ``provider_id`` (…) to every line logged inside the block."""
    tokens = []
    for name, value in fields.items():
        var = CONTEXT_FIELDS.get(name)
        if var is not None and value is not None:
            tokens.append((var, var.set(str(value))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


# --------------------------------------------------------------------------- HTTP

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


access_log = logging.getLogger("hotlead.access")
# Probes that come every few seconds: logged at debug level only.
_QUIET_PATHS = {"/healthz", "/readyz", "/metrics", "/ping", "/_health"}


class RequestIdMiddleware:
    """Pure ASGI: a request id for each HTTP request (kept from a sane ``X-Request-ID``),
    in the logging context for the whole request and sent back as ``X-Request-ID``; and
    one access line per request (``GET /path 200``, with ``method``, ``path``, ``status``,
    ``duration_ms``), the same whichever server runs the app.  Query strings are logged
    through the formatter's masking (``/confirm?token=[REDACTED]``)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = {"code": 500}
        started = time.perf_counter()

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            query = scope.get("query_string", b"").decode("latin-1")
            target = f"{path}?{query}" if query else path
            method = scope.get("method", "GET")
            access_log.log(
                logging.DEBUG if path in _QUIET_PATHS else logging.INFO,
                "%s %s %s",
                method,
                target,
                status["code"],
                extra={
                    "method": method,
                    "path": target,
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)


# --------------------------------------------------------------------------- Celery

_task_tokens: dict[str, list] = {}


def _on_task_prerun(task_id=None, task=None, kwargs=None, **_kw) -> None:
    kwargs = kwargs or {}
    tokens = [(task_id_var, task_id_var.set(task_id))]
    for name in ("lead_id", "provider_id"):
        if kwargs.get(name):
            var = CONTEXT_FIELDS[name]
            tokens.append((var, var.set(str(kwargs[name]))))
    _task_tokens[task_id] = tokens


def _on_task_postrun(task_id=None, **_kw) -> None:
    for var, token in reversed(_task_tokens.pop(task_id, [])):
        try:
            var.reset(token)
        except ValueError:  # set in another context: clear instead
            var.set(None)


def _on_setup_logging(**_kw) -> None:
    configure_logging("beat" if "beat" in sys.argv else "worker")


def install_celery_signals() -> None:
    """The worker logs JSON (Celery leaves logging alone once ``setup_logging`` has a
    receiver) with each task's id and lead/provider ids."""
    from celery.signals import setup_logging, task_postrun, task_prerun

    setup_logging.connect(_on_setup_logging, weak=False)
    task_prerun.connect(_on_task_prerun, weak=False)
    task_postrun.connect(_on_task_postrun, weak=False)
