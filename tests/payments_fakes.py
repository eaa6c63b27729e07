"""Stand-ins for the payment processors at the HTTP boundary (nothing of ours is faked).

- ``FakeStripe``: a tiny in-memory Stripe API (Checkout Sessions in payment and setup
  mode, customers, SetupIntents, PaymentMethods, off-session PaymentIntents with Stripe's
  test cards' outcomes — success, ``card_declined``, ``authentication_required`` —
  refunds, disputes), with Stripe's idempotency (a key replays its first answer).
  ``FakeStripe.http_client()`` is a ``stripe.HTTPClient`` subclass for
  ``StripeClient(..., http_client=...)`` that records every request; ``serve()`` runs
  the same API over real HTTP (plus a checkout page) for processes the tests start.
- ``FakePayPal``: Orders v2, captures, Transaction Search, OAuth and
  verify-webhook-signature, behind a ``requests`` transport adapter for the SDK.
- Signed events: ``stripe_event`` + ``stripe.WebhookSignature.generate_signature_header``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import requests
import stripe
from requests.adapters import BaseAdapter
from requests.models import Response

_ids = itertools.count(1)


def _next(prefix: str) -> str:
    return f"{prefix}_test_{next(_ids):06d}{uuid.uuid4().hex[:6]}"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    """Stripe's API as far as the platform uses it; state the tests can change."""

    page_base: str = "https://checkout.stripe.test"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # charge id -> refunds
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What a new off-session PaymentIntent on a good card becomes: "succeeded", or
    # "processing" (settled later by ``settle_intent``).
    intent_status: str = "succeeded"
    replays: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # idempotency key -> answer
    requests: list[Recorded] = field(default_factory=list)
    fail_with: int | None = None  # answer every call with this status (an outage)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[str, str], None] | None = None  # called with (method, path) before answering

    # ------------------------------------------------------------- the API
    def handle(
        self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if self.on_request is not None:
            self.on_request(method, path)
        with self.lock:
            self.requests.append(Recorded(method, path, query, form, headers))
            if self.fail_with:
                return self.fail_with, {"error": {"type": "api_error", "message": "stand-in outage"}}
            parts = [p for p in path.split("/") if p]
            if method == "POST" and parts == ["v1", "checkout", "sessions"]:
                return 200, self._create_session(form, headers)
            if method == "GET" and parts == ["v1", "checkout", "sessions"]:
                items = [
                    s
                    for s in self.sessions.values()
                    if (not query.get("status") or s["status"] == query["status"][0])
                    and s["created"] >= int(query.get("created[gte]", ["0"])[0])
                ]
                return 200, {"object": "list", "url": "/v1/checkout/sessions", "has_more": False, "data": items}
            if method == "GET" and parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
                found = self.sessions.get(parts[3])
                return (200, found) if found else (404, _missing(parts[3]))
            if method == "GET" and parts == ["v1", "refunds"]:
                charge = query.get("charge", [""])[0]
                return 200, {
                    "object": "list",
                    "url": "/v1/refunds",
                    "has_more": False,
                    "data": self.refunds.get(charge, []),
                }
            if method == "GET" and parts[:2] == ["v1", "disputes"] and len(parts) == 3:
                found = self.disputes.get(parts[2])
                return (200, found) if found else (404, _missing(parts[2]))
            if method == "POST" and parts == ["v1", "customers"]:
                return self._idempotent(headers, lambda: (200, self._create_customer(form)))
            if method == "GET" and parts[:2] == ["v1", "setup_intents"] and len(parts) == 3:
                found = self.setup_intents.get(parts[2])
                return (200, found) if found else (404, _missing(parts[2]))
            if parts[:2] == ["v1", "payment_methods"] and len(parts) >= 3:
                found = self.payment_methods.get(parts[2])
                if found is None:
                    return 404, _missing(parts[2])
                if method == "POST" and parts[3:] == ["detach"]:
                    found["customer"] = None
                return 200, found
            if method == "POST" and parts == ["v1", "payment_intents"]:
                return self._idempotent(headers, lambda: self._create_intent(form))
            if method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
                found = self.intents.get(parts[2])
                return (200, found) if found else (404, _missing(parts[2]))
            return 404, _missing(path)

    def _idempotent(
        self, headers: dict[str, str], make: Callable[[], tuple[int, dict[str, Any]]]
    ) -> tuple[int, dict[str, Any]]:
        """Stripe's idempotency: a key seen before gets its first answer again (an error too)."""
        key = headers.get("Idempotency-Key") or headers.get("idempotency-key")
        if key and key in self.replays:
            return self.replays[key]
        answer = make()
        if key:
            self.replays[key] = answer
        return answer

    def _create_customer(self, form: dict[str, list[str]]) -> dict[str, Any]:
        cid = _next("cus")
        customer = {
            "id": cid,
            "object": "customer",
            "email": form.get("email", [None])[0],
            "name": form.get("name", [None])[0],
            "metadata": {"provider_id": form.get("metadata[provider_id]", [None])[0]},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[cid] = customer
        return customer

    def _create_intent(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        one = lambda name, default=None: form.get(name, [default])[0]  # noqa: E731
        method = self.payment_methods.get(one("payment_method") or "")
        if method is None:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "payment_method",
                    "message": f"No such PaymentMethod: '{one('payment_method')}'",
                }
            }
        pid = _next("pi")
        intent: dict[str, Any] = {
            "id": pid,
            "object": "payment_intent",
            "amount": int(one("amount", "0")),
            "amount_received": 0,
            "currency": one("currency"),
            "customer": one("customer"),
            "payment_method": method["id"],
            "description": one("description"),
            "confirmation_method": "automatic",
            "capture_method": "automatic",
            "created": int(time.time()),
            "livemode": False,
            "latest_charge": None,
            "last_payment_error": None,
            "metadata": {k[len("metadata[") : -1]: v[0] for k, v in form.items() if k.startswith("metadata[")},
            "status": "requires_payment_method",
            "_off_session": one("off_session") == "true",
            "_confirm": one("confirm") == "true",
        }
        self.intents[pid] = intent
        outcome = method["_outcome"]
        if outcome == "success":
            intent["status"] = self.intent_status
            if self.intent_status == "succeeded":
                intent["amount_received"], intent["latest_charge"] = intent["amount"], "ch_" + pid[3:]
            return 200, intent
        code, decline, message = {
            "declined": ("card_declined", "generic_decline", "Your card was declined."),
            "needs_auth": (
                "authentication_required",
                "authentication_required",
                "Your card was declined. This transaction requires authentication.",
            ),
        }[outcome]
        error = {"type": "card_error", "code": code, "decline_code": decline, "message": message}
        intent["last_payment_error"] = {**error, "payment_method": _public(method)}
        if outcome == "declined":
            intent["latest_charge"] = "ch_" + pid[3:]
        return 402, {
            "error": {
                **error,
                "charge": intent["latest_charge"],
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
                "payment_intent": _public(intent),
                "payment_method": _public(method),
                "request_log_url": "https://dashboard.stripe.com/test/logs/req_test",
            }
        }

    def _create_session(self, form: dict[str, list[str]], headers: dict[str, str]) -> dict[str, Any]:
        key = headers.get("Idempotency-Key") or headers.get("idempotency-key")
        for existing in self.sessions.values():
            if key and existing.get("_idempotency_key") == key:
                return existing
        sid = _next("cs")
        one = lambda name, default=None: form.get(name, [default])[0]  # noqa: E731
        if one("mode") == "setup":
            session = {
                "id": sid,
                "object": "checkout.session",
                "mode": "setup",
                "status": "open",
                "payment_status": "no_payment_required",
                "created": int(time.time()),
                "amount_total": None,
                "currency": one("currency"),
                "customer": one("customer"),
                "client_reference_id": one("client_reference_id"),
                "metadata": {"provider_id": one("metadata[provider_id]"), "purpose": one("metadata[purpose]")},
                "payment_intent": None,
                "setup_intent": None,
                "success_url": one("success_url"),
                "cancel_url": one("cancel_url"),
                "url": f"{self.page_base}/pay/{sid}",
                "_idempotency_key": key,
            }
            self.sessions[sid] = session
            return session
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": one("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "created": int(time.time()),
            "amount_total": int(one("line_items[0][price_data][unit_amount]", "0")),
            "currency": one("line_items[0][price_data][currency]"),
            "client_reference_id": one("client_reference_id"),
            "metadata": {"deposit_id": one("metadata[deposit_id]"), "provider_id": one("metadata[provider_id]")},
            "payment_intent": None,
            "success_url": one("success_url"),
            "cancel_url": one("cancel_url"),
            "url": f"{self.page_base}/pay/{sid}",
            "_idempotency_key": key,
        }
        self.sessions[sid] = session
        return session

    # ------------------------------------------------------------- what the buyer and Stripe do
    def pay(self, session_id: str, *, amount_cents: int | None = None, asynchronous: bool = False) -> dict[str, Any]:
        """The buyer paid (``asynchronous``: the payment is still processing)."""
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "complete"
            session["payment_status"] = "unpaid" if asynchronous else "paid"
            session["payment_intent"] = session["payment_intent"] or _next("pi")
            if amount_cents is not None:
                session["amount_total"] = amount_cents
            return dict(session)

    # Stripe's test cards: what an off-session charge on each does.
    CARDS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "visa": ("visa", "4242", "success"),
        "declining": ("visa", "0002", "declined"),
        "needs_auth": ("visa", "3184", "needs_auth"),
    }

    def save_card(self, session_id: str, card: str = "visa") -> dict[str, Any]:
        """The cardholder completed a setup-mode session with one of ``CARDS``:
        a PaymentMethod attached to the customer and a succeeded SetupIntent."""
        brand, last4, outcome = self.CARDS[card]
        with self.lock:
            session = self.sessions[session_id]
            pm = {
                "id": _next("pm"),
                "object": "payment_method",
                "type": "card",
                "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "funding": "credit"},
                "customer": session["customer"],
                "created": int(time.time()),
                "livemode": False,
                "_outcome": outcome,
            }
            self.payment_methods[pm["id"]] = pm
            seti = {
                "id": _next("seti"),
                "object": "setup_intent",
                "status": "succeeded",
                "usage": "off_session",
                "customer": session["customer"],
                "payment_method": pm["id"],
                "metadata": dict(session["metadata"]),
                "created": int(time.time()),
                "livemode": False,
            }
            self.setup_intents[seti["id"]] = seti
            session["status"], session["setup_intent"] = "complete", seti["id"]
            return dict(session)

    def settle_intent(self, intent_id: str) -> dict[str, Any]:
        """A ``processing`` PaymentIntent succeeded."""
        with self.lock:
            intent = self.intents[intent_id]
            intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
            intent["latest_charge"] = "ch_" + intent_id[3:]
            return dict(intent)

    def fail_intent(self, intent_id: str, code: str = "card_declined") -> dict[str, Any]:
        """A ``processing`` PaymentIntent failed later (the object of ``payment_intent.payment_failed``)."""
        with self.lock:
            intent = self.intents[intent_id]
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": code,
                "decline_code": "insufficient_funds" if code == "card_declined" else code,
                "message": "Your card has insufficient funds." if code == "card_declined" else code,
            }
            return dict(intent)

    def settle(self, session_id: str) -> dict[str, Any]:
        """An asynchronous payment succeeded."""
        with self.lock:
            self.sessions[session_id]["payment_status"] = "paid"
            return dict(self.sessions[session_id])

    def expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self.sessions[session_id]["status"] = "expired"
            return dict(self.sessions[session_id])

    def refund(self, session_id: str, amount_cents: int) -> dict[str, Any]:
        """A refund on the session's charge; returns the charge object of ``charge.refunded``."""
        with self.lock:
            session = self.sessions[session_id]
            charge_id = "ch_" + session["payment_intent"][3:]
            self.refunds.setdefault(charge_id, []).append(
                {
                    "id": _next("re"),
                    "object": "refund",
                    "amount": amount_cents,
                    "status": "succeeded",
                    "charge": charge_id,
                    "payment_intent": session["payment_intent"],
                }
            )
            return {
                "id": charge_id,
                "object": "charge",
                "payment_intent": session["payment_intent"],
                "amount": session["amount_total"],
                "amount_refunded": sum(r["amount"] for r in self.refunds[charge_id]),
                "metadata": session["metadata"],
                "refunded": True,
            }

    def dispute(self, session_id: str, amount_cents: int, status: str = "needs_response") -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            dispute = {
                "id": _next("dp"),
                "object": "dispute",
                "amount": amount_cents,
                "status": status,
                "payment_intent": session["payment_intent"],
                "charge": "ch_" + session["payment_intent"][3:],
                "metadata": {},
            }
            self.disputes[dispute["id"]] = dispute
            return dict(dispute)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # ------------------------------------------------------------- transports
    def http_client(self) -> stripe.HTTPClient:
        fake = self

        class RecordingHTTPClient(stripe.HTTPClient):
            name = "hotlead-fake"

            def request(self, method, url, headers, post_data=None, *, _usage=None):
                parts = urlsplit(url)
                form = parse_qs(
                    post_data.decode() if isinstance(post_data, bytes) else (post_data or ""), keep_blank_values=True
                )
                status, body = fake.handle(method.upper(), parts.path, parse_qs(parts.query), form, dict(headers or {}))
                return json.dumps(_public(body)), status, {"Request-Id": _next("req")}

            def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
                raise NotImplementedError

            def close(self):
                pass

        return RecordingHTTPClient()

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient("sk_test_fake", http_client=self.http_client())

    def serve(self, port: int) -> StandIn:
        """The same API over real HTTP on ``port``, plus ``/pay/<session id>``: a test
        checkout page whose button marks the session paid and returns to success_url."""
        self.page_base = f"http://127.0.0.1:{port}"
        return StandIn(self, port)


