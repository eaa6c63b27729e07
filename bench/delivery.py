#!/usr/bin/env python3
"""Speed to lead: from an admin's approval to the provider's receiver holding the
signed delivery (issue 15, "Speed").

Run from the project root::

    .venv/bin/python bench/delivery.py            # 20 approvals/s for 60 s, ~4 min
    .venv/bin/python bench/delivery.py --quick    # 5 approvals/s for 20 s, ~2 min

Everything runs against servers this script starts and throws away (bench/servers.py):
a private PostgreSQL (durable) and Redis, and the production path in between — the
approval's outbox row, the outbox relay, a Celery worker distributing (``-Q
distribution,celery,email``, prefork, as in production) and a Celery worker sending
webhooks (``-Q webhooks``, thread pool: the POSTs wait on the network, not the CPU).

The market: one niche, one level shared by ``--per-lead`` providers (default 5) of
``--providers`` (default 200), each with one endpoint on a receiver in this process;
3 of the endpoints answer after 2 s and 1 answers 500.  Each approval is timed from just
before the approval's service call (the admin's request minus HTTP) to the moment the
receiver holds the delivery, its signature checked.

Two passes of the same length: (A) with the slow and failing endpoints, (B) with them
turned off, so that their effect on the healthy endpoints' p99 shows.  Then the
engine-only share: distributions run in this process with no worker (the same SQL and
the same delivery rows), their median against the speed-to-lead median.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import BenchServers  # noqa: E402
from hotlead_app.devstack.embedded import free_port  # noqa: E402
from hotlead_app.devstack.harness import point_settings_at, stop_process_group  # noqa: E402
from hotlead_app.infra.migrations import migrate  # noqa: E402

DB = "bench_delivery"
SLOW_SECONDS = 2.0
TARGET_P99 = 1.0


def say(msg: str = "") -> None:
    print(msg, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


# --------------------------------------------------------------------------- the receiver


@dataclass
class Receiver:
    secrets: dict[str, bytes] = field(default_factory=dict)  # path -> signing secret
    arrivals: list[tuple[float, str, str, str]] = field(default_factory=list)  # (t, kind, lead_id, delivery_id)
    bad_signatures: int = 0

    def start(self) -> int:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                held = time.time()
                kind = self.path.rsplit("/", 1)[-1]
                fields = dict(p.split("=", 1) for p in self.headers.get("Hotlead-Signature", "t=0,v1=").split(","))
                secret = receiver.secrets.get(self.path, b"")
                good = hmac.compare_digest(
                    fields.get("v1", ""),
                    hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest(),
                )
                lead_id = json.loads(body).get("data", {}).get("lead_id", "")
                with lock:
                    if not good:
                        receiver.bad_signatures += 1
                    receiver.arrivals.append((held, kind, lead_id, self.headers.get("Hotlead-Delivery", "")))
                if kind == "slow":
                    time.sleep(SLOW_SECONDS)
                status = 500 if kind == "failing" else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        port = free_port()
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return port


# --------------------------------------------------------------------------- set-up


def seed(providers: int, per_lead: int, leads: int, port: int, receiver: Receiver) -> dict:
    """The market through the services; the leads (waiting for approval) in bulk SQL."""
    import psycopg

    from hotlead_app.domain.actors import Actor, admin
    from hotlead_app.services import catalog, ledger, webhooks
    from hotlead_app.settings import get_settings

    actor = admin()
    niche = catalog.create_niche(
        slug="bench-delivery",
        name="Bench delivery",
        fields=[{"name": "zip", "type": "zip", "required": True}],
        actor=actor,
    )
    level = catalog.create_level(
        niche_id=niche.id, name="Shared", price_per_lead="5.00", max_providers=per_lead, priority_order=1, actor=actor
    )
    endpoints: dict[str, list[uuid.UUID]] = {"slow": [], "failing": [], "healthy": []}
    for i in range(providers):
        p = catalog.create_provider(name=f"Bench provider {i}", email=f"p{i}@bench.example", actor=actor)
        ledger.post(provider_id=p.id, type="deposit", amount="10000.00", key=f"bench:deposit:{p.id}")
        catalog.create_subscription(competition_level_id=level.id, filters={}, actor=actor, provider_id=p.id)
        kind = "slow" if i < 3 else "failing" if i == 3 else "healthy"
        path = f"/p/{i}/{kind}"
        made = webhooks.create_endpoint(
            actor=Actor(role="provider", provider_id=p.id), url=f"http://127.0.0.1:{port}{path}"
        )
        receiver.secrets[path] = made.secret.encode()
        endpoints[kind].append(made.endpoint.id)
    dsn = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO leads (id, niche_id, status, payload, email, confirmed_at, created_at) "
                "SELECT gen_random_uuid(), %s, 'pending_approval', jsonb_build_object('zip', '30301'), "
                "       'lead' || g || '@bench.example', now(), now() - interval '1 hour' + g * interval '1 ms' "
                "FROM generate_series(1, %s) g RETURNING id",
                (niche.id, leads),
            ).fetchall()
        ]
        conn.execute("VACUUM ANALYZE")
    return {"lead_ids": ids, "endpoints": endpoints, "dsn": dsn}


def start_workers(srv: BenchServers, database_url: str, redis_url: str, webhook_threads: int) -> None:
    from hotlead_app.devstack.runner import celery_command, child_env

    env = child_env({"HOTLEAD_ENV": "dev", "HOTLEAD_DATABASE_URL": database_url, "HOTLEAD_REDIS_URL": redis_url})
    specs = [
        ("main", ["-Q", "distribution,celery,email", "--concurrency=2"]),
        ("webhooks", ["-Q", "webhooks", "--pool=threads", f"--concurrency={webhook_threads}"]),
    ]
    logs = []
    for name, extra in specs:
        log = srv.tmp / f"worker-{name}.log"
        with open(log, "wb") as handle:
            proc = subprocess.Popen(
                celery_command(
                    "worker",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    f"--hostname=bench-{name}@%h",
                    *extra,
                ),
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        srv.children.append(proc)
        logs.append((proc, log))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p, _ in logs):
            raise RuntimeError("a worker exited:\n" + "\n".join(log.read_text()[-2000:] for _, log in logs))
        if all(b"ready" in log.read_bytes() for _, log in logs):
            return
        time.sleep(0.2)
    raise RuntimeError("workers not ready within 120 s")


# --------------------------------------------------------------------------- one pass


@dataclass
class PassResult:
    name: str
    approvals: int
    achieved_rate: float
    healthy: list[float]
    slow: list[float]
    failing: list[float]
    to_distribution: list[float]
    missing: int


def run_pass(name: str, lead_ids: list, rate: float, receiver: Receiver, dsn: str) -> PassResult:
    import psycopg

    from hotlead_app.domain.actors import admin
    from hotlead_app.services import leads

    actor = admin()
    approved_at: dict[str, float] = {}
    start = time.time()
    for i, lead_id in enumerate(lead_ids):
        wait = start + i / rate - time.time()
        if wait > 0:
            time.sleep(wait)
        approved_at[str(lead_id)] = time.time()
        leads.approve_lead(lead_id=lead_id, actor=actor)
    achieved = len(lead_ids) / max(time.time() - start, 1e-9)
    wanted = {str(x) for x in lead_ids}
    expected = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.time() + 30
        while time.time() < deadline:
            got = sum(1 for a in list(receiver.arrivals) if a[2] in wanted)
            row = conn.execute(
                "SELECT (SELECT count(*) FROM leads WHERE id = ANY(%(ids)s) AND status = 'distributed'), "
                "       (SELECT count(*) FROM webhook_deliveries d JOIN lead_assignments a ON a.id = d.assignment_id "
                "         WHERE a.lead_id = ANY(%(ids)s) AND d.type = 'lead.assigned')",
                {"ids": list(lead_ids)},
            ).fetchone()
            assert row is not None
            done, expected = row
            if done == len(lead_ids) and got >= expected:
                break
            time.sleep(0.2)
        distributed: dict[str, float | None] = dict(
            conn.execute(
                "SELECT id::text, extract(epoch FROM distributed_at) FROM leads WHERE id = ANY(%s)", (list(lead_ids),)
            ).fetchall()
        )
    by_kind: dict[str, list[float]] = {"healthy": [], "slow": [], "failing": []}
    seen = 0
    for held, kind, lead_id, _ in list(receiver.arrivals):
        if lead_id in approved_at:
            by_kind[kind].append(held - approved_at[lead_id])
            seen += 1
    to_distribution = [float(d) - approved_at[k] for k in approved_at if (d := distributed.get(k)) is not None]
    return PassResult(
        name, len(lead_ids), achieved, by_kind["healthy"], by_kind["slow"], by_kind["failing"], to_distribution,
        max(0, expected - seen),
    )  # fmt: skip


def engine_only(lead_ids: list) -> list[float]:
    """Distributions in this process, no worker: the engine's SQL and its delivery rows."""
    from hotlead_app.domain.actors import admin
    from hotlead_app.services import distribution, leads

    times = []
    for lead_id in lead_ids:
        leads.approve_lead(lead_id=lead_id, actor=admin())
        t0 = time.perf_counter()
        assert distribution.distribute_lead(lead_id=lead_id).outcome == "distributed"
        times.append(time.perf_counter() - t0)
    return times


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def report(r: PassResult) -> None:
    say(f"  pass {r.name}: {r.approvals} approvals at {r.achieved_rate:.1f}/s; deliveries missing: {r.missing}")
    say(
        f"    healthy endpoints ({len(r.healthy)} deliveries): p50 {ms(pct(r.healthy, 50))}, "
        f"p99 {ms(pct(r.healthy, 99))}, max {ms(max(r.healthy, default=float('nan')))}"
    )
    if r.slow or r.failing:
        say(f"    slow endpoints ({len(r.slow)}): p50 {ms(pct(r.slow, 50))} (they answer after {SLOW_SECONDS:g} s)")
        say(f"    failing endpoint ({len(r.failing)}): first attempt held at p50 {ms(pct(r.failing, 50))}")
    say(
        f"    approval -> distribution transaction start: p50 {ms(pct(r.to_distribution, 50))}, p99 {ms(pct(r.to_distribution, 99))}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 approvals/s for 20 s per pass")
    ap.add_argument("--rate", type=float, default=None, help="approvals per second (default 20; quick 5)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per pass (default 60; quick 20)")
    ap.add_argument("--providers", type=int, default=200)
    ap.add_argument("--per-lead", type=int, default=5, help="providers per lead (the level's max_providers)")
    ap.add_argument("--webhook-threads", type=int, default=16)
    ap.add_argument("--engine-leads", type=int, default=30)
    args = ap.parse_args(argv)
    rate = args.rate or (5.0 if args.quick else 20.0)
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    per_pass = int(rate * seconds)

    say(
        f"Speed to lead: {args.providers} providers, {args.per_lead} per lead, {rate:g} approvals/s for {seconds:g} s per pass"
    )
    say(f"  machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start")
    with BenchServers("hotlead-bench-delivery-") as srv:
        srv.pg.ensure_database(DB)
        database_url = srv.pg.url(DB)
        migrate(database_url)
        redis_url = srv.redis.url(0)
        point_settings_at(database_url=database_url, redis_url=redis_url)
        receiver = Receiver()
        port = receiver.start()
        world = seed(args.providers, args.per_lead, 2 * per_pass + args.engine_leads, port, receiver)
        ids = world["lead_ids"]
        start_workers(srv, database_url, redis_url, args.webhook_threads)
        time.sleep(1.0)

        a = run_pass("A (3 slow + 1 failing endpoints)", ids[:per_pass], rate, receiver, world["dsn"])
        from hotlead_app.db import unit_of_work
        from hotlead_app.models import WebhookEndpoint

        with unit_of_work() as uow:  # pass B: the slow and failing endpoints turned off
            for eid in world["endpoints"]["slow"] + world["endpoints"]["failing"]:
                endpoint = uow.session.get(WebhookEndpoint, eid)
                assert endpoint is not None
                endpoint.active = False
                uow.session.add(endpoint)
        b = run_pass("B (healthy endpoints only)", ids[per_pass : 2 * per_pass], rate, receiver, world["dsn"])
        for proc in list(srv.children):
            stop_process_group(proc)
        srv.children.clear()
        engine = engine_only(ids[2 * per_pass :])

    say()
    report(a)
    report(b)
    share = statistics.median(engine) / pct(a.healthy, 50) if a.healthy else float("nan")
    say(
        f"  engine only (distribution + its delivery rows, in process, {len(engine)} leads): "
        f"median {ms(statistics.median(engine))}, p99 {ms(pct(engine, 99))}; "
        f"share of the speed-to-lead median: {share * 100:.0f} %"
    )
    say(f"  bad signatures at the receiver: {receiver.bad_signatures}; load at the end {os.getloadavg()[0]:.2f}")
    ok = pct(a.healthy, 99) < TARGET_P99
    say(
        f"  target p99 < {TARGET_P99:g} s for healthy endpoints: {'met' if ok else 'MISSED'} "
        f"({ms(pct(a.healthy, 99))} with slow/failing endpoints, {ms(pct(b.healthy, 99))} without)"
    )
    say()
    say("| pass | approvals/s | healthy p50 | healthy p99 | engine median | engine share |")
    say("|---|---|---|---|---|---|")
    for r in (a, b):
        say(
            f"| {r.name} | {r.achieved_rate:.1f} | {ms(pct(r.healthy, 50))} | {ms(pct(r.healthy, 99))} | "
            f"{ms(statistics.median(engine))} | {share * 100:.0f} % |"
        )
    return 0 if receiver.bad_signatures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
