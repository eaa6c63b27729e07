"""Throw-away servers go away with the process that started them, even when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from hotlead_app.devstack.embedded import _port_open
from hotlead_app.settings import PROJECT_ROOT
from tests.conftest import wait_for

OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hotlead_app.devstack.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
    base = Path(sys.argv[1])
    pg = EmbeddedPostgres(base / "pg", free_port(), fast_unsafe=True, reap_with_owner=True)
    redis = EmbeddedRedis(base / "redis", free_port(), persistent=False, reap_with_owner=True)
    pg.start(); redis.start()
    print(pg.port, redis.port, pg.real_dir, flush=True)
    time.sleep(600)
""")


def _start_owner(base: Path) -> tuple[subprocess.Popen, int, int, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(base)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pg_port, redis_port, real = proc.stdout.readline().split()
    return proc, int(pg_port), int(redis_port), Path(real)


def test_a_killed_owner_leaves_no_server_and_no_data_behind(tmp_path):
    proc, pg_port, redis_port, real = _start_owner(tmp_path)
    try:
        assert _port_open(pg_port) and _port_open(redis_port)
        assert (real / "PG_VERSION").exists()
        time.sleep(1.5)  # the servers outlive a moment of their owner's life...
        assert _port_open(pg_port) and _port_open(redis_port)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # ...but not its death (no clean-up code runs)
        proc.wait()
    wait_for(
        lambda: not _port_open(pg_port) and not _port_open(redis_port),
        timeout=30,
        message="both servers to stop after their owner was killed",
    )
    wait_for(
        lambda: not real.exists() and not (tmp_path / "redis").exists(),
        timeout=10,
        message="their data folders to be deleted",
    )


def test_servers_not_marked_throw_away_outlive_their_owner(tmp_path):
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from hotlead_app.devstack.embedded import EmbeddedRedis, free_port
        redis = EmbeddedRedis(Path(sys.argv[1]) / "redis", free_port(), persistent=False)
        redis.start()
        print(redis.port, redis.process.pid, flush=True)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    port, pid = int(out[0]), int(out[1])
    try:
        time.sleep(1.5)
        assert _port_open(port), "a server started without reap_with_owner stays up"
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not _port_open(port), timeout=15, message="the test's own clean-up")


def test_a_watched_process_group_is_stopped_when_its_owner_dies(tmp_path):
    """How a test run's Celery worker and web server go when the run is killed."""
    code = textwrap.dedent("""
        import os, subprocess, sys, time
        from hotlead_app.devstack import reaper
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        reaper.watch_group(os.getpid(), child.pid)
        print(child.pid, flush=True)
        time.sleep(600)
    """)
    owner = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    child = int(owner.stdout.readline())
    try:
        time.sleep(1.0)
        assert Path(f"/proc/{child}").exists()
    finally:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait()

    def gone() -> bool:
        try:
            return Path(f"/proc/{child}/stat").read_text().split(") ", 1)[1][:1] == "Z"
        except OSError:
            return True

    wait_for(gone, timeout=15, message="the watched group to be stopped")
