"""PostgreSQL as the libpq tools see it: targets, binaries, fingerprints, scratch databases."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hotlead_app.services.backup.errors import BackupError
from hotlead_app.settings import Settings, get_settings

CHECKED_TABLES = ("ledger_entries", "audit_logs")


@dataclass(frozen=True)
class PgTarget:
    """A database as the libpq tools want it: a URL without password + PGPASSWORD."""

    conninfo: str
    password: str | None
    database: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"PGCONNECT_TIMEOUT": "10", "TZ": "UTC", "LC_ALL": "C"})
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def pg_target(url: str) -> PgTarget:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackupError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    bare = parsed.set(drivername="postgresql", password=None)
    return PgTarget(bare.render_as_string(hide_password=False), parsed.password, parsed.database or "")


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def pg_binary(name: str, settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    from hotlead_app.infra.pgserver import bin_dir

    path = bin_dir(settings.pg_bin_dir) / name
    if not path.exists():
        raise BackupError(f"{name} not found at {path} (set HOTLEAD_PG_BIN_DIR)")
    return path


def _connect(url: str, **kwargs):
    import psycopg

    target = pg_target(url)
    return psycopg.connect(target.conninfo, password=target.password, **kwargs)


def database_fingerprint(conn) -> dict:
    """Row counts of every table in ``public`` and order-independent checksums of the
    append-only ledger and audit tables, read in ``conn``'s current transaction."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).fetchall()
    ]
    counts = {t: conn.execute(f'SELECT count(*) FROM public."{t}"').fetchone()[0] for t in tables}
    checksums = {}
    for table in CHECKED_TABLES:
        if table in counts:
            checksums[table] = conn.execute(
                f"SELECT md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
                f'FROM (SELECT md5(t::text) AS h FROM public."{table}" t) rows'
            ).fetchone()[0]
    return {"row_counts": counts, "checksums": checksums}


def _db_is_empty(url: str) -> bool:
    with _connect(url, autocommit=True) as conn:
        return (
            conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                "AND c.relkind IN ('r', 'v', 'm', 'S', 'p')"
            ).fetchone()[0]
            == 0
        )


def _create_database_if_missing(url: str) -> bool:
    """Create the target database when the server lacks it; whether it was created."""
    from psycopg import sql

    name = pg_target(url).database
    with _connect(_with_database(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def _recreate_database(url: str) -> None:
    from psycopg import sql

    name = pg_target(url).database
    with _connect(_with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
