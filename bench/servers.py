"""The benchmarks' servers, set up one way for all three (``distribution.py``,
``dashboards.py``, ``intake.py``).

:class:`BenchServers` starts a private PostgreSQL and Redis on free ports in one folder
made by ``tempfile.mkdtemp`` (0711: as root, PostgreSQL runs as ``nobody``, which may
traverse it but not list it; the cluster's own folder is 0700), with the passwords
of ``hotlead_app.devstack.embedded``.  Both servers are reaped if the benchmark is
killed; :meth:`BenchServers.close` stops the child process groups the benchmark
registered (web server, Celery workers), then Redis, then PostgreSQL, and deletes the
folder.  A cluster kept in ``keep_pg_dir`` (``dashboards.py --data-dir``) is only
stopped, never reaped, and serves the next run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from hotlead_app.devstack.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotlead_app.devstack.harness import stop_process_group


class BenchServers:
    def __init__(self, prefix: str, *, fast_unsafe: bool = False, keep_pg_dir: Path | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
        self.tmp.chmod(0o711)
        self.keep = keep_pg_dir is not None
        pg_dir = keep_pg_dir if keep_pg_dir is not None else self.tmp / "pg"
        self.pg = EmbeddedPostgres(pg_dir, free_port(), fast_unsafe=fast_unsafe, reap_with_owner=not self.keep)
        self.redis = EmbeddedRedis(self.tmp / "redis", free_port(), persistent=False, reap_with_owner=True)
        self.children: list[subprocess.Popen] = []

    def start(self) -> None:
        self.pg.start()
        self.redis.start()

    def __enter__(self) -> BenchServers:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reaching them

    def dsn(self, db: str) -> str:
        """A libpq connection string with the password (psycopg.connect)."""
        return self.pg.conninfo(db)

    def admin_conn(self):
        import psycopg

        return psycopg.connect(self.dsn("postgres"), autocommit=True)

    def clone(self, template: str, name: str) -> None:
        with self.admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def libpq_env(self) -> dict[str, str]:
        """The environment of a libpq client program (pgbench, psql) run against the cluster."""
        return {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.pg.port),
            "PGUSER": "hotlead",
            "PGPASSWORD": self.pg.password,
            "PGCONNECT_TIMEOUT": "10",
        }

    def postmaster_pid(self) -> int | None:
        real = self.pg.real_dir
        try:
            return int((real / "postmaster.pid").read_text().split()[0]) if real else None
        except (OSError, ValueError, IndexError):
            return None

    # -- going away

    def close(self) -> None:
        try:
            for proc in self.children:
                stop_process_group(proc)
        finally:
            try:
                self.redis.stop()
            finally:
                try:
                    if self.keep:
                        self.pg.stop()
                    else:
                        self.pg.destroy()
                finally:
                    shutil.rmtree(self.tmp, ignore_errors=True)
