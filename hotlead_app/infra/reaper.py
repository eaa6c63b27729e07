"""Throw-away servers die with the process that started them.

Tests and benchmarks start private PostgreSQL and Redis servers and stop them when
they finish.  A run that is killed (SIGKILL, a CI timeout, a closed terminal) never
gets to: PostgreSQL, started through ``pg_ctl``, is not its child and keeps running,
and so does Redis in its own session, with their data in /var/tmp.  ``watch(owner,
server)`` starts a small detached process that waits for the owner to end and then
stops the server and deletes its data; when the owner stopped it itself, the reaper
finds nothing left to do.  Servers meant to outlive their starter (``make
services``, ``make run``'s data in .hotlead/) are never watched.

``watch_group(owner, pgid)`` does the same for a process group started in its own
session (a test run's Celery worker or web server): SIGTERM, then SIGKILL 10 s later.

    python -m hotlead_app.infra.reaper OWNER_PID pg|redis DATA_DIR PORT
    python -m hotlead_app.infra.reaper OWNER_PID group PGID
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5


def watch(owner_pid: int, kind: str, data_dir: Path, port: int) -> subprocess.Popen:
    """Start the reaper of one server (``kind``: ``pg`` or ``redis``)."""
    return _spawn(str(owner_pid), kind, str(data_dir), str(port))


def watch_group(owner_pid: int, pgid: int) -> subprocess.Popen:
    """Start the reaper of a process group (a leader started with ``start_new_session``)."""
    return _spawn(str(owner_pid), "group", str(pgid))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hotlead_app.infra.reaper", *args],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or a kill of the owner's group does not reach it
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (the owner died, its parent has not reaped it yet) is gone for our purpose.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def reap(kind: str, data_dir: Path, port: int) -> None:
    from hotlead_app.infra.embedded import EmbeddedPostgres, EmbeddedRedis

    if not (data_dir.exists() or data_dir.is_symlink()):
        return  # the owner cleaned up after itself
    if kind == "pg":
        EmbeddedPostgres(data_dir, port).destroy()
    elif kind == "redis":
        redis = EmbeddedRedis(data_dir, port)
        if redis.stop_orphan():
            deadline = time.monotonic() + 15
            while redis.pid_path.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        shutil.rmtree(data_dir, ignore_errors=True)
        redis.log_path.unlink(missing_ok=True)
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


def reap_group(pgid: int) -> None:
    import signal

    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return  # stopped by its owner already
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    owner, kind = int(argv[0]), argv[1]
    while alive(owner):
        time.sleep(POLL_SECONDS)
    if kind == "group":
        reap_group(int(argv[2]))
    else:
        reap(kind, Path(argv[2]), int(argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
