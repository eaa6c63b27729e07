"""PayPal's offline webhook check: the certificate chain from an allow-listed
``https://*.paypal.com`` URL (no redirect, bounded cache), validated up to a trusted
root for PayPal's signing subject; CRC32 of the body; RSA-SHA256 over
``id|time|webhook id|crc``.  The PKI is made here; only the download is replaced.
Also the OAuth token of our own calls, kept until shortly before it expires."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hotlead_app.services.payments import paypal_gateway
from hotlead_app.services.payments.paypal_gateway import cert_url_allowed, verify_offline

CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-test"
WEBHOOK_ID = "WH-OFFLINE"
SUBJECT = paypal_gateway.CERT_SUBJECT_LIVE


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _root(key) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("Test Root CA"))
        .issuer_name(_name("Test Root CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=10))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(key, issuer_key, issuer: x509.Certificate | None, *, dns: str = SUBJECT, days=30, start_days=-1) -> bytes:
    """A signing certificate for ``dns``, issued by ``issuer`` (None: self-signed)."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(dns))
        .issuer_name(issuer.subject if issuer is not None else _name(dns))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start_days))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki():
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _root(root_key)
    return {"root": root, "root_key": root_key, "key": key, "pem": _leaf(key, root_key, root)}


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


def _verify(pki, headers, body=BODY, *, pem=None, **kw) -> bool:
    return verify_offline(
        headers,
        body,
        webhook_id=kw.pop("webhook_id", WEBHOOK_ID),
        fetch_cert=kw.pop("fetch_cert", lambda url: pem or pki["pem"]),
        trust_roots=kw.pop("trust_roots", [pki["root"]]),
        subject=kw.pop("subject", SUBJECT),
    )


def test_a_genuine_signature_with_a_trusted_chain_verifies(pki):
    fetched = []
    assert _verify(pki, _headers(pki["key"], BODY), fetch_cert=lambda url: fetched.append(url) or pki["pem"])
    assert fetched == [CERT_URL]


