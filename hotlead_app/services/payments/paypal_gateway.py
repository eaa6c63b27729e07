"""PayPal through paypal-server-sdk 2.x (Orders v2, Payments, Transaction Search).

Every call to PayPal goes through this module.  The SDK client is built from
settings (``PAYPAL_CLIENT_ID`` / ``_SECRET``, ``PAYPAL_API_BASE``); ``use_session``
hands it a ``requests.Session`` (tests mount a fake adapter on it).  Webhook
verification is not in the SDK: ``verify_webhook`` calls PayPal's
``POST /v1/notifications/verify-webhook-signature`` through a replaceable verifier
(``use_verifier``), so that tests run offline.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from paypalserversdk.configuration import Configuration, Environment
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from hotlead_app.domain import money
from hotlead_app.services.payments.errors import ProcessorUnavailable
from hotlead_app.settings import get_settings

log = logging.getLogger(__name__)

TRANSMISSION_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)

_lock = threading.Lock()
_session: requests.Session | None = None
_cached: tuple[tuple, PaypalServersdkClient] | None = None


class _Configuration(Configuration):
    """The SDK's configuration with the base URL from settings (PAYPAL_API_BASE)."""

    base_uri = "https://api-m.sandbox.paypal.com"

    def get_base_uri(self, server=None):
        return self.base_uri


def use_session(session: requests.Session | None) -> None:
    """Send the SDK's HTTP through this ``requests.Session`` (``None``: a default one)."""
    global _session, _cached
    with _lock:
        _session = session
        _cached = None
    _token_cache.clear()
    _cert_cache.clear()


def is_configured() -> bool:
    settings = get_settings()
    return bool(settings.paypal_client_id and settings.paypal_client_secret)


def client() -> PaypalServersdkClient:
    global _cached
    settings = get_settings()
    if not is_configured():
        raise ProcessorUnavailable("PayPal is not configured on this platform.")
    key = (
        settings.paypal_client_id,
        settings.paypal_client_secret,
        settings.paypal_base,
        settings.payment_http_timeout_seconds,
        id(_session),
    )
    with _lock:
        if _cached is None or _cached[0] != key:
            config = _Configuration(
                http_client_instance=_session,
                environment=Environment.PRODUCTION if settings.env == "prod" else Environment.SANDBOX,
                timeout=settings.payment_http_timeout_seconds,
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=settings.paypal_client_id, o_auth_client_secret=settings.paypal_client_secret
                ),
            )
            config.base_uri = settings.paypal_base
            _cached = (key, PaypalServersdkClient(config=config))
        return _cached[1]


def _body(response: Any) -> dict[str, Any]:
    try:
        return json.loads(response.text or "{}")
    except ValueError:
        return {}


def _call(what: str, fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return _body(fn())
    except ApiException as exc:
        log.warning("PayPal %s refused: %s %s", what, exc.response_code, getattr(exc.response, "text", "")[:500])
        raise ProcessorRefused(what, exc.response_code, _body(exc.response)) from exc
    except ProcessorUnavailable:
        raise
    except Exception as exc:  # connection errors, timeouts, a broken token endpoint
        log.warning("PayPal %s failed: %s", what, exc)
        raise ProcessorUnavailable(details={"processor": "paypal", "call": what}) from exc


class ProcessorRefused(ProcessorUnavailable):
    """PayPal answered with an error status."""

    def __init__(self, what: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(details={"processor": "paypal", "call": what, "status": status, "issue": _issue(body)})
        self.status = status
        self.body = body


def _issue(body: dict[str, Any]) -> str | None:
    details = body.get("details") or []
    if details and isinstance(details[0], dict):
        return details[0].get("issue")
    return body.get("name")


@dataclass(frozen=True)
class Order:
    order_id: str
    approve_url: str


@dataclass(frozen=True)
class Capture:
    capture_id: str
    status: str
    amount: Decimal | None
    currency: str | None
    custom_id: str | None
    order_id: str | None


def _amount(value: Mapping[str, Any] | None) -> tuple[Decimal | None, str | None]:
    if not value or value.get("value") is None:
        return None, None
    return money.to_money(str(value["value"])), value.get("currency_code")


def create_order(*, deposit_id: uuid.UUID, amount: Decimal, currency: str, return_url: str, cancel_url: str) -> Order:
    """An order to capture ``amount``; ``PayPal-Request-Id`` from the deposit id makes it idempotent."""
    body = {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "reference_id": str(deposit_id),
                "custom_id": str(deposit_id),
                "description": "Find Me A Hot Lead balance top-up",
                "amount": {"currency_code": currency.upper(), "value": money.format_money(amount)},
            }
        ],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": return_url,
                    "cancel_url": cancel_url,
                    "user_action": "PAY_NOW",
                    "shipping_preference": "NO_SHIPPING",
                }
            }
        },
    }
    data = _call(
        "orders.create",
        lambda: client().orders.create_order(
            {"body": body, "paypal_request_id": f"deposit-{deposit_id}-order", "prefer": "return=representation"}
        ),
    )
    approve = next(
        (link.get("href") for link in data.get("links") or [] if link.get("rel") in ("payer-action", "approve")), None
    )
    if not data.get("id") or not approve:
        raise ProcessorUnavailable("PayPal did not return an approval page.", details={"processor": "paypal"})
    return Order(order_id=data["id"], approve_url=approve)


