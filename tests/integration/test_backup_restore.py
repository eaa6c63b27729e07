"""Encrypted backups restored as an operator would: `hotlead backup`, then
`hotlead restore FILE --into URL` into a fresh database, compared row for row with the
source and checked with `hotlead verify-ledger`; a wrong key and a tampered file are
refused and write nothing; the S3 path against a local S3 server (moto); the daily
and weekly Celery jobs run end to end on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from hotlead_app import jobs
from hotlead_app.services import backup, distribution, refunds
from hotlead_app.settings import PROJECT_ROOT, get_settings
from tests.factories import ADMIN, approved_lead, assignments_of, deposit, make_market

KEY = backup.generate_key()


# --------------------------------------------------------------------------- helpers


def _connect(url: str, **kwargs):
    target = backup.pg_target(url)
    return psycopg.connect(target.conninfo, password=target.password, **kwargs)


def fingerprint(url: str) -> dict:
    """Row counts of every table and a checksum of the ledger and audit tables, computed
    here independently of the service (ordered by each row's own text)."""
    with _connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        sums = {
            t: conn.execute(f"SELECT md5(string_agg(x::text, E'\\n' ORDER BY x::text)) FROM {t} x").fetchone()[0]
            for t in ("ledger_entries", "audit_logs")
        }
        objects = conn.execute(
            "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal), "
            "(SELECT count(*) FROM pg_views WHERE schemaname = 'public'), "
            "(SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            " WHERE n.nspname = 'public')"
        ).fetchone()
    return {"counts": counts, "sums": sums, "objects": objects}