def _public(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, dict):
        clean = {k: v for k, v in body.items() if not k.startswith("_")}
        if isinstance(clean.get("data"), list):
            clean["data"] = [_public(x) for x in clean["data"]]
        return clean
    return body


def _missing(what: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": f"No such object: {what}"}}


class StandIn:
    def __init__(self, fake: FakeStripe, port: int) -> None:
        self.fake = fake

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(
                self, status: int, body: bytes, content_type: str = "application/json", location: str | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            def _api(self, method: str) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if parts.path.startswith("/pay/"):
                    return self._page(method, parts.path.rsplit("/", 1)[-1], raw)
                status, body = fake.handle(
                    method,
                    parts.path,
                    parse_qs(parts.query),
                    parse_qs(raw, keep_blank_values=True),
                    dict(self.headers.items()),
                )
                self._answer(status, json.dumps(_public(body)).encode())

            def _page(self, method: str, session_id: str, raw: str = "") -> None:
                session = fake.sessions.get(session_id)
                if session is None:
                    return self._answer(404, b"no such session", "text/plain")
                if session.get("mode") == "setup":
                    return self._setup_page(method, session_id, session, raw)
                if method == "POST":
                    fake.pay(session_id)
                    return self._answer(
                        303,
                        b"",
                        "text/plain",
                        location=session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id),
                    )
                amount = f"{session['amount_total'] / 100:.2f}"
                html = (
                    f"<!doctype html><title>Test checkout</title><h1>Test checkout</h1>"
                    f"<p>Pay <strong>{amount} {session['currency']}</strong></p>"
                    f"<form method='post'><button type='submit'>Pay {amount}</button></form>"
                    f"<a href='{session['cancel_url']}'>Cancel</a>"
                )
                self._answer(200, html.encode(), "text/html")

            def _setup_page(self, method: str, session_id: str, session: dict[str, Any], raw: str) -> None:
                """The test page of a setup-mode session: choose one of Stripe's test cards."""
                if method == "POST":
                    chosen = parse_qs(raw).get("card", ["visa"])[0]
                    fake.save_card(session_id, chosen if chosen in fake.CARDS else "visa")
                    return self._answer(303, b"", "text/plain", location=session["success_url"])
                options = "".join(
                    f"<label><input type='radio' name='card' value='{name}'{' checked' if name == 'visa' else ''}>"
                    f" {brand} ending {last4}</label><br>"
                    for name, (brand, last4, _) in fake.CARDS.items()
                )
                html = (
                    "<!doctype html><title>Test card setup</title><h1>Save a card</h1>"
                    f"<form method='post'>{options}<button type='submit'>Save card</button></form>"
                    f"<a href='{session['cancel_url']}'>Cancel</a>"
                )
                self._answer(200, html.encode(), "text/html")

            def do_GET(self):
                self._api("GET")

            def do_POST(self):
                self._api("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or _next("evt"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": _public(obj)},
        }
    )