def captures_of(order: dict[str, Any]) -> list[Capture]:
    """The captures an order (as PayPal returns it) holds."""
    found = []
    for unit in order.get("purchase_units") or []:
        for cap in (unit.get("payments") or {}).get("captures") or []:
            value, currency = _amount(cap.get("amount"))
            found.append(
                Capture(
                    capture_id=cap.get("id"),
                    status=cap.get("status", ""),
                    amount=value,
                    currency=currency,
                    custom_id=cap.get("custom_id") or unit.get("custom_id"),
                    order_id=order.get("id"),
                )
            )
    return found


def capture_order(*, order_id: str, deposit_id: uuid.UUID) -> list[Capture]:
    """Capture an approved order; idempotent (the same ``PayPal-Request-Id`` returns the
    first answer, and an order captured already is read back)."""
    try:
        data = _call(
            "orders.capture",
            lambda: client().orders.capture_order(
                {
                    "id": order_id,
                    "paypal_request_id": f"deposit-{deposit_id}-capture",
                    "prefer": "return=representation",
                }
            ),
        )
    except ProcessorRefused as exc:
        if exc.status == 422 and exc.details.get("issue") == "ORDER_ALREADY_CAPTURED":
            data = get_order(order_id)
        else:
            raise
    return captures_of(data)


def get_order(order_id: str) -> dict[str, Any]:
    """The order as PayPal has it now (``status``: CREATED, PAYER_ACTION_REQUIRED,
    APPROVED, COMPLETED, VOIDED …; its captures under ``purchase_units[].payments``)."""
    return _call("orders.get", lambda: client().orders.get_order({"id": order_id}))


def order_captures(order_id: str) -> list[Capture]:
    return captures_of(get_order(order_id))


def get_capture(capture_id: str) -> Capture:
    data = _call("captures.get", lambda: client().payments.get_captured_payment({"capture_id": capture_id}))
    value, currency = _amount(data.get("amount"))
    related = (data.get("supplementary_data") or {}).get("related_ids") or {}
    return Capture(
        capture_id=data.get("id") or capture_id,
        status=data.get("status", ""),
        amount=value,
        currency=currency,
        custom_id=data.get("custom_id"),
        order_id=related.get("order_id"),
    )


def _search_transactions(query: dict[str, Any]) -> Any:
    return client().transaction_search.search_transactions(query)


def list_completed_captures(*, since: datetime) -> Iterator[Capture]:
    """Successful captures since ``since`` (Transaction Search; at most 31 days a call)."""
    start = since
    end = datetime.now(UTC)
    while start < end:
        stop = min(start + timedelta(days=31), end)
        page_number, total_pages = 1, 1
        while page_number <= total_pages:
            query = {
                "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_date": stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "transaction_status": "S",
                "fields": "transaction_info",
                "page_size": 500,
                "page": page_number,
            }
            data = _call("transactions.search", functools.partial(_search_transactions, query))
            total_pages = int(data.get("total_pages") or 1)
            for detail in data.get("transaction_details") or []:
                info = detail.get("transaction_info") or {}
                # T0006: PayPal Checkout API (a buyer's payment captured by our order).
                if info.get("transaction_event_code") not in (None, "T0006"):
                    continue
                value, currency = _amount(info.get("transaction_amount"))
                capture_id = info.get("transaction_id")
                if value is None or value <= 0 or not capture_id:
                    continue
                yield Capture(
                    capture_id=str(capture_id),
                    status="COMPLETED",
                    amount=value,
                    currency=currency,
                    custom_id=info.get("custom_field"),
                    order_id=info.get("paypal_reference_id"),
                )
            page_number += 1
        start = stop


