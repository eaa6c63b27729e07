"""Helpers shared by the tests and the benchmarks that drive real processes:
re-pointing this process's settings, waiting for a condition, and stopping a process
group.  (Migrating a database: ``hotlead_app.infra.migrations``.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request


def point_settings_at(*, database_url: str | None = None, redis_url: str | None = None) -> None:
    """Point this process's settings, engine and Celery app at other servers."""
    from hotlead_app.db import reset_engine
    from hotlead_app.infra.queue import reset_celery
    from hotlead_app.settings import get_settings

    if database_url is not None:
        os.environ["HOTLEAD_DATABASE_URL"] = database_url
    if redis_url is not None:
        os.environ["HOTLEAD_REDIS_URL"] = redis_url
    get_settings.cache_clear()
    reset_engine()
    reset_celery()


def wait_for(predicate, *, timeout: float, interval: float = 0.1, message: str = "condition"):
    """The predicate's first truthy value, or AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except Exception:
        return False


def stop_process_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the child's process group, SIGKILL whatever is left, reap the child."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
