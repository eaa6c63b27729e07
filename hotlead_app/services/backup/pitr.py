"""Point-in-time recovery: continuous WAL archiving, base backups, recovery to a time.

The daily ``pg_dump`` can lose a day; this loses at most ``archive_timeout`` (30 s)
plus the time to ship one segment.  PostgreSQL hands every finished WAL segment to
``archive_command`` = ``hotlead wal-ship %p %f``, which seals it like a backup file
(zlib, then the AES-256-GCM format of :mod:`.crypto`, with HOTLEAD_BACKUP_KEY) and
stores it under ``wal/`` in HOTLEAD_BACKUP_LOCATION (folder or S3 bucket).
``hotlead base-backup`` stores a sealed ``pg_basebackup`` tar under ``base/``.
``hotlead pitr-restore --to T`` unpacks the newest base backup finished before ``T``
into a new data folder with ``restore_command`` = ``hotlead wal-fetch %f %p`` and
``recovery_target_time`` = ``T``; PostgreSQL replays the archive up to ``T`` and
promotes.  ``hotlead pitr-drill`` does that into a scratch server, checks the ledger
(no balance drift) and records the outcome.

Why our own and not barman / pgBackRest: see docs/operations.md "Point-in-time recovery".
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import secrets
import shlex
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from hotlead_app.services.backup.crypto import CHUNK_SIZE, _current_key, _known_keys, decrypt_stream, encrypt_stream
from hotlead_app.services.backup.errors import BackupError
from hotlead_app.services.backup.pg import pg_binary, pg_target
from hotlead_app.services.backup.stores import Store, _ChunkReader, get_store
from hotlead_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

ARCHIVE_TIMEOUT_SECONDS = 30
WAL_SUFFIX = ".enc"
WAL_NAME_RE = re.compile(r"^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)\.enc$")
BASE_NAME_RE = re.compile(r"^hotlead-base-(\d{8}T\d{6}Z)-[0-9a-f]{6}(?:-([0-9A-F]{24}))?\.tar\.enc$")
DRILLS = "pitr_drills.jsonl"


def wal_store(settings: Settings | None = None) -> Store:
    return get_store(settings, sub="wal", pattern=WAL_NAME_RE)


def base_store(settings: Settings | None = None) -> Store:
    return get_store(settings, sub="base", pattern=BASE_NAME_RE)


def hotlead_command() -> str:
    """How PostgreSQL runs our CLI: the ``hotlead`` wrapper of the image when present,
    else this interpreter (PYTHONPATH comes from the server's environment)."""
    import shutil

    wrapper = shutil.which("hotlead")
    return shlex.quote(wrapper) if wrapper else f"{shlex.quote(sys.executable)} -m hotlead_app.cli"


def server_settings(spool: Path | str | None = None) -> dict[str, str]:
    """What postgresql.conf needs for continuous archiving (``hotlead pitr-config``).

    Without ``spool`` the server runs ``hotlead wal-ship`` itself (its account must be
    able to run this program and read the key).  With ``spool`` (the compose setup: the
    postgres container has no Python) the server only copies each finished file into
    the spool folder, durably (``sync``), and ``hotlead wal-shipper`` seals and stores
    it within a second and then removes it from the spool."""
    if spool is None:
        command = f'{hotlead_command()} wal-ship "%p" "%f"'
    else:
        partial = f'"{spool}/.%f.partial"'
        command = f'umask 077 && cp "%p" {partial} && sync {partial} && mv -f {partial} "{spool}/%f"'
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"'{command}'",
        "archive_timeout": f"{ARCHIVE_TIMEOUT_SECONDS}s",
    }


