"""PayPal's offline webhook check: certificate from *.paypal.com, CRC32 of the body,
RSA-SHA256 over ``id|time|webhook id|crc``.  The certificate is made here; only the
download is replaced."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from hotlead_app.services.payments.paypal_gateway import cert_url_allowed, verify_offline

CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-test"
WEBHOOK_ID = "WH-OFFLINE"


def _cert(key, *, days: int = 30, start_days: int = -1) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now + timedelta(days=start_days))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _headers(key, body: bytes, *, webhook_id: str = WEBHOOK_ID, url: str = CERT_URL) -> dict[str, str]:
    tid, when = "b2384410-f8d2-11e8-9c3b-TEST", "2026-11-26T12:00:00Z"
    message = f"{tid}|{when}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()
    sig = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    return {
        "PAYPAL-TRANSMISSION-ID": tid,
        "PAYPAL-TRANSMISSION-TIME": when,
        "PAYPAL-TRANSMISSION-SIG": sig,
        "PAYPAL-CERT-URL": url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


BODY = b'{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"CAP-1"}}'


def test_a_genuine_signature_verifies(key):
    pem = _cert(key)
    fetched = []
    assert verify_offline(
        _headers(key, BODY), BODY, webhook_id=WEBHOOK_ID, fetch_cert=lambda url: fetched.append(url) or pem
    )
    assert fetched == [CERT_URL]


def test_a_changed_body_another_webhook_or_another_key_fails(key):
    pem = _cert(key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetch = lambda url: pem  # noqa: E731
    assert not verify_offline(_headers(key, BODY), BODY + b" ", webhook_id=WEBHOOK_ID, fetch_cert=fetch)
    assert not verify_offline(_headers(key, BODY, webhook_id="WH-OTHER"), BODY, webhook_id=WEBHOOK_ID, fetch_cert=fetch)
    assert not verify_offline(_headers(other, BODY), BODY, webhook_id=WEBHOOK_ID, fetch_cert=fetch)
    assert not verify_offline(
        {**_headers(key, BODY), "PAYPAL-TRANSMISSION-SIG": "not base64!"}, BODY, webhook_id=WEBHOOK_ID, fetch_cert=fetch
    )


def test_a_certificate_from_elsewhere_is_never_fetched(key):
    _cert(key)
    for url in (
        "https://evil.example/cert.pem",
        "http://api.paypal.com/cert",
        "https://paypal.com.evil.example/c",
        "https://api.paypal.com:8443/cert",
    ):
        assert not cert_url_allowed(url)
        assert not verify_offline(
            _headers(key, BODY, url=url), BODY, webhook_id=WEBHOOK_ID, fetch_cert=lambda u: pytest.fail(f"fetched {u}")
        )
    assert cert_url_allowed(CERT_URL)


def test_an_expired_certificate_or_missing_headers_fail(key):
    expired = _cert(key, days=-1, start_days=-30)
    assert not verify_offline(_headers(key, BODY), BODY, webhook_id=WEBHOOK_ID, fetch_cert=lambda u: expired)
    headers = _headers(key, BODY)
    del headers["PAYPAL-TRANSMISSION-ID"]
    assert not verify_offline(headers, BODY, webhook_id=WEBHOOK_ID, fetch_cert=lambda u: _cert(key))
