#!/usr/bin/env python3
"""The intake benchmark: ``POST /api/v1/leads`` on the real prod server.

Run from the project root::

    .venv/bin/python bench/intake.py            # full size: open loop 30 s, closed loops 15 s each
    .venv/bin/python bench/intake.py --quick    # the same phases, a few seconds each

What it starts (and stops on exit, Ctrl-C included), all private to this run:

- PostgreSQL (EmbeddedPostgres, NORMAL durability: fsync/synchronous_commit on) and
  Redis (EmbeddedRedis) in a temporary folder on free ports; never the system's
  5432 / 6379, never the ``make run`` data under ``.hotlead/``;
- a fresh database migrated with alembic, with one niche (``bench-roofing``);
- the real prod server: a private copy of the app in ``.hotlead/bench-app/`` (its
  ``.web`` and node_modules are kept between runs) started with
  ``python -m reflex run --env prod --frontend-port PORT``: Granian, the compiled
  frontend, the websocket and the API on one port, as ``make run`` does.  Its
  environment raises the submit rate limit and sets ``HOTLEAD_BENCH_BARE=1``, which
  adds ``GET /bench/bare`` (a bare FastAPI JSON answer on the same stack) and ``GET
  /bench/write`` (the same answer after one durable write: one INSERT and its commit
  through psycopg, on the app's connection pool, into the small table
  ``bench_writes`` this script creates in its throw-away database).
  No Celery worker runs during the load: as in production the request only writes the
  confirmation e-mail job to the outbox table; publishing it is the outbox relay's
  work (a thread of each Celery worker).  After the load phases the script runs that
  relay (``outbox.relay_once``, the worker's own loop) on everything queued and prints
  its cost per job, so the work moved out of the request stays in view.
- the load generator: N OS processes (``--gen-procs``, default 2), each one asyncio
  loop holding keep-alive connections.  Its client is a minimal HTTP/1.1 client on
  asyncio protocols (40-70 us of CPU per request) rather than httpx.AsyncClient,
  which costs 1.5-5 ms of CPU per request in this venv and would take a good part
  of the 2 cores the server is measured on; ``--client httpx`` uses httpx instead.

Phases
  1. warm-up of both endpoints (not measured);
  2. open loop: ``--rate`` requests/s (default 200) for ``--duration`` s (default 30)
     on a fixed schedule whatever the answers; each request's latency counts from
     its SCHEDULED send time (no coordinated omission); the generator's own lag
     behind the schedule is printed too;
  3. closed loop: ``--clients`` (default 32) clients each sending its next request
     as soon as the previous one answered, ``--closed-duration`` s (default 15),
     on ``GET /bench/bare``, then ``GET /bench/write``, then ``POST /api/v1/leads``;
     the ratio leads/write (target >= 50 %: a lead is one durable write plus its
     validation, rate limit and token) and, for the record, leads/bare; what the
     CPU per request allows (the server work per lead beyond the durable write that
     50 % leaves), and the floor: the CPU of the two calls no implementation can
     skip (the rate-limit hit and the lead's INSERT + commit), made in this process
     without any web framework;
  4. the outbox relay on the jobs the phases wrote (see above);
  5. every phase prints the CPU the server, PostgreSQL, Redis, the generator and
     the rest of the machine used (from /proc; the open loop also per 5 s beside
     its p99), the server's and PostgreSQL's CPU per request (the figure a busy
     box disturbs least), and how many PostgreSQL connections the server opened.

Other options: ``--rate``, ``--duration``, ``--clients``, ``--closed-duration``,
``--gen-procs``, ``--connections``, ``--granian-workers N`` (GRANIAN_WORKERS for the
server), ``--fast-unsafe`` (PostgreSQL without fsync), ``--only open|closed``,
``--client httpx``, ``--hold S`` (keep everything up S seconds, e.g. for py-spy).

Targets: open loop p99 < 50 ms at 200 req/s with no errors; closed-loop leads
throughput >= 50 % of the durable-write endpoint's (issue 15; it was >= 40 % of the
bare endpoint's, which measured no write at all).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.servers import BenchServers  # noqa: E402
from hotlead_app.devstack.harness import point_settings_at  # noqa: E402
from hotlead_app.infra.migrations import migrate  # noqa: E402

APP_COPY = ROOT / ".hotlead" / "bench-app"
DB_NAME = "hotlead"
NICHE_SLUG = "bench-roofing"
NICHE_FIELDS = [
    {"name": "zip", "label": "ZIP code", "type": "zip", "required": True},
    {
        "name": "roof_type",
        "label": "Roof type",
        "type": "select",
        "required": True,
        "options": ["asphalt", "metal", "tile", "flat"],
    },
    {"name": "area_sqft", "label": "Roof area (sq ft)", "type": "number", "required": False},
    {"name": "details", "label": "Anything else?", "type": "text", "required": False},
]
LEADS_PATH = "/api/v1/leads"
BARE_PATH = "/bench/bare"
WRITE_PATH = "/bench/write"
WRITE_TABLE = "bench_writes"  # hotlead_app/api/ops.py BENCH_WRITE_TABLE


def say(msg: str = "") -> None:
    print(msg, flush=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", flush=True)


# --------------------------------------------------------------------------- CPU accounting (/proc)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgid, cpu ticks incl. reaped children) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[0] is state (stat field 3): ppid=4, pgrp=5, utime=14, stime=15, cutime=16, cstime=17
    return int(fields[1]), int(fields[2]), sum(int(x) for x in fields[11:15])


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _machine_ticks() -> tuple[int, int]:
    """(busy, steal) jiffies of the whole machine, all CPUs: busy is user + nice +
    system + irq + softirq; steal is time the hypervisor gave to someone else."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]] + [0] * 8
    return parts[0] + parts[1] + parts[2] + parts[5] + parts[6], parts[7]


