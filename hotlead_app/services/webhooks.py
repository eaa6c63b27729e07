"""Signed webhook delivery to a provider's own systems (DOMAIN.md "Delivery to the
provider's own systems").

- Endpoints: up to ``MAX_ENDPOINTS`` per provider; the signing secret is made here and
  shown once.  It is stored sealed (AES-GCM under a key derived from
  ``HOTLEAD_SECRET_KEY``, like the session cookie's seal in ``services/auth.py`` but
  with its own key derivation): a copy of the database alone cannot sign deliveries.
  Changing ``HOTLEAD_SECRET_KEY`` makes the stored secrets unreadable: their attempts
  fail (``secret cannot be unsealed``) until the provider adds the endpoint again.
- Deliveries of ``lead.assigned`` / ``lead.refunded`` are written by the engine
  (``engine/webhook_enqueue.sql``, called by the triggers of ``webhook_events.sql``) in
  the transaction of the distribution or the refund, each with an outbox job
  ``webhooks.deliver``; a test event (``ping``) and a redeliver are written here.
- Sending (:func:`deliver`; the ``webhooks`` queue's task uses :func:`deliver_soon`,
  which POSTs on a sender thread so that a slow receiver holds no worker process):
  claim the delivery (it is left alone for ``webhook_claim_seconds``) and commit, POST
  with no transaction open and no redirect followed, then record the attempt and the
  outcome in a new transaction.
  A 2xx within ``webhook_timeout_seconds`` delivers; otherwise the next attempt waits
  ``webhook_retry_base_seconds``, doubling, at most ``webhook_retry_max_seconds``,
  until ``expires_at`` (24 h after it was made or redelivered), then ``failed``.
  ``webhook_disable_after`` failed attempts in a row disable the endpoint and email
  the provider (outbox job ``email.webhook_disabled``).
- :func:`sweep` (beat) fails the expired deliveries and sends the due ones again: the
  retries, and a delivery whose worker died mid-POST once its claim ran out.
- Outside ``dev`` a URL must be ``https`` and its host must not resolve to a loopback,
  private, link-local, multicast, reserved or unspecified address: checked when saved
  and before every attempt, and the POST goes to the address checked (:func:`pinned`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text
from sqlmodel import col, func, select

from hotlead_app import jobs
from hotlead_app.db import unit_of_work
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import Conflict, InvalidInput, NotFound
from hotlead_app.infra.queue import get_celery
from hotlead_app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from hotlead_app.models._types import utcnow
from hotlead_app.services import audit, outbox
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

MAX_ENDPOINTS = 5
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500
SECRET_PREFIX = "whsec_"
DELIVERY_HEADER = "Hotlead-Delivery"
SIGNATURE_HEADER = "Hotlead-Signature"
# Receivers should refuse a signature older than this (the README's example does).
SIGNATURE_TOLERANCE_SECONDS = 300
GIVE_UP_AFTER = timedelta(hours=24)
SWEEP_BATCH = 500


class TooManyEndpoints(Conflict):
    code = "too_many_endpoints"
    default_message = f"A provider has at most {MAX_ENDPOINTS} webhook endpoints."


class EndpointDeleted(Conflict):
    code = "endpoint_deleted"
    default_message = "This delivery's endpoint was deleted: it cannot be sent again."


# --------------------------------------------------------------------------- signing


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex HMAC-SHA256(secret, "<t>.<raw body>")."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the header's v1 is the HMAC of its t and this raw body, and
    t is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, t, body))


# --------------------------------------------------------------------------- the secret at rest

_SEAL_PREFIX = "s1."
_SEAL_AAD = b"hotlead webhook secret v1"


class SecretUnreadable(Exception):
    pass


@functools.lru_cache(maxsize=4)
def _sealer(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hotlead webhook secret seal v1").derive(
        secret_key.encode()
    )
    return AESGCM(key)


def seal_secret(secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _sealer(get_settings().secret_key).encrypt(nonce, secret.encode(), _SEAL_AAD)
    return _SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal_secret(stored: str) -> str:
    """The signing secret; SecretUnreadable when not sealed with this secret key."""
    if not stored.startswith(_SEAL_PREFIX):
        raise SecretUnreadable("not a sealed secret")
    body = stored[len(_SEAL_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return _sealer(get_settings().secret_key).decrypt(raw[:12], raw[12:], _SEAL_AAD).decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        raise SecretUnreadable("sealed with another HOTLEAD_SECRET_KEY") from None


# --------------------------------------------------------------------------- URL rules


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def url_problem(url: str) -> str | None:
    """Why this URL may not receive deliveries (None: it may).  Outside dev this resolves
    the host: call it with no transaction open."""
    return checked_target(url)[0]


def checked_target(url: str) -> tuple[str | None, str | None]:
    """(why this URL may not receive deliveries, or None; outside dev, the checked
    address to connect to).  The sender connects to that very address, so a DNS answer
    that changes between the check and the connection (rebinding) is never followed."""
    if not isinstance(url, str) or not url.strip():
        return "required", None
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters", None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "not a valid URL", None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host", None
    if parts.username or parts.password:
        return "must not carry a user name or password", None
    if get_settings().is_dev:
        return None, None
    if parts.scheme != "https":
        return "must use https", None
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "the host does not resolve", None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        return "the host does not resolve", None
    refused = sorted(a for a in set(addresses) if _refused_address(a))
    if refused:
        return f"the host resolves to a loopback, private, link-local or multicast address ({refused[0]})", None
    return None, addresses[0]


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The request for ``url`` sent to ``address``: the URL with the address as its host,
    the original ``Host`` header, and the host name for TLS (SNI and the certificate
    check)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return target, {"Host": host_header}, {"sni_hostname": host}


def _checked_url(url: Any) -> str:
    problem = url_problem(url)
    if problem is not None:
        raise InvalidInput("This URL cannot receive deliveries.", details={"url": problem})
    return str(url).strip()


def _checked_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput(details={"description": "must be text"})
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(details={"description": f"at most {MAX_DESCRIPTION_LENGTH} characters"})
    return description.strip()


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class EndpointRead:
    id: uuid.UUID
    url: str
    description: str
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "url": self.url,
            "description": self.description,
            "active": self.active,
            "consecutive_failures": self.consecutive_failures,
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: EndpointRead
    secret: str


def _read(e: WebhookEndpoint) -> EndpointRead:
    return EndpointRead(e.id, e.url, e.description, e.active, e.consecutive_failures, e.disabled_at, e.created_at)


def _provider_of(actor: Actor) -> uuid.UUID:
    if actor.provider_id is None:
        raise NotFound("No such provider.")
    return actor.provider_id


def _own_endpoint(uow, actor: Actor, endpoint_id: uuid.UUID, *, lock: bool = False) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id) == endpoint_id,
        col(WebhookEndpoint.provider_id) == _provider_of(actor),
        col(WebhookEndpoint.deleted_at).is_(None),
    )
    endpoint = uow.session.exec(query.with_for_update() if lock else query).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.", details={"endpoint_id": str(endpoint_id)})
    return endpoint


def create_endpoint(*, actor: Actor, url: Any, description: Any = None) -> NewEndpoint:
    provider_id = _provider_of(actor)
    checked_description = _checked_description(description)
    checked_url = _checked_url(url)  # may resolve the host: before the transaction
    secret = SECRET_PREFIX + secrets.token_hex(24)
    with unit_of_work() as uow:
        # One provider's endpoints are counted and added one request at a time.
        uow.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended('hotlead.webhooks:' || :p, 0))"),
            {"p": str(provider_id)},
        )
        count = uow.session.exec(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(col(WebhookEndpoint.provider_id) == provider_id, col(WebhookEndpoint.deleted_at).is_(None))
        ).one()
        if count >= MAX_ENDPOINTS:
            raise TooManyEndpoints(details={"max": MAX_ENDPOINTS})
        endpoint = WebhookEndpoint(
            provider_id=provider_id, url=checked_url, description=checked_description, secret=seal_secret(secret)
        )
        uow.session.add(endpoint)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="webhook_endpoint",
            entity_id=endpoint.id,
            action="created",
            before=None,
            after={"url": checked_url, "description": checked_description},
        )
        return NewEndpoint(_read(endpoint), secret)


def list_endpoints(*, actor: Actor) -> list[EndpointRead]:
    with unit_of_work() as uow:
        rows = uow.session.exec(
            select(WebhookEndpoint)
            .where(col(WebhookEndpoint.provider_id) == _provider_of(actor), col(WebhookEndpoint.deleted_at).is_(None))
            .order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
        ).all()
        return [_read(e) for e in rows]


_UNSET: Any = object()


def update_endpoint(
    *, actor: Actor, endpoint_id: uuid.UUID, url: Any = _UNSET, description: Any = _UNSET, active: Any = _UNSET
) -> EndpointRead:
    """PATCH: any of url, description, active.  Turning an endpoint on again clears its
    count of failures in a row."""
    checked_url = _checked_url(url) if url is not _UNSET else None
    checked_description = _checked_description(description) if description is not _UNSET else None
    if active is not _UNSET and not isinstance(active, bool):
        raise InvalidInput(details={"active": "must be true or false"})
    with unit_of_work() as uow:
        endpoint = _own_endpoint(uow, actor, endpoint_id, lock=True)
        before = {"url": endpoint.url, "description": endpoint.description, "active": endpoint.active}
        if checked_url is not None:
            endpoint.url = checked_url
        if checked_description is not None:
            endpoint.description = checked_description
        if active is not _UNSET and active != endpoint.active:
            endpoint.active = active
            if active:
                endpoint.consecutive_failures = 0
                endpoint.disabled_at = None
        uow.session.add(endpoint)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="webhook_endpoint",
            entity_id=endpoint.id,
            action="updated",
            before=before,
            after={"url": endpoint.url, "description": endpoint.description, "active": endpoint.active},
        )
        return _read(endpoint)


def delete_endpoint(*, actor: Actor, endpoint_id: uuid.UUID) -> None:
    """The endpoint stops receiving and disappears from the list; its deliveries and
    attempts are kept."""
    with unit_of_work() as uow:
        endpoint = _own_endpoint(uow, actor, endpoint_id, lock=True)
        endpoint.active = False
        endpoint.deleted_at = utcnow()
        uow.session.add(endpoint)
        uow.session.flush()
        audit.record(
            uow,
            actor=actor,
            entity_type="webhook_endpoint",
            entity_id=endpoint.id,
            action="deleted",
            before={"url": endpoint.url},
            after=None,
        )


# --------------------------------------------------------------------------- deliveries


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def send_test(*, actor: Actor, endpoint_id: uuid.UUID) -> uuid.UUID:
    """A ``ping`` delivery to this endpoint, sent now (also to an endpoint turned off)."""
    with unit_of_work() as uow:
        endpoint = _own_endpoint(uow, actor, endpoint_id)
        now = utcnow()
        delivery_id = uuid.uuid4()
        body = json.dumps(
            {"id": str(delivery_id), "type": "ping", "created_at": _iso(now), "data": {"endpoint_id": str(endpoint.id)}}
        )
        uow.session.add(
            WebhookDelivery(
                id=delivery_id,
                endpoint_id=endpoint.id,
                provider_id=endpoint.provider_id,
                type="ping",
                body=body,
                next_attempt_at=now,
                expires_at=now + GIVE_UP_AFTER,
                created_at=now,
            )
        )
        uow.session.flush()
        outbox.add(uow, jobs.WEBHOOK_DELIVER, delivery_id=str(delivery_id))
        return delivery_id


def redeliver(*, actor: Actor, delivery_id: uuid.UUID) -> uuid.UUID:
    """Send this delivery again, same id and body, with a new 24 h of retries (409
    ``endpoint_deleted`` when its endpoint is gone; an endpoint turned off gets it
    when turned on again)."""
    with unit_of_work() as uow:
        delivery = uow.session.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.provider_id) == _provider_of(actor))
            .with_for_update()
        ).first()
        if delivery is None:
            raise NotFound("No such delivery.", details={"delivery_id": str(delivery_id)})
        endpoint = uow.session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or endpoint.deleted_at is not None:
            raise EndpointDeleted(details={"delivery_id": str(delivery_id), "endpoint_id": str(delivery.endpoint_id)})
        now = utcnow()
        delivery.status = "pending"
        delivery.next_attempt_at = now
        delivery.expires_at = now + GIVE_UP_AFTER
        delivery.delivered_at = None
        uow.session.add(delivery)
        outbox.add(uow, jobs.WEBHOOK_DELIVER, delivery_id=str(delivery.id))
        return delivery.id


def _attempt_dict(a: WebhookAttempt) -> dict[str, Any]:
    return {
        "attempted_at": a.attempted_at.isoformat(),
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
    }


def list_deliveries(
    *, actor: Actor, endpoint_id: uuid.UUID, limit: int = 50, before: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """Newest first, each with its attempts (oldest first); up to ``limit`` + 1 rows
    (the API's pager reads the extra one).  ``before``: (created_at ISO, id) keyset."""
    with unit_of_work() as uow:
        endpoint = _own_endpoint(uow, actor, endpoint_id)
        query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
        if before is not None:
            created, last_id = before
            query = query.where(
                func.row(col(WebhookDelivery.created_at), col(WebhookDelivery.id))
                < func.row(datetime.fromisoformat(created), uuid.UUID(last_id))
            )
        rows = uow.session.exec(
            query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc()).limit(limit + 1)
        ).all()
        attempts: dict[uuid.UUID, list[dict[str, Any]]] = {d.id: [] for d in rows}
        if rows:
            for a in uow.session.exec(
                select(WebhookAttempt)
                .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
                .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
            ).all():
                attempts[a.delivery_id].append(_attempt_dict(a))
        return [
            {
                "id": str(d.id),
                "endpoint_id": str(d.endpoint_id),
                "assignment_id": str(d.assignment_id) if d.assignment_id else None,
                "type": d.type,
                "status": d.status,
                "body": json.loads(d.body),
                "attempt_count": d.attempt_count,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
                "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                "created_at": d.created_at.isoformat(),
                "attempts": attempts[d.id],
            }
            for d in rows
        ]