def cli(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HOTLEAD_DATABASE_URL": database_url, **env}
    return subprocess.run(
        [sys.executable, "-m", "hotlead_app.cli", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=PROJECT_ROOT,
        timeout=180,
    )


def seed_marketplace() -> dict:
    """Leads, assignments, ledger entries (deposits, charges, a refund) and their audit rows,
    all written through the services."""
    market = make_market(levels=[("Exclusive", "25.00", 1), ("Shared", "10.00", 2)], providers=3, balance="200.00")
    lead_ids = [approved_lead(market.slug) for _ in range(5)]
    outcomes = [distribution.distribute_lead(lead_id=lead_id).outcome for lead_id in lead_ids]
    made = [a for lead_id in lead_ids for a in assignments_of(lead_id)]
    assert made, f"the seed made no assignment: {outcomes}"
    refunds.refund_assignment(assignment_id=made[0].id, actor=ADMIN, reason="duplicate lead")
    deposit(market.providers[1].id, "75.50")
    return {"market": market, "leads": lead_ids, "assignments": made}


@pytest.fixture
def backup_env(tmp_path, monkeypatch):
    """HOTLEAD_BACKUP_* for this process (and the CLI children through os.environ)."""
    folder = tmp_path / "backups"
    monkeypatch.setenv("HOTLEAD_BACKUP_KEY", KEY)
    monkeypatch.setenv("HOTLEAD_BACKUP_LOCATION", str(folder))
    monkeypatch.delenv("HOTLEAD_BACKUP_PREVIOUS_KEYS", raising=False)
    get_settings.cache_clear()
    yield folder
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def new_db_url(pg):
    """URLs of databases that do not exist yet (the restore creates them); dropped after."""
    names: list[str] = []

    def make() -> str:
        names.append(f"restored_{uuid.uuid4().hex[:10]}")
        return pg.url(names[-1])

    yield make
    for name in names:
        pg.drop_database(name)


def database_exists(pg, name: str) -> bool:
    with psycopg.connect(pg.conninfo("postgres")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


# --------------------------------------------------------------------------- the operator's path


def test_backup_then_restore_into_a_fresh_database_gives_the_same_data(db, backup_env, new_db_url, pg):
    seeded = seed_marketplace()
    source = fingerprint(db)
    assert source["counts"]["ledger_entries"] >= 8 and source["counts"]["lead_assignments"] >= 3
    assert source["counts"]["leads"] >= 5 and source["counts"]["audit_logs"] > 20

    done = cli("backup", database_url=db)
    assert done.returncode == 0, done.stderr
    files = list(backup_env.glob("hotlead-*.dump.enc"))
    assert len(files) == 1 and f"backup written: {files[0]}" in done.stdout
    blob = files[0].read_bytes()
    assert blob.startswith(b"HOTLEADBK") and b"PGDMP" not in blob
    assert seeded["market"].slug.encode() not in blob, "the backup must not hold plaintext"
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"

    target = new_db_url()
    restored = cli("restore", str(files[0]), "--into", target, database_url=db)
    assert restored.returncode == 0, restored.stderr
    assert "verified: row counts and ledger/audit checksums match" in restored.stdout

    copy = fingerprint(target)
    assert copy["counts"] == source["counts"]
    assert copy["sums"] == source["sums"] and None not in copy["sums"].values()
    assert copy["objects"] == source["objects"], "triggers, views and functions are restored too"

    verified = cli("verify-ledger", database_url=target)
    assert verified.returncode == 0 and "ledger OK" in verified.stdout, verified.stdout + verified.stderr

    # The restored ledger is guarded by the same triggers as the original.
    with _connect(target) as conn, pytest.raises(psycopg.Error):
        conn.execute("UPDATE ledger_entries SET amount = amount + 1")

    # A second restore into the now non-empty database is refused and changes nothing.
    again = cli("restore", str(files[0]), "--into", target, database_url=db)
    assert again.returncode == 2 and "is not empty" in again.stderr
    assert fingerprint(target)["counts"] == source["counts"]


def test_a_wrong_key_is_refused_and_nothing_is_restored(db, backup_env, new_db_url, pg):
    seed_marketplace()
    assert cli("backup", database_url=db).returncode == 0
    (file,) = backup_env.glob("hotlead-*.dump.enc")
    target = new_db_url()
    done = cli("restore", str(file), "--into", target, database_url=db, HOTLEAD_BACKUP_KEY=backup.generate_key())
    assert done.returncode == 2
    assert "restore refused: wrong key" in done.stderr and "nothing was restored" in done.stderr
    assert not database_exists(pg, backup.pg_target(target).database)


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_a_tampered_backup_is_refused_and_nothing_is_restored(db, backup_env, new_db_url, pg, damage):
    seed_marketplace()
    assert cli("backup", database_url=db).returncode == 0
    (file,) = backup_env.glob("hotlead-*.dump.enc")
    data = bytearray(file.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x04
    elif damage == "truncate":
        del data[-100:]
    else:
        data += b"extra"
    file.write_bytes(bytes(data))
    target = new_db_url()
    done = cli("restore", str(file), "--into", target, database_url=db)
    assert done.returncode == 2, done.stdout
    assert "restore refused:" in done.stderr
    assert {"flip": "fails authentication", "truncate": "truncated", "append": "follows its final chunk"}[
        damage
    ] in done.stderr
    assert not database_exists(pg, backup.pg_target(target).database)


def test_restore_refuses_a_missing_key_and_names_the_variable(db, backup_env, new_db_url):
    done = cli("restore", "latest", "--into", new_db_url(), database_url=db, HOTLEAD_BACKUP_KEY="")
    assert done.returncode == 2 and "HOTLEAD_BACKUP_KEY is not set" in done.stderr


def test_retention_keeps_daily_and_weekly_backups_of_real_dumps(db, backup_env, monkeypatch):
    monkeypatch.setenv("HOTLEAD_BACKUP_KEEP_DAILY", "2")
    monkeypatch.setenv("HOTLEAD_BACKUP_KEEP_WEEKLY", "2")
    get_settings.cache_clear()
    start = datetime(2026, 11, 2, 3, 15, tzinfo=UTC)  # a Monday
    made = [backup.create_backup(now=start + timedelta(days=d)).name for d in (0, 1, 7, 8, 14, 15)]
    kept = sorted(p.name for p in backup_env.glob("hotlead-*.dump.enc"))
    # The 2 newest days (Nov 16, 17) and the newest of the 2 newest weeks (Nov 17 week, Nov 10 week: Nov 10 is 8).
    assert kept == sorted([made[5], made[4], made[3]])


# --------------------------------------------------------------------------- S3


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on a free local port: a real HTTP S3 API, not an in-process mock."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_backups_go_to_an_s3_bucket_and_restore_from_it(db, backup_env, monkeypatch, s3_server, new_db_url):
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOTLEAD_BACKUP_S3_ENDPOINT_URL": s3_server,
        "HOTLEAD_BACKUP_LOCATION": "s3://hotlead-backups/prod/db",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    s3 = boto3.client("s3", endpoint_url=s3_server)
    s3.create_bucket(Bucket="hotlead-backups")
    seed_marketplace()
    source = fingerprint(db)

    done = cli("backup", database_url=db)
    assert done.returncode == 0, done.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hotlead-backups")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("prod/db/hotlead-") and "s3://hotlead-backups/prod/db/" in done.stdout
    assert s3.get_object(Bucket="hotlead-backups", Key=keys[0])["Body"].read().startswith(b"HOTLEADBK")

    target = new_db_url()
    restored = cli("restore", "latest", "--into", target, database_url=db)
    assert restored.returncode == 0, restored.stderr
    assert fingerprint(target)["counts"] == source["counts"]
    assert fingerprint(target)["sums"] == source["sums"]

    by_url = new_db_url()
    assert cli("restore", f"s3://hotlead-backups/{keys[0]}", "--into", by_url, database_url=db).returncode == 0

    # The weekly check records its outcome beside the backups, in the bucket.
    monkeypatch.setenv("HOTLEAD_BACKUP_SCRATCH_DATABASE_URL", new_db_url())
    get_settings.cache_clear()
    record = backup.restore_check()
    assert record["ok"], record
    lines = s3.get_object(Bucket="hotlead-backups", Key="prod/db/restore_checks.jsonl")["Body"].read().decode()
    assert json.loads(lines.splitlines()[-1])["backup"] == keys[0].rsplit("/", 1)[1]
    assert backup.last_good_restore_at() == datetime.fromisoformat(record["checked_at"])


# --------------------------------------------------------------------------- the Celery jobs


def test_daily_backup_and_weekly_restore_check_jobs_end_to_end(db, backup_env, monkeypatch, new_db_url, pg):
    from hotlead_app.infra.queue import get_celery
    from workers import tasks

    scratch = new_db_url()
    monkeypatch.setenv("HOTLEAD_BACKUP_SCRATCH_DATABASE_URL", scratch)
    get_settings.cache_clear()
    schedule = get_celery().conf.beat_schedule
    assert schedule["backup-daily"]["task"] == tasks.backup_task.name == jobs.BACKUP_RUN
    assert schedule["backup-restore-check-weekly"]["task"] == tasks.restore_check_task.name

    assert backup.last_good_restore_at() is None
    seed_marketplace()
    source = fingerprint(db)
    made = tasks.backup_task()
    assert Path(made["backup"]).exists() and made["deleted"] == []

    record = tasks.restore_check_task()
    assert record["ok"] is True and record["mismatches"] == [] and record["drift"] == []
    assert record["backup"] == Path(made["backup"]).name
    assert fingerprint(scratch)["counts"] == source["counts"]
    first_good = backup.last_good_restore_at()
    assert first_good is not None and abs((datetime.now(UTC) - first_good).total_seconds()) < 120

    # Verification catches a restore that disagrees with its backup's manifest.
    manifest = json.loads(json.dumps(record_manifest := backup.verify_restored("x", scratch, {}).fingerprint))
    manifest["row_counts"]["ledger_entries"] += 1
    manifest["checksums"]["audit_logs"] = "0" * 32
    mismatch = backup.verify_restored("x", scratch, manifest)
    assert not mismatch.ok and len(mismatch.mismatches) == 2, mismatch.mismatches
    assert backup.verify_restored("x", scratch, record_manifest).ok

    # A damaged latest backup: the check fails, says why, and the last good time stays.
    Path(made["backup"]).write_bytes(Path(made["backup"]).read_bytes()[:-50])
    failed = tasks.restore_check_task()
    assert failed["ok"] is False and "truncated" in failed["error"]
    backup._last_good_cache.clear()
    assert backup.last_good_restore_at() == first_good
    records = [json.loads(line) for line in (backup_env / "restore_checks.jsonl").read_text().splitlines()]
    assert [r["ok"] for r in records] == [True, False]


def test_a_real_celery_worker_runs_the_backup_and_the_restore_check(
    db, backup_env, monkeypatch, redis_server, new_db_url, tmp_path
):
    """The jobs as beat sends them: by name, through Redis, to a real worker process
    (on its own Redis database, so that no other test's worker takes them)."""
    from hotlead_app.infra.queue import get_celery
    from tests.conftest import point_settings_at, start_worker, stop_process_group, wait_for

    broker = redis_server.url(7)
    monkeypatch.setenv("HOTLEAD_BACKUP_SCRATCH_DATABASE_URL", new_db_url())
    point_settings_at(database_url=db, redis_url=broker)
    try:
        seed_marketplace()
        source = fingerprint(db)
        worker = start_worker(db, broker, "smtp://127.0.0.1:9", tmp_path / "worker.log")
        try:
            get_celery().send_task(jobs.BACKUP_RUN)
            (made,) = wait_for(
                lambda: list(backup_env.glob("hotlead-*.dump.enc")), timeout=120, message="the worker's backup"
            )
            get_celery().send_task(jobs.BACKUP_RESTORE_CHECK)
            checks = backup_env / "restore_checks.jsonl"
            wait_for(checks.exists, timeout=180, message="the worker's restore check")
        finally:
            stop_process_group(worker)
        (record,) = [json.loads(line) for line in checks.read_text().splitlines()]
        assert record["ok"] is True and record["backup"] == made.name, record
        # The worker also ran the seed's email jobs meanwhile: the backup has at least the seed.
        assert record["mismatches"] == [] and record["rows"] >= sum(source["counts"].values())
        backup._last_good_cache.clear()
        assert backup.last_good_restore_at() == datetime.fromisoformat(record["checked_at"])
    finally:
        point_settings_at(database_url=db, redis_url=redis_server.url())