def signed(payload: str, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    return {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp),
        "Content-Type": "application/json",
    }


# --------------------------------------------------------------------------- PayPal


@dataclass
class FakePayPal:
    webhook_id: str = "WH-TEST"
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)  # transmission id -> the body it signs
    search_lag: set[str] = field(default_factory=set)  # capture ids Transaction Search does not list yet
    failing_orders: set[str] = field(default_factory=set)  # order ids whose calls answer 500
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[str, str], None] | None = None  # called with (method, path) before answering

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if self.on_request is not None:
            self.on_request(method, path)
        with self.lock:
            self.requests.append(Recorded(method, path, query, {"body": [body]}, headers))
            parts = [p for p in path.split("/") if p]
            if parts == ["v1", "oauth2", "token"]:
                return 200, {"access_token": "A21-test", "token_type": "Bearer", "expires_in": 32400}
            if not headers.get("Authorization", "").startswith("Bearer "):
                return 401, {"name": "AUTHENTICATION_FAILURE"}
            if method == "POST" and parts == ["v2", "checkout", "orders"]:
                request_id = headers.get("PayPal-Request-Id")
                for order in self.orders.values():
                    if request_id and order["_request_id"] == request_id:
                        return 200, order
                data = json.loads(body)
                unit = data["purchase_units"][0]
                oid = _next("ORDER").upper()
                order = {
                    "id": oid,
                    "status": "PAYER_ACTION_REQUIRED",
                    "intent": data["intent"],
                    "purchase_units": [
                        {
                            "reference_id": unit.get("reference_id"),
                            "custom_id": unit.get("custom_id"),
                            "amount": unit["amount"],
                        }
                    ],
                    "links": [
                        {
                            "href": f"https://www.sandbox.paypal.test/checkoutnow?token={oid}",
                            "rel": "payer-action",
                            "method": "GET",
                        }
                    ],
                    "_request_id": request_id,
                    "_approved": False,
                }
                self.orders[oid] = order
                return 200, order
            if parts[:3] == ["v2", "checkout", "orders"] and len(parts) >= 4:
                order = self.orders.get(parts[3])
                if order is None:
                    return 404, {"name": "RESOURCE_NOT_FOUND"}
                if parts[3] in self.failing_orders:
                    return 500, {"name": "INTERNAL_SERVER_ERROR"}
                if method == "GET":
                    return 200, order
                if parts[4:] == ["capture"]:
                    request_id = headers.get("PayPal-Request-Id")
                    if request_id and order.get("_capture_request_id") == request_id:
                        return 201, order  # PayPal answers a repeated request id with the first answer
                    if order["status"] == "COMPLETED":
                        return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_ALREADY_CAPTURED"}]}
                    if not order["_approved"]:
                        return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_NOT_APPROVED"}]}
                    self._capture(order)
                    order["_capture_request_id"] = request_id
                    return 201, order
            if method == "GET" and parts[:3] == ["v2", "payments", "captures"]:
                cap = self.captures.get(parts[3])
                return (200, cap) if cap else (404, {"name": "RESOURCE_NOT_FOUND"})
            if method == "GET" and parts == ["v1", "reporting", "transactions"]:
                details = [
                    {
                        "transaction_info": {
                            "transaction_id": c["id"],
                            "transaction_event_code": "T0006",
                            "paypal_reference_id": c["supplementary_data"]["related_ids"]["order_id"],
                            "transaction_status": "S",
                            "transaction_amount": c["amount"],
                            "custom_field": c.get("custom_id"),
                        }
                    }
                    for c in self.captures.values()
                    if c["id"] not in self.search_lag
                ]
                return 200, {"transaction_details": details, "total_pages": 1, "page": 1}
            if method == "POST" and parts == ["v1", "notifications", "verify-webhook-signature"]:
                data = json.loads(body)
                expected = self.signatures.get(data.get("transmission_id"))
                ok = (
                    data.get("webhook_id") == self.webhook_id
                    and expected is not None
                    and json.loads(expected) == data.get("webhook_event")
                    and data.get("transmission_sig") == f"sig-{data.get('transmission_id')}"
                )
                return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}
            return 404, {"name": "RESOURCE_NOT_FOUND"}

    def _capture(self, order: dict[str, Any]) -> dict[str, Any]:
        unit = order["purchase_units"][0]
        cap = {
            "id": _next("CAP").upper(),
            "status": "COMPLETED",
            "amount": dict(unit["amount"]),
            "custom_id": unit.get("custom_id"),
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
        }
        self.captures[cap["id"]] = cap
        unit["payments"] = {"captures": [cap]}
        order["status"] = "COMPLETED"
        return cap

    def approve(self, order_id: str) -> None:
        with self.lock:
            self.orders[order_id]["_approved"] = True
            self.orders[order_id]["status"] = "APPROVED"

    def capture_now(self, order_id: str, *, value: str | None = None) -> dict[str, Any]:
        """The order is captured at PayPal without our return call (e.g. the buyer closed the tab)."""
        with self.lock:
            order = self.orders[order_id]
            if value is not None:
                order["purchase_units"][0]["amount"] = {**order["purchase_units"][0]["amount"], "value": value}
            return dict(self._capture(order))

    def order(self, order_id: str) -> dict[str, Any]:
        """The order as PayPal shows it (the resource of ``CHECKOUT.ORDER.*`` events)."""
        with self.lock:
            return json.loads(json.dumps(_public(self.orders[order_id])))

    def sign(self, body: str) -> dict[str, str]:
        """Transmission headers PayPal would send with ``body`` (known to verify-webhook-signature)."""
        transmission = str(uuid.uuid4())
        self.signatures[transmission] = body
        return {
            "PAYPAL-TRANSMISSION-ID": transmission,
            "PAYPAL-TRANSMISSION-TIME": "2026-11-26T12:00:00Z",
            "PAYPAL-TRANSMISSION-SIG": f"sig-{transmission}",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-test",
            "Content-Type": "application/json",
        }

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def session(self) -> requests.Session:
        fake = self

        class Adapter(BaseAdapter):
            def send(self, request, **kwargs):
                parts = urlsplit(request.url)
                body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
                status, data = fake.handle(
                    request.method, parts.path, parse_qs(parts.query), body, dict(request.headers)
                )
                response = Response()
                response.status_code, response.url, response.request = status, request.url, request
                response.headers["Content-Type"] = "application/json"
                response._content = json.dumps(_public(data)).encode()
                return response

            def close(self):
                pass

        http = requests.Session()
        http.mount("http://", Adapter())
        http.mount("https://", Adapter())
        return http


def paypal_event(event_type: str, resource: dict[str, Any], *, resource_type: str = "capture") -> str:
    return json.dumps(
        {
            "id": _next("WH").upper(),
            "event_version": "1.0",
            "event_type": event_type,
            "resource_type": resource_type,
            "resource": _public(resource),
        }
    )
