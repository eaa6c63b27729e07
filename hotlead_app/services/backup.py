"""Encrypted database backups, restores and the weekly restore check.

``hotlead backup`` runs ``pg_dump --format=custom`` and streams its output through
authenticated encryption into a local folder or an S3-compatible bucket, then applies
the retention (keep the newest backup of each of the last N days and M ISO weeks).
``hotlead restore FILE --into URL`` authenticates the whole file before anything is
written to the target database, then feeds the dump to ``pg_restore`` in one
transaction: a wrong key or a tampered file is refused and leaves the target untouched.

File format (version 1), all integers big-endian::

    header  = b"HOTLEADBK" | version (1 byte) | key id (8 bytes) | salt (16 bytes) | chunk size (4 bytes)
    chunk   = final flag (1 byte) | ciphertext length (4 bytes) | AES-256-GCM ciphertext + tag

The file key is HKDF-SHA256(HOTLEAD_BACKUP_KEY, salt, "hotlead-backup v1"), so no two
files share a key; chunk ``i`` is sealed with the nonce ``i`` (12 bytes) and the
associated data ``header | i (8 bytes) | final flag``: a chunk moved, dropped, cut off
or re-flagged fails authentication, and a file that ends before a final chunk (or goes
on after it) is refused.  The key id (a hash of the key) lets a restore name a wrong
key instead of reporting tampering, and pick the right one among previous keys.

The plaintext is a manifest (4-byte length + JSON: row counts of every table and
checksums of ``ledger_entries`` and ``audit_logs``, taken in the very snapshot pg_dump
exports) followed by the dump, so that a restore can be verified against the source
as it was at backup time.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Protocol

from hotlead_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAGIC = b"HOTLEADBK"
VERSION = 1
CHUNK_SIZE = 1024 * 1024
HEADER = struct.Struct(">9sB8s16sI")
CHUNK_HEAD = struct.Struct(">BI")
TAG_SIZE = 16
SUFFIX = ".dump.enc"
NAME_RE = re.compile(r"^hotlead-(\d{8}T\d{6}Z)(?:-[0-9a-f]{6})?\.dump\.enc$")
RESTORE_CHECKS = "restore_checks.jsonl"
CHECKED_TABLES = ("ledger_entries", "audit_logs")


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why, for an operator."""


class WrongKey(BackupError):
    pass


class TamperedBackup(BackupError):
    pass


# --------------------------------------------------------------------------- keys


def generate_key() -> str:
    """A new HOTLEAD_BACKUP_KEY: base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decode_key(text: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise BackupError(f"{name} must be base64 of exactly 32 bytes (make one with `hotlead backup-keygen`)")
    return raw


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"hotlead-backup-key-id\x00" + key).digest()[:8]


def _current_key(settings: Settings) -> bytes:
    if not settings.backup_key.strip():
        raise BackupError("HOTLEAD_BACKUP_KEY is not set: backups are encrypted with it (`hotlead backup-keygen`)")
    return _decode_key(settings.backup_key, "HOTLEAD_BACKUP_KEY")


def _known_keys(settings: Settings) -> list[bytes]:
    keys = [_current_key(settings)]
    for i, text in enumerate(k for k in settings.backup_previous_keys.split(",") if k.strip()):
        keys.append(_decode_key(text, f"HOTLEAD_BACKUP_PREVIOUS_KEYS item {i + 1}"))
    return keys


# --------------------------------------------------------------------------- encryption


def _file_cipher(key: bytes, salt: bytes):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"hotlead-backup v1").derive(key)
    return AESGCM(file_key)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def encrypt_stream(chunks: Iterable[bytes], key: bytes, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Encrypt a stream of bytes (any sizes) into the backup format, chunk by chunk.

    One plaintext chunk is held back so that the last one can be flagged final; an
    exception raised by ``chunks`` (pg_dump failed) propagates before the final chunk,
    so a failed dump never yields a complete-looking file."""
    salt = secrets.token_bytes(16)
    header = HEADER.pack(MAGIC, VERSION, key_id(key), salt, chunk_size)
    cipher = _file_cipher(key, salt)
    yield header
    index = 0
    buffer = bytearray()
    pending: bytes | None = None

    def seal(plain: bytes, final: bool) -> bytes:
        sealed = cipher.encrypt(_nonce(index), plain, _aad(header, index, final))
        return CHUNK_HEAD.pack(1 if final else 0, len(sealed)) + sealed

    for data in chunks:
        buffer += data
        while len(buffer) >= chunk_size:
            if pending is not None:
                yield seal(pending, False)
                index += 1
            pending = bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer or pending is None:
        if pending is not None:
            yield seal(pending, False)
            index += 1
        pending = bytes(buffer)
    yield seal(pending, True)