# --------------------------------------------------------------------------- webhooks

Verifier = Callable[[Mapping[str, str], bytes], bool]
_verifier: Verifier | None = None


def use_verifier(verifier: Verifier | None) -> None:
    """Replace the verifier (``None``: PayPal's verify-webhook-signature API)."""
    global _verifier
    _verifier = verifier


def verify_webhook(headers: Mapping[str, str], raw_body: bytes) -> bool:
    if _verifier is not None:
        return _verifier(headers, raw_body)
    if get_settings().paypal_webhook_verification == "offline":
        return verify_offline(headers, raw_body)
    return verify_with_paypal_api(headers, raw_body)


# --------------------------------------------------------------------------- offline check

CertFetcher = Callable[[str], bytes]
CERT_CACHE_SIZE = 16
CERT_CACHE_SECONDS = 6 * 3600
MAX_CERT_BYTES = 64 * 1024
# The subject (DNS name) of PayPal's webhook signing certificate, per environment.
CERT_SUBJECT_LIVE = "messageverificationcerts.paypal.com"
CERT_SUBJECT_SANDBOX = "messageverificationcerts.sandbox.paypal.com"
_cert_cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # url -> (fetched at, PEM); LRU


def _fetch_cert(url: str) -> bytes:
    """The certificate chain at ``url``: an allow-listed HTTPS address only, no
    redirect followed, at most 64 KiB; kept (at most 16 URLs, 6 hours each)."""
    now = time.monotonic()
    with _lock:
        hit = _cert_cache.get(url)
        if hit is not None and now - hit[0] < CERT_CACHE_SECONDS:
            _cert_cache.move_to_end(url)
            return hit[1]
    if not cert_url_allowed(url):
        raise ValueError(f"certificate URL not allowed: {url}")
    with requests.get(
        url, timeout=get_settings().payment_http_timeout_seconds, allow_redirects=False, stream=True
    ) as resp:
        if resp.status_code != 200:
            raise ValueError(f"certificate URL answered {resp.status_code}")
        content = resp.raw.read(MAX_CERT_BYTES + 1, decode_content=True)
    if len(content) > MAX_CERT_BYTES:
        raise ValueError("certificate download too large")
    with _lock:
        _cert_cache[url] = (now, content)
        _cert_cache.move_to_end(url)
        while len(_cert_cache) > CERT_CACHE_SIZE:
            _cert_cache.popitem(last=False)
    return content


@functools.lru_cache(maxsize=1)
def _system_roots() -> tuple:
    """The trusted root certificates (certifi's bundle, as requests uses)."""
    import certifi
    from cryptography import x509

    with open(certifi.where(), "rb") as bundle:
        return tuple(x509.load_pem_x509_certificates(bundle.read()))


def expected_cert_subject() -> str:
    return CERT_SUBJECT_SANDBOX if "sandbox" in get_settings().paypal_base.lower() else CERT_SUBJECT_LIVE


def _chain_is_trusted(chain: list, now: datetime, roots: tuple | list | None, subject: str) -> bool:
    """The leaf (first) certificate chains up to a trusted root through the others,
    is valid now, is for TLS server use and names ``subject`` (its SAN, and its
    common name when it has one)."""
    from cryptography.x509.oid import NameOID
    from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError

    leaf = chain[0]
    try:
        verifier = (
            PolicyBuilder()
            .store(Store(list(roots if roots is not None else _system_roots())))
            .time(now)
            .build_server_verifier(DNSName(subject))
        )
        verifier.verify(leaf, chain[1:])
    except (VerificationError, ValueError) as exc:
        log.warning("PayPal signing certificate refused: %s", exc)
        return False
    names = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return all(isinstance(n, str) and n.lower() == subject for n in names)


def cert_url_allowed(url: str) -> bool:
    """Only PayPal's own HTTPS hosts may hand us a signing certificate."""
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host == "paypal.com" or host.endswith(".paypal.com")) and not parts.port