@dataclass
class CpuGroups:
    """Which processes belong to what: the server's process group, PostgreSQL
    (postmaster and its children), Redis, and the generator processes."""

    server_pgid: int | None = None
    postmaster: int | None = None
    redis: int | None = None
    generator: tuple[int, ...] = ()

    def snapshot(self) -> dict[str, float]:
        ticks = {"server": 0, "postgres": 0, "redis": 0, "generator": 0}
        workers: dict[int, int] = {}
        gen = set(self.generator) | {os.getpid()}
        for pid in _all_pids():
            st = _proc_stat(pid)
            if st is None:
                continue
            ppid, pgid, t = st
            if self.server_pgid is not None and pgid == self.server_pgid:
                ticks["server"] += t
                workers[pid] = t
            elif pid == self.postmaster or (self.postmaster is not None and ppid == self.postmaster):
                ticks["postgres"] += t
            elif pid == self.redis:
                ticks["redis"] += t
            elif pid in gen:
                ticks["generator"] += t
        busy, steal = _machine_ticks()
        snap = {k: v / CLK_TCK for k, v in ticks.items()}
        snap["machine_busy"] = busy / CLK_TCK
        snap["steal"] = steal / CLK_TCK
        snap["wall"] = time.monotonic()
        snap["workers"] = {pid: t / CLK_TCK for pid, t in workers.items()}
        return snap


class Sampler:
    """CPU snapshots once a second during a phase, in a thread of this process."""

    def __init__(self, groups: CpuGroups) -> None:
        import threading

        self.groups = groups
        self.samples: list[dict] = []
        self.t0 = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, first: dict) -> None:
        self.t0 = first["wall"]
        self.samples.append(first)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(self.groups.snapshot())

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def cores(self, t_from: float, t_to: float) -> str:
        inside = [s for s in self.samples if t_from - 0.5 <= s["wall"] - self.t0 <= t_to + 0.5]
        if len(inside) < 2:
            return "-"
        a, b = inside[0], inside[-1]
        wall = b["wall"] - a["wall"]
        server = (b["server"] - a["server"]) / wall
        pg = (b["postgres"] - a["postgres"]) / wall
        ours = sum(b[k] - a[k] for k in ("server", "postgres", "redis", "generator")) / wall
        rest = max(0.0, (b["machine_busy"] - a["machine_busy"]) / wall - ours)
        return f"server {server:.2f}, postgres {pg:.2f}, rest {rest:.2f}"


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """Seconds of CPU per request of each party between two snapshots."""
    return {k: (after[k] - before[k]) / max(1, requests) for k in ("server", "postgres", "redis", "generator")}


def cpu_line(before: dict, after: dict, requests: int = 0) -> str:
    """Cores each party used between two snapshots, and (given the requests served)
    the server's and PostgreSQL's CPU per request: the figure a busy box disturbs least."""
    wall = after["wall"] - before["wall"]
    used = {k: (after[k] - before[k]) / wall for k in ("server", "postgres", "redis", "generator")}
    # The whole machine's busy time, from /proc/stat (all CPUs, in cores).
    machine = (after["machine_busy"] - before["machine_busy"]) / wall
    steal = (after["steal"] - before["steal"]) / wall
    other = max(0.0, machine - sum(used.values()))
    per_worker = sorted(
        ((after["workers"][p] - before["workers"].get(p, 0.0)) / wall for p in after["workers"]), reverse=True
    )
    busy_workers = ", ".join(f"{x:.2f}" for x in per_worker if x >= 0.01) or "none"
    return (
        f"CPU in cores over {wall:.1f} s: server {used['server']:.2f} (per process: {busy_workers}), "
        f"postgres {used['postgres']:.2f}, redis {used['redis']:.2f}, generator {used['generator']:.2f}, "
        f"rest of the machine {other:.2f}; machine busy {machine:.2f} of {os.cpu_count()}, steal {steal:.2f}"
        + (
            f"; CPU per request: server {(after['server'] - before['server']) / requests * 1000:.2f} ms, "
            f"postgres {(after['postgres'] - before['postgres']) / requests * 1000:.2f} ms, "
            f"redis {(after['redis'] - before['redis']) / requests * 1000:.2f} ms"
            if requests
            else ""
        )
    )


# --------------------------------------------------------------------------- load generator (child processes)
#
# Each generator process runs one asyncio loop holding a fixed set of keep-alive
# connections.  The default client is a minimal HTTP/1.1 client on asyncio
# protocols (about 40-70 us of CPU per request here), because httpx.AsyncClient
# costs 1.5-5 ms of CPU per request in this venv (httpcore retries a failing
# `import sniffio` on every request, and its pool work grows with the connections),
# which on a 2-core box would take the CPU the server is being measured on.
# `--client httpx` runs the same phases through httpx.AsyncClient for comparison.


def lead_body(run: str, proc: int, n: int) -> bytes:
    # A JSON template: with %, its braces stay literal.
    return (
        '{"niche":"%s","email":"b%s.%d.%d@bench.example","phone":"+1 404 555 %04d",'  # noqa: UP031
        '"payload":{"zip":"30301","roof_type":"metal","area_sqft":1800,"details":"Leak near the chimney"},'
        '"referrer_url":"https://www.example.com/roofs","utm_params":{"utm_source":"bench","utm_medium":"cpc"}}'
        % (NICHE_SLUG, run, proc, n, n % 10000)
    ).encode()


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-q * len(sorted_values) // 100)))  # ceil(q/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


class RequestFailed(Exception):
    pass


