"""``hotlead restore``: authenticate the whole file, pg_restore in one transaction, verify."""

from __future__ import annotations

import json
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hotlead_app.services.backup.crypto import _known_keys, decrypt_stream, verify_file
from hotlead_app.services.backup.errors import BackupError
from hotlead_app.services.backup.pg import (
    _connect,
    _create_database_if_missing,
    _db_is_empty,
    database_fingerprint,
    pg_binary,
    pg_target,
)
from hotlead_app.services.backup.retention import latest_backup
from hotlead_app.services.backup.stores import S3Store, Store, get_store
from hotlead_app.settings import Settings, get_settings


@dataclass
class RestoreResult:
    source: str
    target: str
    manifest: dict
    fingerprint: dict
    mismatches: list[str]
    drift: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.drift


def _resolve_source(source: str, settings: Settings, workdir: Path) -> tuple[Path, str]:
    """A local copy of the backup to restore: a path, ``s3://bucket/key``, ``latest``,
    or a name in the configured location."""
    if source.startswith("s3://"):
        bucket, _, key = source[len("s3://") :].partition("/")
        prefix, _, name = key.rpartition("/")
        store: Store = S3Store(bucket, prefix, settings.backup_s3_endpoint_url)
    elif Path(source).exists():
        return Path(source), source
    else:
        store = get_store(settings)
        latest = latest_backup(store) if source == "latest" else source
        if latest is None:
            raise BackupError(f"no backups in {store.describe('')}")
        name = latest
        if name not in store.list():
            raise BackupError(f"backup not found: {source} (looked in {store.describe('')} and the file system)")
    local = workdir / name
    store.fetch(name, local)
    return local, store.describe(name)


def _split_manifest(plain: Iterator[bytes]) -> tuple[dict, Iterator[bytes]]:
    buffer = b""
    for data in plain:
        buffer += data
        if len(buffer) >= 4:
            (length,) = struct.unpack(">I", buffer[:4])
            if len(buffer) >= 4 + length:
                break
    (length,) = struct.unpack(">I", buffer[:4])
    manifest = json.loads(buffer[4 : 4 + length])
    rest = buffer[4 + length :]

    def body() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from plain

    return manifest, body()


def restore(source: str, into: str, *, settings: Settings | None = None, allow_existing: bool = False) -> RestoreResult:
    """Restore a backup into the database at ``into`` (created when missing; it must be
    empty unless ``allow_existing``), then verify it against the backup's manifest.

    The whole file is authenticated before pg_restore starts, and pg_restore runs in
    one transaction: a refused or failed restore writes nothing."""
    settings = settings or get_settings()
    keys = _known_keys(settings)
    with tempfile.TemporaryDirectory(prefix="hotlead-restore-") as tmp:
        local, described = _resolve_source(source, settings, Path(tmp))
        verify_file(local, keys)
        created = _create_database_if_missing(into)
        if not created and not allow_existing and not _db_is_empty(into):
            raise BackupError(
                f"the target database {pg_target(into).database} is not empty: restore into a new database "
                "(it is created when missing)"
            )
        target = pg_target(into)
        with open(local, "rb") as src:
            manifest, body = _split_manifest(decrypt_stream(src, keys))
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(
                    [
                        str(pg_binary("pg_restore", settings)),
                        "--single-transaction",
                        "--exit-on-error",
                        "--no-owner",
                        "--no-privileges",
                        f"--dbname={target.conninfo}",
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=target.env(),
                )
                assert proc.stdin is not None
                try:
                    for data in body:
                        proc.stdin.write(data)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                except BaseException:
                    proc.kill()  # the transaction is rolled back: nothing is kept
                    proc.wait()
                    raise
                code = proc.wait()
                if code != 0:
                    errors.seek(0)
                    raise BackupError(
                        f"pg_restore exited with {code}; nothing was restored:\n"
                        f"{errors.read().decode(errors='replace')[-2000:]}"
                    )
    return verify_restored(described, into, manifest)


def verify_restored(source: str, url: str, manifest: dict) -> RestoreResult:
    """Compare a restored database with its backup's manifest and check the ledger."""
    with _connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        fingerprint = database_fingerprint(conn)
        drift = []
        if "balance_drift" in {
            r[0] for r in conn.execute("SELECT viewname FROM pg_views WHERE schemaname = 'public'").fetchall()
        }:
            drift = [
                f"provider {r[0]}: cached {r[1]} != ledger {r[2]}"
                for r in conn.execute(
                    "SELECT provider_id, cached_balance, ledger_balance FROM balance_drift ORDER BY provider_id"
                )
            ]
        conn.execute("ROLLBACK")
    mismatches = []
    for table, count in manifest.get("row_counts", {}).items():
        got = fingerprint["row_counts"].get(table)
        if got != count:
            mismatches.append(f"{table}: {got} rows restored, {count} in the backup")
    for table, checksum in manifest.get("checksums", {}).items():
        if fingerprint["checksums"].get(table) != checksum:
            mismatches.append(f"{table}: checksum differs from the backup's")
    return RestoreResult(
        source=source,
        target=pg_target(url).conninfo,
        manifest=manifest,
        fingerprint=fingerprint,
        mismatches=mismatches,
        drift=drift,
    )
