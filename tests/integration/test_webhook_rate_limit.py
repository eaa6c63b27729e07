"""The webhook routes are rate-limited per processor and client address, before the
body is read or the signature checked (a flood of forged events costs no
verification call and writes nothing)."""

from __future__ import annotations

import httpx
import redis

from hotlead_app.settings import get_settings
from tests.integration.payments_helpers import rows


def test_forged_webhooks_past_the_limit_get_429_before_any_verification(db, api_server, redis_server, monkeypatch):
    monkeypatch.setenv("HOTLEAD_RATE_LIMIT_WEBHOOK", "3/minute")
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_server.url())
    for key in client.scan_iter("*webhook*"):
        client.delete(key)
    answers = [
        httpx.post(
            f"{api_server}/api/v1/webhooks/stripe",
            content=b'{"id": "evt_forged"}',
            headers={"Stripe-Signature": "t=1,v1=forged", "Content-Type": "application/json"},
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 429], [a.text for a in answers]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    # Another processor's route counts on its own.
    paypal = httpx.post(f"{api_server}/api/v1/webhooks/paypal", content=b"{}", headers={})
    assert paypal.status_code == 400, paypal.text
    assert rows("SELECT id FROM webhook_events") == []
    get_settings.cache_clear()