def _read_exact(src: IO[bytes], n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        data = src.read(n - len(out))
        if not data:
            break
        out += data
    return bytes(out)


def read_header(src: IO[bytes]) -> tuple[bytes, int, bytes, bytes, int]:
    raw = _read_exact(src, HEADER.size)
    if len(raw) < HEADER.size:
        raise TamperedBackup("not a Hot Lead backup: the file is shorter than its header")
    magic, version, kid, salt, chunk_size = HEADER.unpack(raw)
    if magic != MAGIC:
        raise TamperedBackup("not a Hot Lead backup (wrong magic bytes)")
    if version != VERSION:
        raise BackupError(f"backup format version {version} is not supported (this release reads {VERSION})")
    return raw, version, kid, salt, chunk_size


def _pick_key(kid: bytes, keys: list[bytes]) -> bytes:
    for key in keys:
        if key_id(key) == kid:
            return key
    raise WrongKey(
        f"wrong key: this backup was encrypted with key id {kid.hex()}, and neither HOTLEAD_BACKUP_KEY "
        f"({key_id(keys[0]).hex()}) nor HOTLEAD_BACKUP_PREVIOUS_KEYS is that key; nothing was restored"
    )


def decrypt_stream(src: IO[bytes], keys: list[bytes]) -> Iterator[bytes]:
    """Plaintext chunks of a backup, each authenticated before it is yielded.  Raises
    WrongKey or TamperedBackup; callers that must not act on a partial file read it
    to the end first (see :func:`verify_file`)."""
    from cryptography.exceptions import InvalidTag

    header, _version, kid, salt, chunk_size = read_header(src)
    cipher = _file_cipher(_pick_key(kid, keys), salt)
    index = 0
    while True:
        head = _read_exact(src, CHUNK_HEAD.size)
        if not head:
            raise TamperedBackup(f"the backup is truncated: it ends after chunk {index} without its final chunk")
        if len(head) < CHUNK_HEAD.size:
            raise TamperedBackup(f"the backup is truncated inside chunk {index}")
        flag, length = CHUNK_HEAD.unpack(head)
        if flag not in (0, 1) or length < TAG_SIZE or length > chunk_size + TAG_SIZE:
            raise TamperedBackup(f"the backup is corrupted or tampered with (bad chunk {index} header)")
        sealed = _read_exact(src, length)
        if len(sealed) < length:
            raise TamperedBackup(f"the backup is truncated inside chunk {index}")
        try:
            plain = cipher.decrypt(_nonce(index), sealed, _aad(header, index, flag == 1))
        except InvalidTag:
            raise TamperedBackup(
                f"the backup is corrupted or tampered with: chunk {index} fails authentication"
            ) from None
        yield plain
        if flag == 1:
            if src.read(1):
                raise TamperedBackup("the backup is tampered with: data follows its final chunk")
            return
        index += 1


def verify_file(path: Path, keys: list[bytes]) -> int:
    """Authenticate every chunk of a backup file; its plaintext size."""
    with open(path, "rb") as src:
        return sum(len(chunk) for chunk in decrypt_stream(src, keys))


# --------------------------------------------------------------------------- PostgreSQL


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
    if settings.pg_bin_dir:
        path = Path(settings.pg_bin_dir) / name
    else:
        from hotlead_app.infra.pgtools import wheel_pg_bin_dir

        path = wheel_pg_bin_dir() / name
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


# --------------------------------------------------------------------------- storage


class Store(Protocol):
    def put(self, name: str, chunks: Iterable[bytes]) -> int: ...
    def list(self) -> list[str]: ...
    def fetch(self, name: str, target: Path) -> None: ...
    def delete(self, name: str) -> None: ...
    def read_text(self, name: str) -> str | None: ...
    def append_text(self, name: str, text: str) -> None: ...
    def describe(self, name: str) -> str: ...


class LocalStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{name}.partial"
        size = 0
        try:
            with open(partial, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                for data in chunks:
                    out.write(data)
                    size += len(data)
                out.flush()
                os.fsync(out.fileno())
            partial.rename(self.folder / name)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def list(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if NAME_RE.match(p.name))

    def fetch(self, name: str, target: Path) -> None:
        shutil.copyfile(self.folder / name, target)

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def read_text(self, name: str) -> str | None:
        try:
            return (self.folder / name).read_text()
        except FileNotFoundError:
            return None

    def append_text(self, name: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / name, "a") as out:
            out.write(text)

    def describe(self, name: str) -> str:
        return str(self.folder / name)


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte strings (for boto3's upload_fileobj)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        self.size += n
        return n


class S3Store:
    """An S3-compatible bucket; credentials from the usual AWS_* variables or roles."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, name: str) -> str:
        return self.prefix + name

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        reader = _ChunkReader(chunks)
        # A failed dump raises inside the reader: upload_fileobj aborts the upload.
        self.client.upload_fileobj(io.BufferedReader(reader, CHUNK_SIZE), self.bucket, self._key(name))
        return reader.size

    def list(self) -> list[str]:
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) :]
                if NAME_RE.match(name):
                    names.append(name)
        return sorted(names)

    def fetch(self, name: str, target: Path) -> None:
        self.client.download_file(self.bucket, self._key(name), str(target))

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def read_text(self, name: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read().decode()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def append_text(self, name: str, text: str) -> None:
        # Objects cannot be appended to: read, add, write (one writer: the weekly job).
        current = self.read_text(name) or ""
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=(current + text).encode())

    def describe(self, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name)}"


def get_store(settings: Settings | None = None) -> Store:
    settings = settings or get_settings()
    location = settings.backup_location.strip()
    if location.startswith("s3://"):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise BackupError("HOTLEAD_BACKUP_LOCATION=s3://... names no bucket")
        return S3Store(bucket, prefix, settings.backup_s3_endpoint_url)
    return LocalStore(Path(location) if location else settings.data_dir / "backups")


# --------------------------------------------------------------------------- backup


@dataclass
class BackupResult:
    name: str
    location: str
    size: int
    manifest: dict
    deleted: list[str] = field(default_factory=list)


def _backup_name(now: datetime) -> str:
    return f"hotlead-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}{SUFFIX}"


def backup_time(name: str) -> datetime | None:
    match = NAME_RE.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


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


def backups_to_keep(names: Iterable[str], *, keep_daily: int, keep_weekly: int) -> set[str]:
    """The newest backup of each of the ``keep_daily`` most recent days that have one,
    and of each of the ``keep_weekly`` most recent ISO weeks that have one."""
    dated = sorted(((backup_time(n), n) for n in names if backup_time(n)), reverse=True)
    keep: set[str] = set()
    days: dict[date, str] = {}
    weeks: dict[tuple[int, int], str] = {}
    for when, name in dated:
        days.setdefault(when.date(), name)
        weeks.setdefault(tuple(when.isocalendar())[:2], name)
    keep.update(list(days.values())[:keep_daily])
    keep.update(list(weeks.values())[:keep_weekly])
    return keep


def apply_retention_policy(
    store: Store, *, keep_daily: int, keep_weekly: int, protect: set[str] | None = None
) -> list[str]:
    names = store.list()
    keep = backups_to_keep(names, keep_daily=keep_daily, keep_weekly=keep_weekly) | (protect or set())
    deleted = [n for n in names if n not in keep]
    for name in deleted:
        store.delete(name)
        log.info("backup deleted by retention", extra={"event": "backup.deleted", "backup": name})
    return deleted


def latest_backup(store: Store | None = None) -> str | None:
    names = (store or get_store()).list()
    return max(names, key=lambda n: backup_time(n)) if names else None


# --------------------------------------------------------------------------- restore


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
        name = latest_backup(store) if source == "latest" else source
        if name is None:
            raise BackupError(f"no backups in {store.describe('')}")
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


# --------------------------------------------------------------------------- restore check


def scratch_database_url(settings: Settings) -> str:
    if settings.backup_scratch_database_url:
        return settings.backup_scratch_database_url
    from sqlalchemy.engine import make_url

    name = make_url(settings.database_url).database or "hotlead"
    return _with_database(settings.database_url, f"{name}_restore_check")


def restore_check(*, settings: Settings | None = None, now: datetime | None = None) -> dict:
    """The weekly drill: restore the latest backup into the scratch database, verify it
    (row counts and checksums against the backup's manifest, no ledger drift) and
    append the outcome to ``restore_checks.jsonl`` beside the backups."""
    settings = settings or get_settings()
    store = get_store(settings)
    started = time.monotonic()
    record: dict = {"checked_at": (now or datetime.now(UTC)).isoformat(), "ok": False}
    try:
        name = latest_backup(store)
        if name is None:
            raise BackupError(f"no backup to check in {store.describe('')}")
        record["backup"] = name
        scratch = scratch_database_url(settings)
        record["scratch_database"] = pg_target(scratch).database
        _recreate_database(scratch)
        result = restore(name, scratch, settings=settings)
        record.update(
            ok=result.ok,
            mismatches=result.mismatches,
            drift=result.drift,
            tables=len(result.fingerprint["row_counts"]),
            rows=sum(result.fingerprint["row_counts"].values()),
            backup_created_at=result.manifest.get("created_at"),
        )
    except Exception as exc:  # the record says why; the caller sees the outcome
        record["error"] = f"{type(exc).__name__}: {exc}"
        log.exception("restore check failed", extra={"event": "backup.restore_check_failed"})
    record["seconds"] = round(time.monotonic() - started, 2)
    store.append_text(RESTORE_CHECKS, json.dumps(record, sort_keys=True) + "\n")
    _last_good_cache.clear()
    log.info(
        "restore check", extra={"event": "backup.restore_check", "ok": record["ok"], "backup": record.get("backup")}
    )
    return record


def restore_checks(store: Store | None = None) -> list[dict]:
    text = (store or get_store()).read_text(RESTORE_CHECKS) or ""
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


_last_good_cache: dict[str, tuple[float, datetime | None]] = {}
LAST_GOOD_CACHE_SECONDS = 60.0


def last_good_restore_at() -> datetime | None:
    """When the newest successful restore check ran (None: never, or no record readable).

    Read by the metrics collector on each scrape: the answer is cached for a minute
    (the store may be a bucket), and errors read as "unknown" rather than failing."""
    settings = get_settings()
    cache_key = f"{settings.backup_location}|{settings.data_dir}"
    cached = _last_good_cache.get(cache_key)
    if cached and time.monotonic() - cached[0] < LAST_GOOD_CACHE_SECONDS:
        return cached[1]
    try:
        times = [
            datetime.fromisoformat(r["checked_at"])
            for r in restore_checks(get_store(settings))
            if r.get("ok") and r.get("checked_at")
        ]
        value = max(times) if times else None
    except Exception:
        log.warning("restore checks unreadable", exc_info=True, extra={"event": "backup.restore_checks_unreadable"})
        value = None
    _last_good_cache.clear()
    _last_good_cache[cache_key] = (time.monotonic(), value)
    return value
