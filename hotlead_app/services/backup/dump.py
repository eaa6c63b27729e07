"""``hotlead backup``: pg_dump in one exported snapshot, sealed and stored, then retention."""

from __future__ import annotations

import json
import logging
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hotlead_app.services.backup.crypto import CHUNK_SIZE, _current_key, encrypt_stream
from hotlead_app.services.backup.errors import BackupError
from hotlead_app.services.backup.pg import _connect, database_fingerprint, pg_binary, pg_target
from hotlead_app.services.backup.retention import apply_retention_policy
from hotlead_app.services.backup.stores import _backup_name, get_store
from hotlead_app.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class BackupResult:
    name: str
    location: str
    size: int
    manifest: dict
    deleted: list[str] = field(default_factory=list)


def _dump_chunks(settings: Settings, database_url: str, manifest_out: dict) -> Iterator[bytes]:
    """The plaintext: manifest, then pg_dump's output, read in one exported snapshot."""
    pg_dump = pg_binary("pg_dump", settings)
    target = pg_target(database_url)
    with _connect(database_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        manifest = {
            "format": 1,
            "created_at": datetime.now(UTC).isoformat(),
            "database": target.database,
            "server_version": conn.info.server_version,
            **database_fingerprint(conn),
        }
        revision = conn.execute(
            "SELECT version_num FROM alembic_version" if "alembic_version" in manifest["row_counts"] else "SELECT NULL"
        ).fetchone()
        manifest["alembic_revision"] = revision[0] if revision else None
        manifest_out.update(manifest)
        body = json.dumps(manifest, sort_keys=True).encode()
        yield struct.pack(">I", len(body)) + body
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                [str(pg_dump), "--format=custom", "--no-sync", f"--snapshot={snapshot}", f"--dbname={target.conninfo}"],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=target.env(),
            )
            try:
                assert proc.stdout is not None
                while data := proc.stdout.read(CHUNK_SIZE):
                    yield data
                code = proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if code != 0:
                errors.seek(0)
                raise BackupError(f"pg_dump exited with {code}: {errors.read().decode(errors='replace')[-2000:]}")
        conn.execute("ROLLBACK")


def create_backup(
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    now: datetime | None = None,
    apply_retention: bool = True,
) -> BackupResult:
    """Dump, encrypt and store the database; then delete what the retention lets go."""
    settings = settings or get_settings()
    key = _current_key(settings)
    store = get_store(settings)
    now = now or datetime.now(UTC)
    name = _backup_name(now)
    manifest: dict = {}
    started = time.monotonic()
    size = store.put(name, encrypt_stream(_dump_chunks(settings, database_url or settings.database_url, manifest), key))
    result = BackupResult(name=name, location=store.describe(name), size=size, manifest=manifest)
    log.info(
        "backup written",
        extra={
            "event": "backup.written",
            "backup": result.location,
            "bytes": size,
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    if apply_retention:
        result.deleted = apply_retention_policy(
            store, keep_daily=settings.backup_keep_daily, keep_weekly=settings.backup_keep_weekly, protect={name}
        )
    return result