def test_a_changed_body_another_webhook_or_another_key_fails(pki):
    key = pki["key"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not _verify(pki, _headers(key, BODY), BODY + b" ")
    assert not _verify(pki, _headers(key, BODY, webhook_id="WH-OTHER"))
    assert not _verify(pki, _headers(other, BODY))
    assert not _verify(pki, {**_headers(key, BODY), "PAYPAL-TRANSMISSION-SIG": "not base64!"})


def test_a_certificate_that_does_not_chain_to_a_trusted_root_fails(pki):
    """A self-signed certificate, or one from another CA, even for PayPal's name and
    with a valid signature of the event, is refused."""
    key = pki["key"]
    assert not _verify(pki, _headers(key, BODY), pem=_leaf(key, key, None))
    rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rogue = _root(rogue_key)
    assert not _verify(pki, _headers(key, BODY), pem=_leaf(key, rogue_key, rogue))
    assert not _verify(pki, _headers(key, BODY), trust_roots=[rogue])


def test_a_trusted_certificate_for_another_subject_fails(pki):
    key = pki["key"]
    for dns in ("www.paypal.com", "messageverificationcerts.paypal.com.evil.example", "evil.example"):
        pem = _leaf(key, pki["root_key"], pki["root"], dns=dns)
        assert not _verify(pki, _headers(key, BODY), pem=pem), dns
    sandbox = _leaf(key, pki["root_key"], pki["root"], dns=paypal_gateway.CERT_SUBJECT_SANDBOX)
    assert not _verify(pki, _headers(key, BODY), pem=sandbox)  # live expects the live subject
    assert _verify(pki, _headers(key, BODY), pem=sandbox, subject=paypal_gateway.CERT_SUBJECT_SANDBOX)


def test_a_certificate_from_elsewhere_is_never_fetched(pki):
    for url in (
        "https://evil.example/cert.pem",
        "http://api.paypal.com/cert",
        "https://paypal.com.evil.example/c",
        "https://api.paypal.com:8443/cert",
    ):
        assert not cert_url_allowed(url)
        assert not _verify(pki, _headers(pki["key"], BODY, url=url), fetch_cert=lambda u: pytest.fail(f"fetched {u}"))
    assert cert_url_allowed(CERT_URL)


def test_an_expired_certificate_or_missing_headers_fail(pki):
    key = pki["key"]
    expired = _leaf(key, pki["root_key"], pki["root"], days=-1, start_days=-30)
    assert not _verify(pki, _headers(key, BODY), pem=expired)
    headers = _headers(key, BODY)
    del headers["PAYPAL-TRANSMISSION-ID"]
    assert not _verify(pki, headers)


class _Answer:
    def __init__(self, status: int, body: bytes = b"") -> None:
        import io

        self.status_code = status
        self.raw = io.BytesIO(body)
        self.raw.read = lambda n=-1, decode_content=False, _r=self.raw.read: _r(n)  # type: ignore[method-assign]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_certificate_download_follows_no_redirect_and_the_cache_is_bounded(pki, monkeypatch):
    calls: list[tuple[str, dict]] = []
    answers = {"status": 200}

    def fake_get(url, **kwargs):
        calls.append((url, kwargs))
        return _Answer(answers["status"], pki["pem"])

    monkeypatch.setattr(paypal_gateway.requests, "get", fake_get)
    clock = [1000.0]
    monkeypatch.setattr(paypal_gateway.time, "monotonic", lambda: clock[0])
    paypal_gateway._cert_cache.clear()
    assert paypal_gateway._fetch_cert(CERT_URL) == pki["pem"]
    assert calls[0][1]["allow_redirects"] is False and calls[0][1]["timeout"] <= 10
    assert paypal_gateway._fetch_cert(CERT_URL) == pki["pem"] and len(calls) == 1  # cached
    clock[0] += paypal_gateway.CERT_CACHE_SECONDS + 1
    paypal_gateway._fetch_cert(CERT_URL)
    assert len(calls) == 2  # expired from the cache: fetched again
    for i in range(40):
        paypal_gateway._fetch_cert(f"{CERT_URL}-{i}")
    assert len(paypal_gateway._cert_cache) == paypal_gateway.CERT_CACHE_SIZE
    answers["status"] = 302
    with pytest.raises(ValueError, match="302"):
        paypal_gateway._fetch_cert(f"{CERT_URL}-redirect")
    with pytest.raises(ValueError, match="not allowed"):
        paypal_gateway._fetch_cert("https://evil.example/cert")
    paypal_gateway._cert_cache.clear()


def test_the_oauth_token_is_kept_until_shortly_before_it_expires(monkeypatch):
    from hotlead_app.settings import get_settings
    from tests.payments_fakes import FakePayPal

    fake = FakePayPal()
    for name, value in (
        ("PAYPAL_CLIENT_ID", "client-test"),
        ("PAYPAL_CLIENT_SECRET", "secret-test"),
        ("PAYPAL_API_BASE", "https://paypal.test"),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    clock = [5000.0]
    monkeypatch.setattr(paypal_gateway.time, "monotonic", lambda: clock[0])
    paypal_gateway.use_session(fake.session())
    try:
        tokens = {paypal_gateway._access_token() for _ in range(5)}
        assert tokens == {"A21-test"} and len(fake.calls("POST", "/v1/oauth2/token")) == 1
        clock[0] += 32400 - paypal_gateway.TOKEN_MARGIN_SECONDS - 10  # still more than the margin left
        paypal_gateway._access_token()
        assert len(fake.calls("POST", "/v1/oauth2/token")) == 1
        clock[0] += 20  # within the margin: renewed
        paypal_gateway._access_token()
        assert len(fake.calls("POST", "/v1/oauth2/token")) == 2
    finally:
        paypal_gateway.use_session(None)
        get_settings.cache_clear()
