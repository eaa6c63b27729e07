"""Point-in-time recovery as an operator would run it, on a real PostgreSQL (the
embedded wheel's) whose ``archive_command`` is ``hotlead wal-ship``: ledger entries
committed, the server killed with SIGKILL, then recovered from the sealed archive —
to a chosen time (exactly the entries committed by then) and to the end of the
archive (the recovery point: at most 60 s of committed entries lost, measured).
Local-folder store in one test, moto's S3 server in the other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import datetime

import psycopg
import pytest

from hotlead_app.devstack.harness import point_settings_at
from hotlead_app.infra import pgserver
from hotlead_app.infra.migrations import migrate
from hotlead_app.services import backup
from hotlead_app.services.backup import pitr
from hotlead_app.settings import PROJECT_ROOT
from tests.factories import deposit, make_provider

KEY = backup.generate_key()
RPO_LIMIT_SECONDS = 60


class Archiving:
    """A PostgreSQL server archiving every WAL segment into a spool, and
    ``hotlead wal-shipper`` sealing and storing them (the compose setup; the server runs
    as ``nobody`` here, which cannot run this interpreter)."""

    def __init__(self, root, database: str = "hotlead_pitr") -> None:
        self.root = root
        self.server = pgserver.PgServer(root / "data", pgserver.free_port())
        self.database = database
        self.spool = pgserver.private_dir("spool-", parent=root)
        self.shipper: subprocess.Popen | None = None

    def start(self) -> None:
        self.server.initdb()
        self.server.start(pitr.server_settings(self.spool) | {"max_wal_size": "64MB"})
        self.shipper = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hotlead_app.cli",
                "wal-shipper",
                "--spool",
                str(self.spool),
                "--interval",
                "0.5",
                "--base-backup-hours",
                "0",
                "--drill-hours",
                "0",
            ],
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        with psycopg.connect(f"host=127.0.0.1 port={self.server.port} user=hotlead dbname=postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.url = self.server.url(self.database)
        migrate(self.url)

    def sql(self, query: str):
        with psycopg.connect(f"host=127.0.0.1 port={self.server.port} user=hotlead dbname={self.database}") as conn:
            return conn.execute(query).fetchall()

    def archive_now(self) -> None:
        """Switch to a new segment and wait until the finished one is stored."""
        (segment,) = self.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
        store = pitr.wal_store()
        deadline = time.monotonic() + 60
        while not store.exists(segment + pitr.WAL_SUFFIX):
            assert time.monotonic() < deadline, f"{segment} not archived:\n{self.server.log_tail()}"
            time.sleep(0.1)

    def crash(self) -> None:
        """The machine goes: the server and the shipper killed at once (SIGKILL)."""
        if self.shipper is not None:
            self.shipper.kill()
            self.shipper.wait()
        self.server.kill()


@pytest.fixture
def archiving(monkeypatch, redis_server):
    root = pgserver.private_dir("hotlead-pitr-test-")
    store = pgserver.private_dir("store-", parent=root)  # the server's account writes WAL here
    monkeypatch.setenv("HOTLEAD_BACKUP_KEY", KEY)
    monkeypatch.setenv("HOTLEAD_BACKUP_LOCATION", str(store))
    monkeypatch.delenv("HOTLEAD_BACKUP_PREVIOUS_KEYS", raising=False)
    monkeypatch.delenv("HOTLEAD_PG_BIN_DIR", raising=False)
    server = Archiving(root)
    yield server, root, store
    server.crash()
    shutil.rmtree(root, ignore_errors=True)
    point_settings_at(redis_url=redis_server.url())


def _start(archiving, redis_server) -> Archiving:
    server = archiving
    server.start()
    point_settings_at(database_url=server.url, redis_url=redis_server.url())
    return server


def _entries(url: str) -> list[tuple]:
    target = backup.pg_target(url)
    with psycopg.connect(target.conninfo) as conn:
        return conn.execute("SELECT id, created_at FROM ledger_entries ORDER BY created_at, id").fetchall()


def test_recovery_to_a_chosen_time_brings_back_exactly_the_entries_committed_by_then(archiving, redis_server):
    server, root, _store = archiving
    server = _start(server, redis_server)
    base = pitr.base_backup()
    start = pitr.base_start(base.name)
    assert base.size > 0 and start
    deadline = time.monotonic() + 20  # the shipper stores the spooled segment within a second or so
    while not pitr.wal_store().exists(start + pitr.WAL_SUFFIX):
        assert time.monotonic() < deadline, f"the base backup's first WAL file {start} is not archived"
        time.sleep(0.1)
    provider = make_provider(balance="100.00")
    before = [deposit(provider.id, "10.00").entry.id for _ in range(3)]
    server.archive_now()  # part of the history sits in one segment, part in the next
    before.append(deposit(provider.id, "11.00").entry.id)
    (target,) = server.sql("SELECT clock_timestamp()")[0]
    time.sleep(0.2)
    after = [deposit(provider.id, "20.00").entry.id for _ in range(2)]
    server.archive_now()
    server.crash()  # SIGKILL, nothing shut down cleanly

    recovered_dir = root / "recovered"
    port = pgserver.free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotlead_app.cli",
            "pitr-restore",
            "--to",
            target.isoformat(),
            "--data-dir",
            str(recovered_dir),
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HOTLEAD_DATABASE_URL": server.url},
        timeout=300,
    )
    recovered = pgserver.PgServer(recovered_dir, port)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        url = recovered.url(server.database)
        ids = {row[0] for row in _entries(url)}
        deposits_before = set(before)
        assert deposits_before <= ids and not ids & set(after), "recovery to T must keep exactly the entries ≤ T"
        assert all(created <= target for _, created in _entries(url))
        assert len(ids) == 1 + len(before)  # the provider's opening deposit, then the four
        assert pitr.ledger_summary(url)["drift"] == []
    finally:
        recovered.destroy()


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_a_crash_loses_at_most_a_minute_of_committed_entries_and_the_drill_checks_the_ledger(
    archiving, redis_server, s3_server, monkeypatch
):
    """Commits go on for longer than ``archive_timeout``, then the server is killed
    without warning; the drill recovers to the end of the S3 archive.  The recovery
    point is the time between the last committed entry and the last recovered one."""
    import boto3

    server, _root, _store = archiving
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOTLEAD_BACKUP_S3_ENDPOINT_URL": s3_server,
        "HOTLEAD_BACKUP_LOCATION": "s3://hotlead-pitr/prod",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="hotlead-pitr")
    server = _start(server, redis_server)
    pitr.base_backup()
    provider = make_provider(balance="500.00")
    committed: list[tuple] = []
    stop_at = time.monotonic() + pitr.ARCHIVE_TIMEOUT_SECONDS + 8
    while time.monotonic() < stop_at:
        posted = deposit(provider.id, "1.00")
        committed.append((posted.entry.id, posted.entry.created_at))
        time.sleep(0.5)
    server.crash()

    # The shipper's weekly drill (run by hand here: the fixture's shipper has it off).
    assert pitr.last_drill_at() is None
    record = pitr.drill_if_due(every_hours=168)
    assert record is not None and record["ok"], record
    assert pitr.last_drill_at() is not None
    assert pitr.drill_if_due(every_hours=168) is None, "the next drill is a week away"
    assert record["drift"] == []
    recovered = record["ledger_entries"] - 1  # the opening deposit
    assert 0 < recovered <= len(committed)
    newest = datetime.fromisoformat(record["newest_entry_at"])
    assert newest == committed[recovered - 1][1], "the recovered entries are a prefix of the committed ones"
    rpo = (committed[-1][1] - newest).total_seconds()
    print(f"\nmeasured recovery point: {rpo:.1f} s of committed entries lost ({len(committed) - recovered} entries)")
    assert rpo <= RPO_LIMIT_SECONDS
    wal = backup.get_store(sub="wal", pattern=pitr.WAL_NAME_RE).list()
    assert wal and all(name.endswith(".enc") for name in wal)
    drills = backup.get_store().read_text(pitr.DRILLS) or ""
    assert '"ok": true' in drills


# --------------------------------------------------------------------------- the archive alone


@pytest.fixture
def local_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLEAD_BACKUP_KEY", KEY)
    monkeypatch.setenv("HOTLEAD_BACKUP_LOCATION", str(tmp_path / "store"))
    monkeypatch.delenv("HOTLEAD_BACKUP_PREVIOUS_KEYS", raising=False)
    from hotlead_app.settings import get_settings

    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_a_wal_file_is_sealed_re_archived_idempotently_and_never_overwritten(local_archive):
    name = "000000010000000000000007"
    segment = local_archive / name
    segment.write_bytes(os.urandom(4096) + bytes(1 << 20))
    assert pitr.wal_ship(segment, name) == "archived"
    stored = local_archive / "store" / "wal" / f"{name}.enc"
    assert stored.is_file() and segment.read_bytes()[:4096] not in stored.read_bytes()  # sealed
    assert stored.stat().st_size < 64 * 1024  # compressed before sealing
    assert pitr.wal_ship(segment, name) == "already_archived"  # PostgreSQL retries after a crash
    other = local_archive / "other"
    other.write_bytes(b"x" * 100)
    with pytest.raises(backup.BackupError, match="different content"):
        pitr.wal_ship(other, name)
    out = local_archive / "fetched"
    assert pitr.wal_fetch(name, out) and out.read_bytes() == segment.read_bytes()
    assert not pitr.wal_fetch("000000010000000000000008", local_archive / "missing")
    with pytest.raises(backup.BackupError, match="not a WAL file name"):
        pitr.wal_ship(segment, "../../etc/passwd")
    raw = bytearray(stored.read_bytes())
    raw[-20] ^= 1
    stored.write_bytes(bytes(raw))
    with pytest.raises(backup.TamperedBackup):
        pitr.wal_fetch(name, local_archive / "tampered")
    assert not (local_archive / "tampered").exists()


def test_the_spool_is_shipped_history_first_and_emptied(local_archive):
    spool = local_archive / "spool"
    spool.mkdir()
    for name in ("000000020000000000000003", "00000002.history", ".000000020000000000000004.partial"):
        (spool / name).write_bytes(name.encode())
    assert pitr.ship_spool(spool) == 2
    assert sorted(p.name for p in spool.iterdir()) == [".000000020000000000000004.partial"]
    assert pitr.wal_store().list() == ["00000002.history.enc", "000000020000000000000003.enc"]


def test_wal_ship_and_wal_fetch_work_as_archive_and_restore_commands(local_archive):
    """What PostgreSQL runs when its account can run hotlead: exit 0 when archived or
    fetched, 1 when the archive has no such file (the end of the archive), 2 on error."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "hotlead_app.cli", *args], capture_output=True, text=True, env=env, timeout=60
        )

    name = "00000001000000000000000A"
    segment = local_archive / name
    segment.write_bytes(os.urandom(2048))
    assert cli("wal-ship", str(segment), name).returncode == 0
    assert cli("wal-ship", str(segment), name).returncode == 0  # again: same content, fine
    (local_archive / "other").write_bytes(b"other")
    refused = cli("wal-ship", str(local_archive / "other"), name)
    assert refused.returncode == 2 and "different content" in refused.stderr
    assert cli("wal-fetch", name, str(local_archive / "back")).returncode == 0
    assert (local_archive / "back").read_bytes() == segment.read_bytes()
    assert cli("wal-fetch", "00000001000000000000000B", str(local_archive / "none")).returncode == 1
    printed = cli("pitr-config").stdout
    assert "archive_timeout = 30s" in printed and "wal-ship" in printed


def test_pruning_keeps_the_newest_base_backups_and_the_wal_they_need():
    def base(day: int, start: str | None) -> str:
        return f"hotlead-base-202612{day:02d}T031500Z-abcdef" + (f"-{start}" if start else "") + ".tar.enc"

    bases = [
        base(1, "000000010000000000000003"),
        base(2, "000000010000000000000009"),
        base(3, "00000002000000000000000C"),
    ]
    wal = [
        "000000010000000000000002.enc",
        "000000010000000000000003.00000028.backup.enc",
        "000000010000000000000008.enc",
        "000000010000000000000009.enc",
        "00000002.history.enc",
        "00000002000000000000000A.enc",
        "00000002000000000000000C.partial.enc",
    ]
    old, stale = pitr.archive_to_prune(bases, wal, keep=2)
    assert old == [bases[0]]
    assert stale == wal[:3]  # before the oldest kept base's start; the history file stays
    assert pitr.archive_to_prune(bases, wal, keep=5) == ([], wal[:1])
    # A kept base without its start recorded: no WAL is deleted at all.
    assert pitr.archive_to_prune([base(1, None), *bases[1:]], wal, keep=3) == ([], [])