def ship_spool(spool: Path, *, settings: Settings | None = None) -> int:
    """Seal and store every file the archive_command left in ``spool`` (history files
    sort first), removing each once stored; the number shipped."""
    shipped = 0
    for path in sorted(spool.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        wal_ship(path, path.name, settings=settings)
        path.unlink()
        shipped += 1
    return shipped


def run_shipper(
    spool: Path, *, interval: float = 1.0, base_every_hours: float = 24.0, drill_every_hours: float = 168.0
) -> None:
    """``hotlead wal-shipper``: ship the spool every ``interval`` seconds, for ever, and
    take a base backup when the newest is ``base_every_hours`` old (0: never), which
    bounds how much WAL a recovery replays, and run a recovery drill to the end of the
    archive when the last one is ``drill_every_hours`` old (0: never; weekly by
    default).  A failure is logged and retried on the next round (a file stays in the
    spool until it is stored)."""
    while not get_settings().backup_key.strip():
        log.warning("WAL shipping waits: HOTLEAD_BACKUP_KEY is not set", extra={"event": "backup.wal_ship_skipped"})
        time.sleep(60)
    while True:
        try:
            ship_spool(spool)
        except Exception:
            log.exception("wal shipping failed; retrying", extra={"event": "backup.wal_ship_failed"})
        if base_every_hours > 0:
            try:
                newest = max((t for n in base_store().list() if (t := base_time(n))), default=None)
                if newest is None or (datetime.now(UTC) - newest).total_seconds() >= base_every_hours * 3600:
                    base_backup()
            except Exception:
                log.exception("base backup failed; retrying", extra={"event": "backup.base_failed"})
                time.sleep(60)
        if drill_every_hours > 0:
            try:
                drill_if_due(every_hours=drill_every_hours)
            except Exception:
                log.exception("recovery drill could not start; retrying", extra={"event": "backup.pitr_drill_failed"})
        time.sleep(interval)


def last_drill_at(settings: Settings | None = None) -> datetime | None:
    """When the newest recovery drill ran (``pitr_drills.jsonl``), or None."""
    text = get_store(settings or get_settings()).read_text(DRILLS) or ""
    times = []
    for line in text.splitlines():
        try:
            times.append(datetime.fromisoformat(json.loads(line)["checked_at"]))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash: the others still count
    return max(times, default=None)


def drill_if_due(*, every_hours: float, settings: Settings | None = None) -> dict | None:
    """Run :func:`pitr_drill` to the end of the archive when there is a base backup and
    the last drill (good or bad: a failing drill is not retried every second) is
    ``every_hours`` old; its record, or None when none was due."""
    settings = settings or get_settings()
    if not base_store().list():
        return None
    last = last_drill_at(settings)
    if last is not None and (datetime.now(UTC) - last).total_seconds() < every_hours * 3600:
        return None
    record = pitr_drill(to=None, settings=settings)
    level = logging.INFO if record["ok"] else logging.ERROR
    log.log(level, "scheduled recovery drill: %s", "ok" if record["ok"] else record.get("error") or record.get("drift"))
    return record


# --------------------------------------------------------------------------- sealing


def _file_chunks(src: IO[bytes]) -> Iterator[bytes]:
    while data := src.read(CHUNK_SIZE):
        yield data


def _compressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    z = zlib.compressobj(1)
    for data in chunks:
        if out := z.compress(data):
            yield out
    yield z.flush()


def _decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    z = zlib.decompressobj()
    for data in chunks:
        if out := z.decompress(data):
            yield out
    if tail := z.flush():
        yield tail
    if not z.eof:
        raise BackupError("a sealed WAL file or base backup ends inside its compressed stream")


def _opened(store: Store, name: str, keys: list[bytes], workdir: Path) -> Iterator[bytes]:
    """The plaintext of a sealed object, each chunk authenticated before it is yielded."""
    local = workdir / f".{name}.download"
    store.fetch(name, local)
    try:
        with open(local, "rb") as src:
            yield from _decompressed(decrypt_stream(src, keys))
    finally:
        local.unlink(missing_ok=True)


# --------------------------------------------------------------------------- archive


def wal_ship(path: Path, name: str, *, settings: Settings | None = None) -> str:
    """``archive_command``: seal and store one WAL segment (or history / backup label
    file).  Archiving the same file twice (PostgreSQL retries after a crash) is fine;
    a *different* file under a name already archived is refused, never overwritten."""
    settings = settings or get_settings()
    if not WAL_NAME_RE.match(name + WAL_SUFFIX):
        raise BackupError(f"not a WAL file name: {name}")
    store = wal_store(settings)
    obj = name + WAL_SUFFIX
    if store.exists(obj):
        with open(path, "rb") as src:
            local = hashlib.sha256(src.read()).hexdigest()
        archived = hashlib.sha256()
        with tempfile.TemporaryDirectory(prefix="hotlead-wal-") as tmp:
            for data in _opened(store, obj, _known_keys(settings), Path(tmp)):
                archived.update(data)
        if archived.hexdigest() != local:
            raise BackupError(f"{obj} is archived already with different content: refusing to overwrite it")
        return "already_archived"
    with open(path, "rb") as src:
        store.put(obj, encrypt_stream(_compressed(_file_chunks(src)), _current_key(settings)))
    log.info("wal archived", extra={"event": "backup.wal_archived", "wal": name})
    return "archived"


def wal_fetch(name: str, target: Path, *, settings: Settings | None = None) -> bool:
    """``restore_command``: write the archived file ``name`` to ``target``; False when
    the archive has no such file (PostgreSQL asks past the end of the archive)."""
    settings = settings or get_settings()
    store = wal_store(settings)
    obj = name + WAL_SUFFIX
    if not WAL_NAME_RE.match(obj) or not store.exists(obj):
        return False
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as out:
            for data in _opened(store, obj, _known_keys(settings), target.parent):
                out.write(data)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- base backups


def base_time(name: str) -> datetime | None:
    match = BASE_NAME_RE.match(name)
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if match else None


@dataclass
class BaseBackup:
    name: str
    location: str
    size: int
    finished_at: datetime


def _current_wal_file(url: str) -> str:
    """The WAL file being written now: a base backup started after this reads starts
    in it or a later one (so pruning before it never removes what that backup needs)."""
    with _connect_plain(url) as conn:
        return str(conn.execute("SELECT pg_walfile_name(pg_current_wal_insert_lsn())").fetchone()[0])


def base_start(name: str) -> str | None:
    """The WAL file a base backup starts in, from its name (None: not recorded)."""
    match = BASE_NAME_RE.match(name)
    return match.group(2) if match else None


def base_backup(*, settings: Settings | None = None, database_url: str | None = None, prune: bool = True) -> BaseBackup:
    """``pg_basebackup`` (tar on stdout, WAL from the archive), sealed and stored.  The
    name carries the time it finished — a recovery to ``T`` starts from the newest base
    backup named before ``T`` (the server waits until the backup's last WAL segment is
    archived before pg_basebackup ends) — and the WAL file it starts in (or an earlier one).  Then, with
    ``prune``, the archive keeps the newest HOTLEAD_BACKUP_KEEP_DAILY base backups and
    the WAL from the oldest of them on (:func:`prune_archive`)."""
    settings = settings or get_settings()
    url = database_url or settings.database_url
    target = pg_target(url)
    start = _current_wal_file(url)
    key = _current_key(settings)
    store = base_store(settings)
    started = time.monotonic()
    # Sealed to a local file first: the name carries the time the backup finished.
    with tempfile.TemporaryDirectory(prefix="hotlead-base-") as staging, tempfile.TemporaryFile() as errors:
        local = Path(staging) / "base.tar.enc"
        proc = subprocess.Popen(
            [
                str(pg_binary("pg_basebackup", settings)),
                f"--dbname={target.conninfo}",
                "--pgdata=-",
                "--format=tar",
                "--wal-method=none",
                "--checkpoint=fast",
                "--no-manifest",
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=target.env(),
        )
        stdout = proc.stdout
        assert stdout is not None

        def body() -> Iterator[bytes]:
            yield from _file_chunks(stdout)
            code = proc.wait()
            if code != 0:
                errors.seek(0)
                raise BackupError(f"pg_basebackup exited with {code}: {errors.read().decode(errors='replace')[-2000:]}")

        try:
            with open(local, "wb") as out:
                for data in encrypt_stream(_compressed(body()), key):
                    out.write(data)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        finished = datetime.now(UTC)
        name = f"hotlead-base-{finished.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}-{start}.tar.enc"
        with open(local, "rb") as src:
            size = store.put(name, _file_chunks(src))
    log.info(
        "base backup written",
        extra={"event": "backup.base_written", "backup": name, "bytes": size, "seconds": time.monotonic() - started},
    )
    if prune:
        prune_archive(settings=settings, keep=settings.backup_keep_daily)
    return BaseBackup(name=name, location=store.describe(name), size=size, finished_at=finished)


def archive_to_prune(bases: list[str], wal: list[str], *, keep: int) -> tuple[list[str], list[str]]:
    """(base backups, WAL objects) that recovery no longer needs once only the newest
    ``keep`` base backups are kept: the older bases, and the WAL segments (and backup
    labels) before the oldest kept base's start.  Timeline history files always stay.
    Nothing of the WAL goes when a kept base does not record where it starts."""
    dated = sorted(((when, n) for n in bases if (when := base_time(n)) is not None), reverse=True)
    kept, old = [n for _, n in dated[: max(keep, 1)]], [n for _, n in dated[max(keep, 1) :]]
    starts = [base_start(n) for n in kept]
    if not kept or any(s is None for s in starts):
        return old, []
    oldest = min(s[8:] for s in starts if s is not None)
    stale = [obj for obj in wal if not obj.endswith(".history" + WAL_SUFFIX) and len(obj) >= 24 and obj[8:24] < oldest]
    return old, stale


def prune_archive(*, settings: Settings | None = None, keep: int) -> tuple[list[str], list[str]]:
    settings = settings or get_settings()
    bases, wal = base_store(settings), wal_store(settings)
    old, stale = archive_to_prune(bases.list(), wal.list(), keep=keep)
    for name in old:
        bases.delete(name)
    for name in stale:
        wal.delete(name)
    if old or stale:
        log.info(
            "point-in-time archive pruned",
            extra={"event": "backup.pitr_pruned", "bases": len(old), "wal_files": len(stale)},
        )
    return old, stale


def choose_base(store: Store, to: datetime | None) -> str:
    dated = [(when, n) for n in store.list() if (when := base_time(n)) is not None and (to is None or when < to)]
    if not dated:
        which = f"before {to.isoformat()}" if to else "at all"
        raise BackupError(f"no base backup {which} in {store.describe('')}: run `hotlead base-backup` first")
    return max(dated)[1]


# --------------------------------------------------------------------------- recovery


@dataclass
class Recovery:
    base: str
    data_dir: Path
    target: datetime | None
    wal_dir: Path
    wal_files: int


def prepare_recovery(data_dir: Path, *, to: datetime | None, settings: Settings | None = None) -> Recovery:
    """Unpack the right base backup into the empty folder ``data_dir`` and configure
    recovery to ``to`` (None: to the end of the archive), then promotion."""
    from hotlead_app.infra import pgserver

    settings = settings or get_settings()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: recover into a new folder")
    store = base_store(settings)
    name = choose_base(store, to)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    with tempfile.TemporaryDirectory(prefix="hotlead-pitr-") as tmp:
        stream = io.BufferedReader(_ChunkReader(_opened(store, name, _known_keys(settings), Path(tmp))), CHUNK_SIZE)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            tar.extractall(data_dir, filter="data")
    wal_dir = data_dir.with_name(data_dir.name + "-wal")
    fetched = prefetch_wal(wal_dir, _backup_start(data_dir), settings=settings)
    (data_dir / "recovery.signal").write_text("")
    lines = [
        "# hotlead pitr-restore: the archived WAL after the base backup, decrypted beside the data folder",
        f'restore_command = \'cp "{wal_dir}/%f" "%p"\'',
        "recovery_target_action = 'promote'",
        "recovery_target_timeline = 'latest'",
    ]
    if to is not None:
        lines += [f"recovery_target_time = '{to.astimezone(UTC).isoformat()}'", "recovery_target_inclusive = on"]
    with open(data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write("\n" + "\n".join(lines) + "\n")
    for stale in ("postmaster.pid", "postmaster.opts"):
        (data_dir / stale).unlink(missing_ok=True)
    (data_dir / "pg_wal").mkdir(exist_ok=True)
    pgserver.chown_tree(data_dir)
    pgserver.chown_tree(wal_dir)
    data_dir.chmod(0o700)
    log.info("recovery prepared", extra={"event": "backup.pitr_prepared", "backup": name, "wal_files": fetched})
    return Recovery(base=name, data_dir=data_dir, target=to, wal_dir=wal_dir, wal_files=fetched)


def _backup_start(data_dir: Path) -> str:
    """The WAL file a base backup starts in (its ``backup_label``)."""
    label = (data_dir / "backup_label").read_text()
    match = re.search(r"^START WAL LOCATION: .* \(file ([0-9A-F]{24})\)$", label, re.M)
    if not match:
        raise BackupError("the base backup has no readable backup_label")
    return match.group(1)


def prefetch_wal(folder: Path, start: str, *, settings: Settings | None = None) -> int:
    """Decrypt every archived WAL file recovery may ask for (segments from ``start``
    on, on any later timeline, and timeline history files) into ``folder``, which the
    server's ``restore_command`` copies from.  Fetched up front, the server's account
    needs neither the key nor this program; the number of files fetched."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    count = 0
    for obj in wal_store(settings).list():
        name = obj[: -len(WAL_SUFFIX)]
        wanted = name.endswith(".history") or (len(name) == 24 and name[:8] >= start[:8] and name[8:] >= start[8:])
        if wanted and wal_fetch(name, folder / name, settings=settings):
            count += 1
    return count


def start_recovered(recovery: Recovery, port: int, *, settings: Settings | None = None, timeout: float = 300):
    """Start a server on the recovered folder (archiving off: a restored copy must not
    write into the archive it came from) and wait until it has promoted."""
    from hotlead_app.infra import pgserver

    settings = settings or get_settings()
    server = pgserver.PgServer(recovery.data_dir, port, pgserver.bin_dir(settings.pg_bin_dir))
    server.start({"archive_mode": "off"})
    url = _recovered_url(settings, port)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _connect_plain(url) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return server
        except Exception:
            if server.postmaster_pid() is None:
                raise BackupError(f"the recovered server stopped:\n{server.log_tail()}") from None
        if time.monotonic() > deadline:
            raise BackupError(f"recovery did not finish within {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.2)


def _recovered_url(settings: Settings, port: int) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def _connect_plain(url: str):
    import psycopg

    target = pg_target(url)
    return psycopg.connect(target.conninfo, password=target.password, autocommit=True, connect_timeout=5)


# --------------------------------------------------------------------------- drill


def pitr_drill(*, to: datetime | None = None, settings: Settings | None = None, keep: bool = False) -> dict:
    """Recover to ``to`` (None: the end of the archive) into a scratch server, check
    the ledger there (no balance drift; the newest ledger entry) and record the outcome
    in ``pitr_drills.jsonl`` beside the backups."""
    from hotlead_app.infra import pgserver

    settings = settings or get_settings()
    started = time.monotonic()
    record: dict = {"checked_at": datetime.now(UTC).isoformat(), "target": to.isoformat() if to else "latest"}
    record["ok"] = False
    scratch = pgserver.private_dir("hotlead-pitr-drill-")
    server = None
    try:
        recovery = prepare_recovery(scratch / "data", to=to, settings=settings)
        record["base"] = recovery.base
        server = start_recovered(recovery, pgserver.free_port(), settings=settings)
        record.update(ledger_summary(_recovered_url(settings, server.port)))
        record["ok"] = not record["drift"]
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        log.exception("point-in-time drill failed", extra={"event": "backup.pitr_drill_failed"})
    finally:
        if server is not None and not keep:
            server.destroy()
        if not keep:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
        else:
            record["data_dir"] = str(scratch / "data")
            record["port"] = server.port if server else None
    record["seconds"] = round(time.monotonic() - started, 2)
    get_store(settings).append_text(DRILLS, json.dumps(record, sort_keys=True) + "\n")
    return record


def ledger_summary(url: str) -> dict:
    """What verify-ledger checks (``balance_drift``) and the ledger's newest entry."""
    with _connect_plain(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        drift = [
            f"provider {r[0]}: cached {r[1]} != ledger {r[2]}"
            for r in conn.execute(
                "SELECT provider_id, cached_balance, ledger_balance FROM balance_drift ORDER BY provider_id"
            )
        ]
        entries, newest = conn.execute("SELECT count(*), max(created_at) FROM ledger_entries").fetchone()
    return {"drift": drift, "ledger_entries": entries, "newest_entry_at": newest.isoformat() if newest else None}