class _RawProtocol(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.transport = None
        self.buf = bytearray()
        self.fut: asyncio.Future | None = None
        self.timer = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.head_end = -1
        self.need = -1  # total bytes of a content-length response
        self.chunked = False
        self.close_after = False
        self.status = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._finish(RequestFailed("connection closed"))

    def _finish(self, result) -> None:
        fut, self.fut = self.fut, None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if fut is not None and not fut.done():
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                fut.set_result(result)

    def _timed_out(self) -> None:
        self.timer = None
        self._finish(TimeoutError())
        self.transport.close()  # the connection's state is unknown now

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.fut is None:
            return
        if self.head_end < 0:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return
            head = bytes(self.buf[:i]).lower()
            self.head_end = i + 4
            try:
                self.status = int(head[9:12])
            except ValueError:
                self._finish(RequestFailed("bad status line"))
                self.transport.close()
                return
            self.close_after = b"\r\nconnection: close" in head
            m = head.find(b"\r\ncontent-length:")
            if m >= 0:
                e = head.find(b"\r\n", m + 2)
                self.need = self.head_end + int(head[m + 17 : e if e >= 0 else len(head)])
            elif b"\r\ntransfer-encoding: chunked" in head:
                self.chunked = True
            else:
                self.need = self.head_end  # no body (a 204/304, or read-until-close is not expected here)
        if self.chunked:
            pos = self.head_end
            while True:  # walk the chunks present so far
                e = self.buf.find(b"\r\n", pos)
                if e < 0:
                    return
                size = int(bytes(self.buf[pos:e]).split(b";")[0], 16)
                if size == 0:
                    end = self.buf.find(b"\r\n\r\n", e)
                    if end < 0:
                        return
                    self.need = end + 4
                    break
                pos = e + 2 + size + 2
                if pos > len(self.buf):
                    return
        if len(self.buf) >= self.need:
            del self.buf[: self.need]
            status, close_after = self.status, self.close_after
            self._reset()
            self._finish(status)
            if close_after:
                self.transport.close()

    def request(self, data: bytes, timeout: float) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        self.fut = loop.create_future()
        self.timer = loop.call_later(timeout, self._timed_out)
        self.transport.write(data)
        return self.fut


class RawClient:
    """A keep-alive connection that reconnects when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.proto: _RawProtocol | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, self.proto = await asyncio.wait_for(loop.create_connection(_RawProtocol, self.host, self.port), self.timeout)

    async def send(self, data: bytes) -> int:
        if self.proto is None or self.proto.closed:
            await self.connect()
        return await self.proto.request(data, self.timeout)

    def close(self) -> None:
        if self.proto is not None and self.proto.transport is not None:
            self.proto.transport.close()


class HttpxClient:
    """The same interface over one shared httpx.AsyncClient (``--client httpx``)."""

    def __init__(self, shared) -> None:
        self.shared = shared

    async def connect(self) -> None:
        pass

    async def send(self, data: bytes) -> int:
        head, _, body = data.partition(b"\r\n\r\n")
        method, path, _ = head.split(b" ", 2)
        if method == b"POST":
            resp = await self.shared.post(path.decode(), content=body, headers={"content-type": "application/json"})
        else:
            resp = await self.shared.get(path.decode())
        return resp.status_code

    def close(self) -> None:
        pass


class Requests:
    """The bytes of each request: one fixed GET (bare or write), or a POST with a unique email."""

    def __init__(self, job: dict) -> None:
        host = f"127.0.0.1:{job['port']}"
        self.kind, self.run, self.idx = job["kind"], job["run"], job["idx"]
        path = WRITE_PATH if self.kind == "write" else BARE_PATH
        self.get = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hotlead-bench\r\nAccept: */*\r\n\r\n").encode()
        self.post_head = (
            f"POST {LEADS_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hotlead-bench\r\n"
            "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        )
        self.ok = 201 if self.kind == "leads" else 200

    def make(self, n: int) -> bytes:
        if self.kind != "leads":
            return self.get
        body = lead_body(self.run, self.idx, n)
        return (self.post_head % len(body)).encode() + body


async def _clients(job: dict, count: int):
    """``count`` connected clients and what to close afterwards."""
    if job["client"] == "httpx":
        import httpx

        shared = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{job['port']}",
            trust_env=False,
            timeout=job["timeout"],
            limits=httpx.Limits(max_connections=count, max_keepalive_connections=count),
        )
        return [HttpxClient(shared) for _ in range(count)], shared
    clients = [RawClient("127.0.0.1", job["port"], job["timeout"]) for _ in range(count)]
    await asyncio.gather(*(c.connect() for c in clients))
    return clients, None


async def _open_loop(job: dict) -> dict:
    """Requests on a fixed schedule (rate/N per process, the processes interleaved),
    handed to the first free connection; latency counts from the scheduled time."""
    rate, nprocs, idx = job["rate"], job["nprocs"], job["idx"]
    interval = nprocs / rate
    offset = idx / rate
    count = 0
    while offset + count * interval < job["duration"] - 1e-9:
        count += 1
    start = job["start_at"]
    reqs = Requests(job)
    clients, shared = await _clients(job, job["connections"])
    queue: asyncio.Queue = asyncio.Queue()
    # (scheduler lag, wait for a free connection, latency from schedule, end offset, outcome)
    records: list[tuple[float, float, float, float, str]] = []

    async def connection(client) -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            n, t_sched, lag = item
            t_send = time.monotonic()
            try:
                status = await client.send(reqs.make(job["seq0"] + n))
                outcome = "ok" if status == reqs.ok else f"HTTP {status}"
            except Exception as exc:
                outcome = type(exc).__name__
            end = time.monotonic()
            records.append((lag, t_send - t_sched, end - t_sched, end - start, outcome))

    workers = [asyncio.ensure_future(connection(c)) for c in clients]
    now = time.monotonic()
    if start > now:
        await asyncio.sleep(start - now)
    k = 0
    while k < count:
        t_sched = start + offset + k * interval
        now = time.monotonic()
        if t_sched > now:
            await asyncio.sleep(t_sched - now)
            now = time.monotonic()
        # Hand out everything that is due (catching up if this loop was late).
        while k < count and start + offset + k * interval <= now + 0.0002:
            t_k = start + offset + k * interval
            queue.put_nowait((k, t_k, now - t_k))
            k += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    for c in clients:
        c.close()
    if shared is not None:
        await shared.aclose()
    return {"records": records, "sent": count}


async def _closed_loop(job: dict) -> dict:
    """Each client sends its next request as soon as the previous one answered."""
    start, end = job["start_at"], job["start_at"] + job["duration"]
    reqs = Requests(job)
    clients, shared = await _clients(job, job["clients"])
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    seq = [job["seq0"]]

    async def run(client) -> None:
        now = time.monotonic()
        if start > now:
            await asyncio.sleep(start - now)
        while True:
            t0 = time.monotonic()
            if t0 >= end:
                return
            seq[0] += 1
            try:
                status = await client.send(reqs.make(seq[0]))
                outcome = "ok" if status == reqs.ok else f"HTTP {status}"
            except Exception as exc:
                outcome = type(exc).__name__
            t1 = time.monotonic()
            if t1 <= end:  # only what completed inside the window counts
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "ok":
                    latencies.append(t1 - t0)

    await asyncio.gather(*(run(c) for c in clients))
    for c in clients:
        c.close()
    if shared is not None:
        await shared.aclose()
    return {"latencies": latencies, "outcomes": outcomes, "seq": seq[0]}


def _generator_main(conn, idx: int) -> None:
    """One generator process: runs the jobs its pipe sends until it gets None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    import resource

    while True:
        job = conn.recv()
        if job is None:
            return
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        runner = _open_loop if job["mode"] == "open" else _closed_loop
        try:
            result = asyncio.run(runner(job))
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        result["wall"] = time.monotonic() - max(t0, job["start_at"])
        conn.send(result)


class Generator:
    """N generator OS processes, each with its own asyncio loop and connections."""

    def __init__(self, nprocs: int, port: int, client: str) -> None:
        ctx = mp.get_context("spawn")
        self.port = port
        self.client = client
        self.run = uuid.uuid4().hex[:8]
        self.seq = 0
        self.pipes = []
        self.procs = []
        for i in range(nprocs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_generator_main, args=(child, i), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.procs if p.pid)

    def _run(self, jobs: list[dict], timeout: float, on_start=None) -> list[dict]:
        """Run one job per process; ``on_start`` is called at the jobs' common start
        time (the CPU snapshot of the phase), while they run."""
        for pipe, job in zip(self.pipes, jobs, strict=True):
            pipe.send(job)
        if on_start is not None:
            time.sleep(max(0.0, jobs[0]["start_at"] - time.monotonic()))
            on_start()
        results = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError("a generator process did not answer in time")
            res = pipe.recv()
            if "error" in res:
                raise RuntimeError(f"generator process failed: {res['error']}")
            results.append(res)
        return results

    def _common(self, kind: str, duration: float, timeout: float, span: int) -> dict:
        seq0, self.seq = self.seq, self.seq + span
        return {
            "kind": kind,
            "port": self.port,
            "run": self.run,
            "client": self.client,
            "duration": duration,
            "start_at": time.monotonic() + 2.0,
            "timeout": timeout,
            "seq0": seq0,
            "nprocs": len(self.procs),
        }

    def open_loop(
        self, kind: str, rate: float, duration: float, timeout: float, connections: int, on_start=None
    ) -> list[dict]:
        common = self._common(kind, duration, timeout, int(rate * duration) + len(self.procs) + 1)
        jobs = [dict(common, mode="open", idx=i, rate=rate, connections=connections) for i in range(len(self.procs))]
        return self._run(jobs, timeout=duration + timeout + 60, on_start=on_start)

    def closed_loop(self, kind: str, clients: int, duration: float, timeout: float, on_start=None) -> list[dict]:
        n = len(self.procs)
        common = self._common(kind, duration, timeout, 10_000_000)
        share = [clients // n + (1 if i < clients % n else 0) for i in range(n)]
        jobs = [dict(common, mode="closed", idx=i, clients=share[i]) for i in range(n)]
        return self._run(jobs, timeout=duration + timeout + 60, on_start=on_start)

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(None)
            except (OSError, BrokenPipeError):
                pass
        for proc in self.procs:
            proc.join(timeout=2)  # busy in a job (interrupted run): stop it
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


# --------------------------------------------------------------------------- servers


class Servers(BenchServers):
    """The benchmarks' one set-up (bench/servers.py), plus the web server under test."""

    def __init__(self, fast_unsafe: bool) -> None:
        super().__init__("hotlead-bench-intake-", fast_unsafe=fast_unsafe)
        self.web: subprocess.Popen | None = None


def copy_app(target: Path) -> None:
    """As tests/conftest.py ``_copy_app``: a private copy of the app's sources (and
    the pinned frontend lock), so ``make run``'s ``.web`` is never touched; the
    copy's ``.web`` and node_modules are kept between runs."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("hotlead_app", "workers", "assets", "reflex.lock"):
        shutil.rmtree(target / name, ignore_errors=True)
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "rxconfig.py", target / "rxconfig.py")


def server_env(db_url: str, redis_url: str, url: str, granian_workers: int | None) -> dict[str, str]:
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("HOTLEAD_")]:
        del env[key]  # nothing of the caller's own configuration leaks in
    env.update(
        HOTLEAD_ENV="prod",
        HOTLEAD_SECRET_KEY=secrets.token_urlsafe(48),
        HOTLEAD_BOOTSTRAP_ADMIN_PASSWORD=secrets.token_urlsafe(16),
        HOTLEAD_DATABASE_URL=db_url,
        HOTLEAD_REDIS_URL=redis_url,
        HOTLEAD_PUBLIC_URL=url,
        HOTLEAD_SMTP_URL="smtp://127.0.0.1:9",  # the web process sends no mail; nothing is listening
        HOTLEAD_RATE_LIMIT_SUBMIT="1000000/minute",
        HOTLEAD_BENCH_BARE="1",
        REFLEX_API_URL=url,
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        TELEMETRY_ENABLED="false",
        NEXT_TELEMETRY_DISABLED="1",
    )
    env.pop("GRANIAN_WORKERS", None)
    if granian_workers:
        env["GRANIAN_WORKERS"] = str(granian_workers)
    return env


def http_status(url: str) -> int | None:
    try:
        req = urllib.request.Request(url, headers={"user-agent": "hotlead-bench"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=3) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception:
        return None


def start_web(srv: Servers, db_url: str, port: int, granian_workers: int | None) -> tuple[str, Path]:
    url = f"http://127.0.0.1:{port}"
    copy_app(APP_COPY)
    log_path = APP_COPY / "web.log"
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--frontend-port", str(port)]
    log(
        f"prod server: `{' '.join(cmd[1:])}` in {APP_COPY.relative_to(ROOT)} (log {log_path.relative_to(ROOT)}); "
        "the frontend build takes a minute or more"
    )
    with open(log_path, "wb") as handle:
        srv.web = subprocess.Popen(
            cmd,
            cwd=APP_COPY,
            env=server_env(db_url, srv.redis.url(0), url, granian_workers),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv.children.append(srv.web)  # stopped first by close()
    t0 = time.monotonic()
    deadline = t0 + 900
    while time.monotonic() < deadline:
        if srv.web.poll() is not None:
            raise RuntimeError(f"reflex run exited with {srv.web.returncode}:\n{log_path.read_text()[-5000:]}")
        if http_status(f"{url}/healthz") == 200 and http_status(f"{url}{BARE_PATH}") == 200:
            break
        time.sleep(1)
    else:
        raise RuntimeError(f"the prod server did not answer within 900 s:\n{log_path.read_text()[-5000:]}")
    page = http_status(f"{url}/n/{NICHE_SLUG}")
    log(f"prod server up in {time.monotonic() - t0:.0f} s: /healthz 200, {BARE_PATH} 200, /n/{NICHE_SLUG} {page}")
    return url, log_path


def server_processes(pgid: int) -> list[str]:
    out = []
    for pid in _all_pids():
        st = _proc_stat(pid)
        if st is None or st[1] != pgid:
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out.append(f"{pid} ppid {st[0]}: {cmd[:90]}")
    return out


def db_counts(srv: Servers) -> tuple[int, int, int]:
    """Leads, outbox jobs, and the jobs not yet published (the relay runs in the
    Celery workers; none runs during the load phases)."""
    import psycopg

    with psycopg.connect(srv.pg.conninfo(DB_NAME)) as conn:
        leads = conn.execute("SELECT count(*) FROM leads WHERE consent_version <> %s", (FLOOR_CONSENT,)).fetchone()[0]
        jobs, unpublished = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox WHERE task <> 'bench.floor'"
        ).fetchone()
    return leads, jobs, unpublished


def create_write_table(srv: Servers) -> None:
    """The durable-write endpoint's table, in this run's throw-away database only."""
    import psycopg

    with psycopg.connect(srv.pg.conninfo(DB_NAME)) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {WRITE_TABLE} "
            "(id bigserial PRIMARY KEY, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )


def bench_writes(srv: Servers) -> int:
    import psycopg

    with psycopg.connect(srv.pg.conninfo(DB_NAME)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {WRITE_TABLE}").fetchone()[0])


def broker_queue(srv: Servers, queue: str) -> int:
    import redis as _redis

    client = _redis.Redis.from_url(srv.redis.url())
    try:
        return client.llen(queue)
    finally:
        client.close()


def pg_sessions(srv: Servers) -> int:
    """Sessions ever opened on the bench database (pg_stat_database.sessions): how
    many new PostgreSQL connections the server made (each one a backend fork)."""
    import psycopg

    with psycopg.connect(srv.pg.conninfo("postgres")) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        return conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (DB_NAME,)).fetchone()[0]


# --------------------------------------------------------------------------- reporting


def outcome_text(outcomes: dict[str, int]) -> str:
    bad = {k: v for k, v in outcomes.items() if k != "ok"}
    if not bad:
        return "0"
    return f"{sum(bad.values())} (" + ", ".join(f"{k} x{v}" for k, v in sorted(bad.items())) + ")"


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def merge_outcomes(results: list[dict]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for r in results:
        for k, v in r["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
    return outcomes


def generator_cpu(results: list[dict]) -> str:
    cpu = sum(r["cpu"] for r in results)
    wall = max(r["wall"] for r in results)
    return f"{cpu:.1f} s CPU = {cpu / wall:.2f} cores"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short phases (open loop 6 s, closed loops 5 s)")
    ap.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s (default 200)")
    ap.add_argument("--duration", type=float, default=None, help="open-loop seconds (default 30, --quick 6)")
    ap.add_argument("--clients", type=int, default=32, help="closed-loop concurrent clients (default 32)")
    ap.add_argument("--closed-duration", type=float, default=None, help="closed-loop seconds (default 15, --quick 5)")
    ap.add_argument("--warmup", type=float, default=None, help="warm-up seconds per endpoint (default 5, --quick 3)")
    ap.add_argument("--gen-procs", type=int, default=2, help="load generator OS processes (default 2)")
    ap.add_argument(
        "--connections",
        type=int,
        default=32,
        help="open loop: keep-alive connections per generator process (default 32)",
    )
    ap.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: minimal asyncio HTTP/1.1 client (default, cheapest); httpx: httpx.AsyncClient",
    )
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in s (default 30)")
    ap.add_argument(
        "--granian-workers",
        type=int,
        default=None,
        help="GRANIAN_WORKERS for the server (default unset: Reflex's own choice)",
    )
    ap.add_argument(
        "--fast-unsafe",
        action="store_true",
        help="PostgreSQL with fsync/synchronous_commit off (default: durable, as in production)",
    )
    ap.add_argument("--only", choices=("all", "open", "closed"), default="all", help="run only some phases")
    ap.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="keep everything running this many seconds after the run (for profiling)",
    )
    args = ap.parse_args(argv)
    if args.duration is None:
        args.duration = 6.0 if args.quick else 30.0
    if args.closed_duration is None:
        args.closed_duration = 5.0 if args.quick else 15.0
    if args.warmup is None:
        args.warmup = 3.0 if args.quick else 5.0
    return args


def run_open_loop(args, gen: Generator, groups: CpuGroups, srv: Servers, summary: list[str]) -> None:
    leads_before = db_counts(srv)[0]
    sessions_before = pg_sessions(srv)
    log(
        f"open loop: POST {LEADS_PATH} at {args.rate:.0f} req/s for {args.duration:.0f} s "
        f"({args.gen_procs} processes x {args.rate / args.gen_procs:.0f} req/s on interleaved schedules, "
        f"{args.connections} keep-alive connections each)"
    )
    snaps: list[dict] = []
    sampler = Sampler(groups)
    res = gen.open_loop(
        "leads",
        args.rate,
        args.duration,
        args.timeout,
        args.connections,
        on_start=lambda: (snaps.append(groups.snapshot()), sampler.start(snaps[0])),
    )
    sampler.stop()
    c0, c1 = snaps[0], groups.snapshot()
    # record: (scheduler lag, wait for a free connection, latency from schedule, end offset, outcome)
    records = [rec for r in res for rec in r["records"]]
    sent = sum(r["sent"] for r in res)
    outcomes: dict[str, int] = {}
    for rec in records:
        outcomes[rec[4]] = outcomes.get(rec[4], 0) + 1
    ok_lat = sorted(rec[2] for rec in records if rec[4] == "ok")
    all_lat = sorted(rec[2] for rec in records)
    lags = sorted(rec[0] for rec in records)
    waits = sorted(rec[1] for rec in records)
    window = max(args.duration, max((rec[3] for rec in records), default=args.duration))
    n_ok = outcomes.get("ok", 0)
    achieved = n_ok / window
    say(
        f"    sent {sent} on schedule ({sent / args.duration:.1f} req/s scheduled); {n_ok} answered 201; "
        f"achieved {achieved:.1f} req/s (201 answers / {window:.2f} s from the first send to the last answer)"
    )
    say(f"    errors: {outcome_text(outcomes)}")
    say(
        f"    latency from the SCHEDULED send, 201 answers (ms): p50 {ms(_percentile(ok_lat, 50))}  "
        f"p95 {ms(_percentile(ok_lat, 95))}  p99 {ms(_percentile(ok_lat, 99))}  "
        f"p99.9 {ms(_percentile(ok_lat, 99.9))}  max {ms(ok_lat[-1]) if ok_lat else 'nan'}"
        + (f"   (all answers incl. errors: p99 {ms(_percentile(all_lat, 99))})" if len(all_lat) != n_ok else "")
    )
    say(
        f"    generator: scheduler lag p50 {ms(_percentile(lags, 50))} p99 {ms(_percentile(lags, 99))} "
        f"max {ms(lags[-1]) if lags else 'nan'} ms; scheduled-to-written (lag + waiting for a free connection) "
        f"p99 {ms(_percentile(waits, 99))} max {ms(waits[-1]) if waits else 'nan'} ms; {generator_cpu(res)}"
    )
    say(f"    {cpu_line(c0, c1, len(records))}")
    # Per 5 s of the run: p99 of the requests scheduled then, and who used the CPU then
    # (a latency spike that meets a busy rest-of-machine is the box, not the server).
    say("    per 5 s: p99 of the requests scheduled in it | cores used by server, postgres, rest of the machine")
    for t in range(0, int(args.duration + 0.999), 5):
        sl = sorted(rec[2] for rec in records if rec[4] == "ok" and t <= rec[3] - rec[2] < t + 5)
        say(
            f"      {t:3d}-{t + 5:<3d}s  p99 {ms(_percentile(sl, 99)) if sl else '-':>8} ms  | {sampler.cores(t, t + 5)}"
        )
    time.sleep(1.0)  # let the server's backends report their sessions
    say(
        f"    leads stored during the phase: {db_counts(srv)[0] - leads_before} (201 answers {n_ok}); "
        f"new PostgreSQL connections opened by the server: {pg_sessions(srv) - sessions_before - 1}"
    )
    p99 = _percentile(ok_lat, 99)
    open_ok = n_ok == sent and p99 < 0.050 and achieved >= 0.98 * args.rate
    summary.append(
        f"open loop {args.rate:.0f} req/s x {args.duration:.0f} s, POST {LEADS_PATH}: achieved {achieved:.1f} req/s, "
        f"errors {outcome_text(outcomes)}, latency p50 {ms(_percentile(ok_lat, 50))} ms, "
        f"p95 {ms(_percentile(ok_lat, 95))} ms, p99 {ms(p99)} ms"
    )
    summary.append(f"  p99 < 50 ms at {args.rate:.0f} req/s (with no errors and the rate held): {verdict(open_ok)}")


def run_closed_loops(args, gen: Generator, groups: CpuGroups, srv: Servers, summary: list[str]) -> None:
    closed: dict[str, float] = {}
    cost: dict[str, dict[str, float]] = {}
    # Bare first: nothing the write phases leave behind (autovacuum, checkpoints) runs under it.
    for kind, label in (("bare", f"GET {BARE_PATH}"), ("write", f"GET {WRITE_PATH}"), ("leads", f"POST {LEADS_PATH}")):
        written_before = bench_writes(srv)
        log(f"closed loop: {label}, {args.clients} clients for {args.closed_duration:.0f} s")
        sessions_before = pg_sessions(srv)
        snaps: list[dict] = []
        res = gen.closed_loop(
            kind,
            args.clients,
            args.closed_duration,
            args.timeout,
            on_start=lambda snaps=snaps: snaps.append(groups.snapshot()),
        )
        c0, c1 = snaps[0], groups.snapshot()
        outcomes = merge_outcomes(res)
        lat = sorted(x for r in res for x in r["latencies"])
        rps = outcomes.get("ok", 0) / args.closed_duration
        closed[kind] = rps
        say(
            f"    {outcomes.get('ok', 0)} OK in {args.closed_duration:.0f} s = {rps:.1f} req/s; errors "
            f"{outcome_text(outcomes)}; latency (ms) p50 {ms(_percentile(lat, 50))} "
            f"p95 {ms(_percentile(lat, 95))} p99 {ms(_percentile(lat, 99))}; generator {generator_cpu(res)}"
        )
        say(f"    {cpu_line(c0, c1, sum(outcomes.values()))}")
        cost[kind] = cpu_per_request(c0, c1, sum(outcomes.values()))
        time.sleep(1.0)
        say(f"    new PostgreSQL connections opened by the server: {pg_sessions(srv) - sessions_before}")
        if kind == "write":
            say(f"    rows the phase wrote into {WRITE_TABLE}: {bench_writes(srv) - written_before}")
        summary.append(
            f"closed loop {args.clients} clients x {args.closed_duration:.0f} s, {label}: {rps:.1f} req/s "
            f"(errors {outcome_text(outcomes)}, p50 {ms(_percentile(lat, 50))} ms, "
            f"p99 {ms(_percentile(lat, 99))} ms)"
        )
        time.sleep(2)
    ratio = closed["leads"] / closed["write"] if closed["write"] else 0.0
    bare_ratio = closed["leads"] / closed["bare"] if closed["bare"] else 0.0
    summary.append(
        f"  leads / durable write = {closed['leads']:.1f} / {closed['write']:.1f} = {ratio:.1%} "
        f"(target >= 50%): {verdict(ratio >= 0.50)}"
    )
    summary.append(
        f"  for the record: leads / bare = {closed['leads']:.1f} / {closed['bare']:.1f} = {bare_ratio:.1%}; "
        f"durable write / bare = {closed['write'] / closed['bare'] if closed['bare'] else 0.0:.1%}"
    )
    summary.extend(ceiling_lines(cost["bare"], cost["write"], cost["leads"], floor_cpu(srv)))


FLOOR_CONSENT = "bench-floor"  # marks the floor's rows


def floor_cpu(srv: Servers, n: int = 1000) -> dict[str, float]:
    """CPU per lead of the two calls no implementation of the endpoint can skip,
    made here without any web framework: the rate-limit hit (the ``limits`` package
    on Redis, as the app does) and the lead's one SQL statement (lead, audit row and
    outbox job) with its commit, on one raw psycopg connection (prepared after 5 uses).
    Best of 3 rounds of ``n``, in seconds."""
    import json as _json
    from datetime import datetime, timedelta

    import psycopg

    from hotlead_app.services import intake, ratelimit

    log(f"floor: the rate-limit hit and the lead's INSERT + commit alone, {n} times x 3, no framework")
    sql = intake._INSERT_SUBMISSION
    conn = psycopg.connect(srv.pg.conninfo(DB_NAME))
    try:
        niche_id = conn.execute("SELECT id FROM niches WHERE slug = %s", (NICHE_SLUG,)).fetchone()[0]
        conn.commit()

        def params() -> dict:
            lead_id = uuid.uuid4()
            return {
                "id": lead_id,
                "niche_id": niche_id,
                "payload": '{"zip": "30301", "roof_type": "metal"}',
                "email": f"floor.{lead_id.hex[:12]}@bench.example",
                "phone": None,
                "consumer_email": f"floor.{lead_id.hex[:12]}@bench.example",
                "consumer_phone": None,
                "referrer_url": None,
                "utm_params": None,
                "partner_code": None,
                "name": "Floor Bench",
                "consent_version": FLOOR_CONSENT,
                "consent_ip": "10.9.9.9",
                "consent_user_agent": "bench",
                "token_hash": lead_id.hex * 2,
                "expires_at": datetime.now(UTC) + timedelta(hours=48),
                "audit_id": uuid.uuid4(),
                "audit_after": '{"status": "pending_confirmation"}',
                "outbox_id": uuid.uuid4(),
                "task": "bench.floor",
                "outbox_args": _json.dumps({"lead_id": str(lead_id)}),
            }

        def limit() -> None:
            ratelimit.hit("submit", "10.9.9.9", limit="100000000/minute")

        def insert() -> None:
            conn.execute(sql, params())
            conn.commit()

        out = {}
        for name, fn in (("limit", limit), ("insert", insert)):
            for _ in range(50):
                fn()
            rounds = []
            for _ in range(3):
                c0 = time.process_time()
                for _ in range(n):
                    fn()
                rounds.append((time.process_time() - c0) / n)
            out[name] = min(rounds)
        # Not the run's leads (db_counts leaves them out); their jobs are no one's to publish.
        conn.execute("UPDATE outbox SET published_at = now(), dispatched_at = now() WHERE task = 'bench.floor'")
        conn.commit()
    finally:
        conn.close()
    say(f"    rate-limit hit {out['limit'] * 1e3:.2f} ms, INSERT + commit {out['insert'] * 1e3:.2f} ms of CPU each")
    return out


def ceiling_lines(
    bare: dict[str, float], write: dict[str, float], leads: dict[str, float], floor: dict[str, float]
) -> list[str]:
    """What the machine allows, from the CPU each request cost (closed loops, all
    cores busy).  With the CPU the bottleneck, leads / write is the write's total cost
    over the lead's; 50 % leaves the lead as much CPU again as the whole durable-write
    request takes.  The floor is the CPU no implementation of a lead can skip."""

    def total(c: dict[str, float]) -> float:
        return c["server"] + c["generator"] + c["postgres"] + c["redis"]

    def parts(c: dict[str, float]) -> str:
        return (
            f"server {c['server'] * 1e3:.2f} + generator {c['generator'] * 1e3:.2f} + PostgreSQL "
            f"{c['postgres'] * 1e3:.2f} + Redis {c['redis'] * 1e3:.2f} = {total(c) * 1e3:.2f}"
        )

    allowed = total(write) / 0.50  # what a lead may cost in all for 50 %
    beyond = total(leads) - total(write)
    return [
        f"  CPU per request (ms): bare = {parts(bare)}; durable write = {parts(write)}; lead = {parts(leads)}",
        f"  CPU-bound estimate of leads / write: {total(write) / total(leads) if total(leads) else 0.0:.1%}; "
        f"50 % allows a lead {allowed * 1e3:.2f} ms of CPU in all, i.e. {(allowed - total(write)) * 1e3:.2f} ms "
        f"beyond the durable-write request (it takes {beyond * 1e3:.2f} ms: server "
        f"{(leads['server'] - write['server']) * 1e3:.2f}, PostgreSQL {(leads['postgres'] - write['postgres']) * 1e3:.2f}, "
        f"Redis {(leads['redis'] - write['redis']) * 1e3:.2f}, generator "
        f"{(leads['generator'] - write['generator']) * 1e3:.2f})",
        f"  floor without any framework: the rate-limit hit {floor['limit'] * 1e3:.2f} ms + the lead's INSERT and "
        f"commit {floor['insert'] * 1e3:.2f} ms = {(floor['limit'] + floor['insert']) * 1e3:.2f} ms of CPU in this "
        f"process (the write endpoint's one INSERT costs PostgreSQL {write['postgres'] * 1e3:.2f} ms; the lead's, "
        f"with its audit row and outbox job, {leads['postgres'] * 1e3:.2f} ms)",
    ]


def run_relay(srv: Servers, summary: list[str], groups: CpuGroups) -> None:
    """The outbox relay a Celery worker runs, here in this process on everything the
    load phases queued: what publishing the confirmation-email jobs costs."""
    from hotlead_app.services import outbox

    _, _jobs, waiting = db_counts(srv)
    log(f"outbox relay (the loop every Celery worker runs): publishing the {waiting} jobs the phases wrote")
    queued_before = broker_queue(srv, "email")
    c0, t0, w0 = groups.snapshot(), time.process_time(), time.perf_counter()
    sent = 0
    while True:
        n = outbox.relay_once()
        if n == 0:
            break
        sent += n
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    c1 = groups.snapshot()
    pg_ms = (c1["postgres"] - c0["postgres"]) / max(1, sent) * 1e3
    redis_ms = (c1["redis"] - c0["redis"]) / max(1, sent) * 1e3
    queued = broker_queue(srv, "email") - queued_before
    say(
        f"    published {sent} in {wall:.1f} s = {sent / wall if wall else 0:.0f} jobs/s; CPU per job: relay "
        f"{cpu / max(1, sent) * 1e3:.2f} ms, postgres {pg_ms:.2f} ms, redis {redis_ms:.2f} ms; "
        f"now waiting in the broker's email queue: {queued}"
    )
    summary.append(
        f"outbox relay: {sent} jobs published in {wall:.1f} s ({sent / wall if wall else 0:.0f}/s, "
        f"{cpu / max(1, sent) * 1e3:.2f} ms CPU each in the worker), {queued} now in the broker's queue, "
        f"{db_counts(srv)[2]} left unpublished"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGHUP, _term)
    # Ctrl-C must reach the clean-up even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    exe = sys.executable
    if exe.startswith(str(Path.cwd()) + os.sep):
        exe = os.path.relpath(exe)
    say(f"command: {shlex.join([exe, *sys.argv])}")
    from importlib.metadata import version

    load = os.getloadavg()
    b0 = _machine_ticks()[0]
    time.sleep(1.0)
    busy = (_machine_ticks()[0] - b0) / CLK_TCK
    say(
        f"environment: {os.cpu_count()} cores, Python {platform.python_version()} ({sys.executable}), "
        f"{platform.system()} {platform.release()}; reflex {version('reflex')}, granian {version('granian')}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, CPU busy before the start {busy:.2f} cores"
        + ("  (WARNING: the box is busy; figures will be noisy)" if busy > 0.2 else "")
    )

    from hotlead_app.devstack.embedded import free_port

    srv = Servers(fast_unsafe=args.fast_unsafe)
    gen: Generator | None = None
    summary: list[str] = []
    try:
        log(
            f"private PostgreSQL (port {srv.pg.port}, "
            f"{'fsync OFF (--fast-unsafe)' if args.fast_unsafe else 'durable: fsync and synchronous_commit on'}) "
            f"and Redis (port {srv.redis.port}) in {srv.tmp}"
        )
        srv.start()
        srv.pg.ensure_database(DB_NAME)
        db_url = srv.pg.url(DB_NAME)
        migrate(db_url)
        point_settings_at(database_url=db_url, redis_url=srv.redis.url(0))
        from hotlead_app.services.bootstrap import ensure_niche

        ensure_niche(slug=NICHE_SLUG, name="Bench Roofing", fields=NICHE_FIELDS)
        create_write_table(srv)
        log(f"database {DB_NAME} migrated with alembic; niche {NICHE_SLUG} and table {WRITE_TABLE} created")

        port = free_port()
        url, web_log = start_web(srv, db_url, port, args.granian_workers)
        procs = server_processes(srv.web.pid)
        say(
            f"    server process group: {len(procs)} processes (the Granian supervisor and {len(procs) - 1} workers; "
            f"GRANIAN_WORKERS {args.granian_workers or 'unset: Reflex default'})"
        )

        gen = Generator(args.gen_procs, port, args.client)
        groups = CpuGroups(
            server_pgid=srv.web.pid, postmaster=srv.postmaster_pid(), redis=srv.redis.process.pid, generator=gen.pids
        )
        say(
            f"    load generator: {args.gen_procs} OS processes, each one asyncio loop with "
            + ("a minimal HTTP/1.1 keep-alive client" if args.client == "raw" else "one httpx.AsyncClient")
        )

        log(f"warm-up: {args.warmup:.0f} s closed loop on each endpoint, {args.clients} clients")
        for kind in ("bare", "write", "leads"):
            res = gen.closed_loop(kind, args.clients, args.warmup, args.timeout)
            outcomes = merge_outcomes(res)
            say(f"    warm-up {kind}: {sum(outcomes.values())} requests, errors {outcome_text(outcomes)}")
        time.sleep(2)

        if args.only in ("all", "open"):
            run_open_loop(args, gen, groups, srv, summary)
            time.sleep(2)
        if args.only in ("all", "closed"):
            run_closed_loops(args, gen, groups, srv, summary)

        leads, jobs, waiting = db_counts(srv)
        relay_summary: list[str] = []
        run_relay(srv, relay_summary, groups)
        say()
        say("=" * 100)
        say("SUMMARY")
        for line in summary:
            say(line)
        say(
            f"database check: {leads} leads stored in all (warm-up included); {jobs} outbox jobs written, "
            f"{waiting} of them unpublished after the load (no worker, hence no relay, ran during it)"
        )
        for line in relay_summary:
            say(line)
        say(
            f"load generator: {args.gen_procs} OS processes ({args.client} client); server: reflex run --env prod "
            f"(Granian, {len(procs) - 1} worker processes); PostgreSQL "
            f"{'fsync off' if args.fast_unsafe else 'durable'}; no Celery worker; total runtime "
            f"{time.monotonic() - started:.0f} s; load average now " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        if args.hold > 0:
            say(f"holding for {args.hold:.0f} s: server {url} (process group {srv.web.pid}), log {web_log}")
            time.sleep(args.hold)
        return 0
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        return 130
    finally:
        if gen is not None:
            gen.close()
        srv.close()
        say("cleaned up: generator processes, prod server, PostgreSQL, Redis and the temporary folder are gone")


if __name__ == "__main__":
    sys.exit(main())
