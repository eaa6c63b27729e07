"""Helpers for the monitoring tests: read an exposition text, start a Celery worker that
exports its metrics on a port of its own, and give each test its own Redis database
(so a worker another test left running never takes these tests' tasks)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hotlead_app.devstack.embedded import free_port
from hotlead_app.infra.queue import QUEUES
from hotlead_app.settings import PROJECT_ROOT
from tests.conftest import child_env, wait_for

_redis_dbs = itertools.count(3)  # db 0 is the shared broker, 1 Reflex's state


def own_redis_url(redis_server) -> str:
    return redis_server.url(next(_redis_dbs) % 16 or 3)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:  # not listening (yet)
        return 0, str(exc)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition text: (name, labels) -> value."""
    out: dict[tuple[str, frozenset], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text_or_samples, name: str, **labels: str) -> float:
    """The sample's value (0 when absent)."""
    found = samples(text_or_samples) if isinstance(text_or_samples, str) else text_or_samples
    return found.get((name, frozenset(labels.items())), 0.0)


def sample_names(text: str) -> set[str]:
    return {name for name, _labels in samples(text)}


def start_metrics_worker(
    *, database_url: str, redis_url: str, smtp_url: str, workdir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int, Path]:
    """A real ``celery worker`` (prefork, 2 processes) exporting on a free port, with its own
    PROMETHEUS_MULTIPROC_DIR, as `make run` and the containers start it."""
    workdir.mkdir(parents=True, exist_ok=True)
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir(exist_ok=True)
    port = free_port()
    log = workdir / "worker.log"
    env = child_env(
        database_url,
        redis_url,
        HOTLEAD_SMTP_URL=smtp_url,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        HOTLEAD_WORKER_METRICS_PORT=str(port),
        **(extra_env or {}),
    )
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                QUEUES,
                f"--hostname=metrics-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(
        lambda: proc.poll() is not None or fetch(f"http://127.0.0.1:{port}/metrics")[0] == 200,
        timeout=90,
        interval=0.3,
        message="the worker's metrics port",
    )
    if proc.poll() is not None:
        raise RuntimeError(f"Celery worker exited:\n{log.read_text()[-5000:]}")
    return proc, port, log
