"""Throw-away servers die with the process that started them.

Tests and benchmarks start private PostgreSQL and Redis servers and stop them when
they finish.  A run that is killed (SIGKILL, a CI timeout, a closed terminal) never
gets to: PostgreSQL, started through ``pg_ctl``, is not its child and keeps running,
and so does Redis in its own session, with their data in a temporary folder.
``watch(owner, cleanup)`` starts a small detached process that waits for the owner to
end and then carries out the :class:`Cleanup`: signal the process named by a pid file,
wait for it to go, delete the paths.  When the owner cleaned up itself, the reaper
finds nothing left to do.  Servers meant to outlive their starter (``make services``,
``make run``'s data in .hotlead/) are never watched.

The reaper knows nothing of the servers it stops (the server modules describe their
own clean-up), so it imports nothing of the dev stack.

``watch_group(owner, pgid)`` does the same for a process group started in its own
session (a test run's Celery worker or web server): SIGTERM, then SIGKILL 10 s later.

    python -m hotlead_app.devstack.reaper OWNER_PID cleanup CLEANUP_JSON
    python -m hotlead_app.devstack.reaper OWNER_PID group PGID
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Cleanup:
    """What to do once the owner is gone.

    ``pidfile``: a server's pid file (its first line is the pid); the process is sent
    ``signal`` if its command line contains ``marker`` (a recycled pid is left alone),
    then awaited up to ``wait_seconds``.  ``remove``: files, folders or symlinks deleted
    afterwards (a symlink itself, never what it points to)."""

    pidfile: str | None = None
    marker: str = ""
    signal: int = int(signal.SIGTERM)
    wait_seconds: float = 30.0
    remove: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Cleanup:
        return cls(**json.loads(text))


def watch(owner_pid: int, cleanup: Cleanup) -> subprocess.Popen:
    """Start the reaper that carries out ``cleanup`` once ``owner_pid`` has ended."""
    return _spawn(str(owner_pid), "cleanup", cleanup.to_json())


def watch_group(owner_pid: int, pgid: int) -> subprocess.Popen:
    """Start the reaper of a process group (a leader started with ``start_new_session``)."""
    return _spawn(str(owner_pid), "group", str(pgid))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hotlead_app.devstack.reaper", *args],
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


def _pid_from(pidfile: Path, marker: str) -> int | None:
    try:
        pid = int(pidfile.read_text().splitlines()[0].strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return None
    return pid if marker.encode() in cmdline else None


def reap(cleanup: Cleanup) -> None:
    if cleanup.pidfile:
        pid = _pid_from(Path(cleanup.pidfile), cleanup.marker)
        if pid is not None:
            try:
                os.kill(pid, cleanup.signal)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + cleanup.wait_seconds
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
    for name in cleanup.remove:
        path = Path(name)
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def reap_group(pgid: int) -> None:
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
    elif kind == "cleanup":
        reap(Cleanup.from_json(argv[2]))
    else:
        raise SystemExit(f"unknown reaper kind {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