def verify_offline(
    headers: Mapping[str, str],
    raw_body: bytes,
    *,
    fetch_cert: CertFetcher | None = None,
    webhook_id: str | None = None,
    trust_roots: list | None = None,
    subject: str | None = None,
) -> bool:
    """PayPal's documented offline check: the certificate chain from an allow-listed
    ``https://*.paypal.com`` URL (no redirect), validated up to a trusted root
    (``trust_roots``, default certifi's bundle) for PayPal's signing subject
    (``messageverificationcerts[.sandbox].paypal.com``); the signed message is
    ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>``,
    RSA-SHA256 (PKCS#1 v1.5)."""
    import base64
    import zlib

    from cryptography import x509
    from cryptography.exceptions import InvalidSignature as BadSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    lowered = {k.lower(): v for k, v in headers.items()}
    if any(not lowered.get(h) for h in TRANSMISSION_HEADERS):
        return False
    webhook_id = webhook_id or get_settings().paypal_webhook_id
    cert_url = lowered["paypal-cert-url"]
    if not webhook_id or not cert_url_allowed(cert_url):
        return False
    if lowered["paypal-auth-algo"].upper() != "SHA256WITHRSA":
        return False
    try:
        chain = x509.load_pem_x509_certificates((fetch_cert or _fetch_cert)(cert_url))
        signature = base64.b64decode(lowered["paypal-transmission-sig"], validate=True)
    except (ValueError, requests.RequestException):
        return False
    now = datetime.now(UTC)
    if not chain or not _chain_is_trusted(chain, now, trust_roots, subject or expected_cert_subject()):
        return False
    cert = chain[0]
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        return False
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    message = (
        f"{lowered['paypal-transmission-id']}|{lowered['paypal-transmission-time']}|{webhook_id}|"
        f"{zlib.crc32(raw_body) & 0xFFFFFFFF}"
    ).encode()
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except BadSignature:
        return False
    return True


TOKEN_MARGIN_SECONDS = 300
_token_cache: dict[tuple, tuple[str, float]] = {}  # (client id, base) -> (token, renew at, monotonic)


def _access_token() -> str:
    """An OAuth access token for our own calls, kept until ``TOKEN_MARGIN_SECONDS``
    before it expires (PayPal's last ~9 hours), not fetched per webhook."""
    settings = get_settings()
    key = (settings.paypal_client_id, settings.paypal_client_secret, settings.paypal_base)
    with _lock:
        cached = _token_cache.get(key)
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
    resp = (_session or requests).post(
        f"{settings.paypal_base}/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(settings.paypal_client_id, settings.paypal_client_secret),
        timeout=settings.payment_http_timeout_seconds,
    )
    resp.raise_for_status()
    answer = resp.json()
    token, lifetime = answer["access_token"], float(answer.get("expires_in") or 0)
    with _lock:
        _token_cache.clear()
        _token_cache[key] = (token, time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS))
    return token


def verify_with_paypal_api(headers: Mapping[str, str], raw_body: bytes) -> bool:
    """Ask PayPal whether these transmission headers sign this body for our webhook id.
    The event goes back byte for byte (re-serialised JSON can fail the check)."""
    settings = get_settings()
    if not settings.paypal_webhook_id or not is_configured():
        log.warning("PayPal webhook refused: PAYPAL_WEBHOOK_ID or credentials are not set")
        return False
    lowered = {k.lower(): v for k, v in headers.items()}
    if any(not lowered.get(h) for h in TRANSMISSION_HEADERS):
        return False
    try:
        event_text = raw_body.decode("utf-8")
        json.loads(event_text)
    except (UnicodeDecodeError, ValueError):
        return False
    head = json.dumps(
        {
            "auth_algo": lowered["paypal-auth-algo"],
            "cert_url": lowered["paypal-cert-url"],
            "transmission_id": lowered["paypal-transmission-id"],
            "transmission_sig": lowered["paypal-transmission-sig"],
            "transmission_time": lowered["paypal-transmission-time"],
            "webhook_id": settings.paypal_webhook_id,
        }
    )
    body = head[:-1] + ', "webhook_event": ' + event_text + "}"
    http = _session or requests
    try:
        resp = http.post(
            f"{settings.paypal_base}/v1/notifications/verify-webhook-signature",
            data=body.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {_access_token()}"},
            timeout=settings.payment_http_timeout_seconds,
        )
        if resp.status_code == 401:  # revoked early: one fresh token, one more try
            _token_cache.clear()
            resp = http.post(
                f"{settings.paypal_base}/v1/notifications/verify-webhook-signature",
                data=body.encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {_access_token()}"},
                timeout=settings.payment_http_timeout_seconds,
            )
    except (requests.RequestException, KeyError, ValueError) as exc:
        raise ProcessorUnavailable(details={"processor": "paypal", "call": "verify-webhook-signature"}) from exc
    if resp.status_code >= 500:
        raise ProcessorUnavailable(details={"processor": "paypal", "call": "verify-webhook-signature"})
    return resp.status_code == 200 and resp.json().get("verification_status") == "SUCCESS"