# --------------------------------------------------------------------------- sending

_CLAIM = text(
    """
    UPDATE webhook_deliveries d
       SET next_attempt_at = now() + make_interval(secs => :claim), attempt_count = d.attempt_count + 1
      FROM webhook_endpoints e
     WHERE d.id = :id AND e.id = d.endpoint_id
       AND d.status = 'pending' AND d.next_attempt_at <= now() AND d.expires_at > now()
       AND e.deleted_at IS NULL AND (e.active OR (d.type = 'ping' AND d.attempt_count = 0))
    RETURNING d.body, e.url, e.secret
    """
)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


_clients: dict[int, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client() -> httpx.Client:
    """One HTTP client per process, shared by its threads: making one loads the CA
    bundle (~35 ms of CPU), far more than a POST.  Never follows a redirect, ignores
    proxy variables; the timeout is given per request."""
    pid = os.getpid()  # a forked pool process makes its own
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
                )
                _clients[pid] = client
    return client


def post(url: str, secret: str, delivery_id: uuid.UUID, body: str) -> AttemptResult:
    """One signed POST: no redirect followed, the URL checked again first (outside dev)."""
    settings = get_settings()
    problem, address = checked_target(url)
    if problem is not None:
        return AttemptResult(None, 0, f"refused: {problem}")
    target, host_header, extensions = pinned(url, address) if address else (url, {}, {})
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FindMeAHotLead-Webhooks/1",
        DELIVERY_HEADER: str(delivery_id),
        SIGNATURE_HEADER: signature_header(secret, raw),
    }
    timeout = settings.webhook_timeout_seconds
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        response = _client().post(
            target, content=raw, headers={**headers, **host_header}, timeout=timeout, extensions=extensions
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    latency_ms = int((time.monotonic() - started) * 1000)
    if error is None and latency_ms > timeout * 1000:
        error = f"answered after {latency_ms} ms, more than {timeout:g} s"
    return AttemptResult(status, latency_ms, error)


def next_delay(failed_attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: base, doubling, at most max."""
    s = get_settings()
    seconds = min(s.webhook_retry_base_seconds * 2 ** max(failed_attempts - 1, 0), s.webhook_retry_max_seconds)
    return timedelta(seconds=seconds)


_RECORD_DELIVERED = text(
    """
    WITH attempt AS (
      INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms)
      VALUES (:id, now(), :status, :latency)
    ), delivery AS (
      UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now()
       WHERE id = :id RETURNING endpoint_id
    )
    UPDATE webhook_endpoints SET consecutive_failures = 0
     WHERE id = (SELECT endpoint_id FROM delivery) AND consecutive_failures <> 0
    """
)


def _record(delivery_id: uuid.UUID, result: AttemptResult) -> str:
    """The attempt and its outcome, in one transaction (the delivered case, by far the
    most common, in one statement)."""
    settings = get_settings()
    if result.delivered:
        with unit_of_work() as uow:
            uow.session.execute(
                _RECORD_DELIVERED, {"id": delivery_id, "status": result.status_code, "latency": result.latency_ms}
            )
        return "delivered"
    with unit_of_work() as uow:
        uow.session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                error=result.error,
            )
        )
        delivery = uow.session.exec(
            select(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).with_for_update()
        ).one()
        endpoint = uow.session.exec(
            select(WebhookEndpoint).where(col(WebhookEndpoint.id) == delivery.endpoint_id).with_for_update()
        ).one()
        now = utcnow()
        if result.delivered:
            delivery.status = "delivered"
            delivery.delivered_at = now
            endpoint.consecutive_failures = 0
            outcome = "delivered"
        else:
            endpoint.consecutive_failures += 1
            if endpoint.active and endpoint.consecutive_failures >= settings.webhook_disable_after:
                endpoint.active = False
                endpoint.disabled_at = now
                audit.record(
                    uow,
                    actor=Actor(role="system"),
                    entity_type="webhook_endpoint",
                    entity_id=endpoint.id,
                    action="disabled",
                    before={"active": True},
                    after={"active": False, "consecutive_failures": endpoint.consecutive_failures},
                )
                outbox.add(uow, jobs.EMAIL_WEBHOOK_DISABLED, endpoint_id=str(endpoint.id))
            retry_at = now + next_delay(delivery.attempt_count)
            if retry_at >= delivery.expires_at:
                delivery.status = "failed"
                outcome = "failed"
            else:
                delivery.next_attempt_at = retry_at
                outcome = "retry"
        uow.session.add(delivery)
        uow.session.add(endpoint)
        return outcome


def _claim(delivery_id: uuid.UUID) -> Any:
    settings = get_settings()
    claim = max(settings.webhook_claim_seconds, settings.webhook_timeout_seconds + 1)
    with unit_of_work() as uow:
        return uow.session.execute(_CLAIM, {"id": delivery_id, "claim": claim}).first()


def _attempt(delivery_id: uuid.UUID, row: Any) -> str:
    try:
        secret = unseal_secret(row.secret)
    except SecretUnreadable as exc:
        return _record(delivery_id, AttemptResult(None, 0, f"secret cannot be unsealed: {exc}"))
    return _record(delivery_id, post(row.url, secret, delivery_id, row.body))


def deliver(*, delivery_id: uuid.UUID) -> str:
    """One attempt of a delivery if it is due (safe to call any number of times):
    claim and commit, POST outside any transaction, record the attempt."""
    row = _claim(delivery_id)
    if row is None:
        return "not_due"
    return _attempt(delivery_id, row)


# The worker's way: the task claims the delivery and hands the POST to a thread of its
# process, so the task ends in milliseconds and a slow receiver never holds a worker
# process that distributions and emails need.  Nothing is lost if the process dies:
# the claimed delivery is sent again by the sweep once its claim runs out.
SENDER_THREADS = 16
SENDER_BACKLOG = 200  # beyond this many in hand, the task sends itself (back-pressure)
_senders: dict[int, ThreadPoolExecutor] = {}
_in_hand = 0
_in_hand_lock = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    pid = os.getpid()  # a forked pool process makes its own
    with _in_hand_lock:
        pool = _senders.get(pid)
        if pool is None:
            pool = _senders[pid] = ThreadPoolExecutor(max_workers=SENDER_THREADS, thread_name_prefix="webhook-sender")
        return pool


def _send_in_background(delivery_id: uuid.UUID, row: Any) -> None:
    global _in_hand
    try:
        _attempt(delivery_id, row)
    except Exception:  # the claim runs out and the sweep sends it again
        log.exception("webhook delivery %s failed in its sender thread", delivery_id)
    finally:
        with _in_hand_lock:
            _in_hand -= 1


def deliver_soon(*, delivery_id: uuid.UUID) -> str:
    """Claim the delivery now; POST and record it on a sender thread of this process
    ("sending"), or here when too many are already in hand."""
    global _in_hand
    row = _claim(delivery_id)
    if row is None:
        return "not_due"
    pool = _sender_pool()
    with _in_hand_lock:
        busy = _in_hand >= SENDER_BACKLOG
        if not busy:
            _in_hand += 1
    if busy:
        return _attempt(delivery_id, row)
    pool.submit(_send_in_background, delivery_id, row)
    return "sending"


def sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Fail the deliveries past their 24 h; send the due ones of active endpoints
    (retries, and those whose worker died mid-POST) to the ``webhooks`` queue.  A test
    event to an endpoint turned off is tried once, never retried."""
    with unit_of_work() as uow:
        failed = len(
            uow.session.execute(
                text(
                    "UPDATE webhook_deliveries SET status = 'failed'"
                    " WHERE status = 'pending' AND expires_at <= now() RETURNING id"
                )
            ).all()
        )
        due = [
            r[0]
            for r in uow.session.execute(
                text(
                    """
                    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
                       AND e.deleted_at IS NULL AND e.active
                     ORDER BY d.next_attempt_at LIMIT :limit
                    """
                ),
                {"limit": limit},
            ).all()
        ]
    sent = 0
    for delivery_id in due:
        try:
            get_celery().send_task(jobs.WEBHOOK_DELIVER, kwargs={"delivery_id": str(delivery_id)})
            sent += 1
        except Exception as exc:  # broker down: the next sweep tries again
            log.warning("webhook sweep could not publish %s: %s", delivery_id, exc)
            break
    return {"failed": failed, "sent": sent}
