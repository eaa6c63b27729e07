#!/usr/bin/env python3
"""Where a lead's server CPU goes beyond one durable write, in this process (no HTTP).

Run from the project root (about 1 min)::

    .venv/bin/python bench/intake_parts.py

It starts its own PostgreSQL and Redis (``bench/servers.py``), migrates a throw-away
database, creates the bench's ``bench_writes`` table and ``bench/intake.py``'s niche,
then prints the best of 3 rounds of CPU per call (``time.process_time``, so a busy box
disturbs it little) of: the body of ``GET /bench/write`` (one INSERT and commit on a
pooled psycopg connection), ``intake.submit_lead`` (the service behind ``POST
/api/v1/leads``), and the parts of the latter: the form validation, the rate-limit
hit, the confirmation token, the consumer's phone in E.164, and the submission's one
statement with its commit on ``db.raw_transaction`` (fixed parameters), beside a unit
of work around one ``SELECT 1`` (what an ORM session and its commit cost, which the
submission no longer pays).  What ``bench/intake.py`` measures in the
server beyond these is the HTTP layer (the body read and parsed into the request
model, the answer serialised)."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.intake import DB_NAME, NICHE_FIELDS, NICHE_SLUG, WRITE_TABLE  # noqa: E402
from bench.servers import BenchServers  # noqa: E402
from hotlead_app.devstack.harness import point_settings_at  # noqa: E402
from hotlead_app.infra.migrations import migrate  # noqa: E402

CALLS = 1500


def best_cpu(fn: Callable[[], object], calls: int = CALLS) -> float:
    """Seconds of this process's CPU per call: 100 warm-up calls, best of 3 rounds."""
    for _ in range(100):
        fn()
    rounds = []
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(calls):
            fn()
        rounds.append((time.process_time() - c0) / calls)
    return min(rounds)


def main() -> int:
    os.environ["HOTLEAD_RATE_LIMIT_SUBMIT"] = "100000000/minute"
    with BenchServers("hotlead-bench-parts-") as srv:
        srv.pg.ensure_database(DB_NAME)
        url = srv.pg.url(DB_NAME)
        migrate(url)
        point_settings_at(database_url=url, redis_url=srv.redis.url(0))
        import psycopg
        from sqlalchemy import text

        from hotlead_app.api.ops import _bench_write
        from hotlead_app.db import raw_transaction, unit_of_work
        from hotlead_app.domain.consent import ClientInfo
        from hotlead_app.domain.controls import consumer_phone
        from hotlead_app.domain.forms import validate_submission
        from hotlead_app.services import intake, ratelimit
        from hotlead_app.services.bootstrap import ensure_niche

        with psycopg.connect(srv.pg.conninfo(DB_NAME)) as conn:
            conn.execute(
                f"CREATE TABLE {WRITE_TABLE} "
                "(id bigserial PRIMARY KEY, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
        ensure_niche(slug=NICHE_SLUG, name="Bench Roofing", fields=NICHE_FIELDS)
        payload = {"zip": "30301", "roof_type": "metal", "area_sqft": 1800, "details": "Leak near the chimney"}
        client = ClientInfo(ip="10.1.2.3", user_agent="hotlead-bench")

        def lead() -> None:
            intake.submit_lead(
                niche_slug=NICHE_SLUG,
                email=f"parts.{uuid.uuid4().hex[:12]}@bench.example",
                phone="+1 555 010 0000",
                payload=payload,
                referrer_url="https://www.example.com/roofs",
                utm_params={"utm_source": "bench", "utm_medium": "cpc"},
                client=client,
            )

        niche_id = intake._active_niche(NICHE_SLUG)
        assert niche_id is not None

        def statement() -> None:
            lead_id = uuid.uuid4()
            with raw_transaction() as cursor:
                cursor.execute(
                    intake._INSERT_SUBMISSION,
                    {
                        "id": lead_id,
                        "niche_id": niche_id[0],
                        "payload": '{"zip": "30301", "roof_type": "metal"}',
                        "email": f"stmt.{lead_id.hex[:12]}@bench.example",
                        "phone": "+15550100000",
                        "consumer_email": f"stmt.{lead_id.hex[:12]}@bench.example",
                        "consumer_phone": "+15550100000",
                        "referrer_url": None,
                        "utm_params": None,
                        "partner_code": None,
                        "consent_version": "bench-parts",
                        "consent_ip": "10.1.2.3",
                        "consent_user_agent": "hotlead-bench",
                        "token_hash": lead_id.hex * 2,
                        "expires_at": datetime.now(UTC) + timedelta(hours=48),
                        "audit_id": uuid.uuid4(),
                        "audit_after": '{"status": "pending_confirmation"}',
                        "outbox_id": uuid.uuid4(),
                        "task": "bench.parts",
                        "outbox_args": json.dumps({"lead_id": str(lead_id)}),
                    },
                )

        def session_select() -> None:
            with unit_of_work() as uow:
                uow.session.execute(text("SELECT 1"))

        cases: dict[str, Callable[[], object]] = {
            "GET /bench/write's body: one INSERT + commit, pooled psycopg": _bench_write,
            "intake.submit_lead, the whole service call": lead,
            "  validate_submission (the form, email, phone)": lambda: validate_submission(
                NICHE_FIELDS, email="a.b@bench.example", phone="+1 555 010 0000", payload=payload
            ),
            "  the rate-limit hit (Redis)": lambda: ratelimit.hit("submit", "10.1.2.3"),
            "  the confirmation token's fields": lambda: intake._token_fields(uuid.uuid4()),
            "  the consumer's phone in E.164": lambda: consumer_phone("+1 555 010 0000"),
            "  the submission's statement + commit (db.raw_transaction)": statement,
            "for comparison: a unit of work around SELECT 1 (ORM session + commit)": session_select,
        }
        print(f"load average {os.getloadavg()[0]:.2f}; CPU of this process per call, best of 3 x {CALLS}:")
        for name, fn in cases.items():
            print(f"  {name}: {best_cpu(fn) * 1e3:.3f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
