"""``python -m hotlead_app.cli <command>``: the platform's operator commands."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def _cmd_run(args: argparse.Namespace) -> int:
    from hotlead_app.devstack import runner

    return runner.run(dev=args.dev)


def _cmd_services(_args: argparse.Namespace) -> int:
    """Start only PostgreSQL and Redis (for `alembic revision`, a REPL, a debugger)."""
    from hotlead_app.devstack import runner
    from hotlead_app.settings import get_settings

    sup = runner.Supervisor(get_settings().data_dir / "logs")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        env = runner.start_backing_services(sup, get_settings().data_dir)
        for key, value in env.items():
            print(f"export {key}={value}")
        print("# Ctrl-C stops them", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        sup.stop_all()


def _cmd_stop(_args: argparse.Namespace) -> int:
    """Stop the embedded servers a crashed `make run` left behind."""
    from hotlead_app.devstack.embedded import EmbeddedPostgres, EmbeddedRedis
    from hotlead_app.settings import EMBEDDED_PG_PORT, EMBEDDED_REDIS_PORT, get_settings

    data_dir = get_settings().data_dir
    pg = EmbeddedPostgres(data_dir / "pg", EMBEDDED_PG_PORT)
    if pg.initialized() and pg.running():
        pg.stop()
        print("stopped PostgreSQL")
    if EmbeddedRedis(data_dir / "redis", EMBEDDED_REDIS_PORT).stop_orphan():
        print("stopped Redis")
    return 0


def _cmd_bootstrap(_args: argparse.Namespace) -> int:
    from hotlead_app.services import bootstrap

    for line in bootstrap.bootstrap():
        print(line)
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    """Create an admin account; the password is asked for, never taken from argv."""
    import getpass

    from hotlead_app.db import unit_of_work
    from hotlead_app.domain.errors import DomainError
    from hotlead_app.models import UserRole
    from hotlead_app.services import accounts

    password = (args.password_stdin and sys.stdin.readline().rstrip("\n")) or getpass.getpass("Password: ")
    try:
        with unit_of_work() as uow:
            user = accounts.create_user(uow, email=args.email, password=password, role=UserRole.ADMIN)
    except DomainError as exc:
        print(f"not created: {exc.message} {exc.details}", file=sys.stderr)
        return 2
    print(f"created admin {user.email}")
    return 0


def _cmd_verify_ledger(_args: argparse.Namespace) -> int:
    from hotlead_app.services import ledger

    drift = ledger.balance_drift()
    if not drift:
        print("ledger OK: every balance equals the signed sum of its entries")
        return 0
    for row in drift:
        print(
            f"DRIFT provider {row.provider_id} ({row.name}): cached {row.cached_balance} != ledger {row.ledger_balance}"
        )
    return 1


def _cmd_backup(_args: argparse.Namespace) -> int:
    """Dump, encrypt and store the database, then apply the retention."""
    from hotlead_app.services import backup

    try:
        result = backup.create_backup()
    except backup.BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 2
    counts = result.manifest.get("row_counts", {})
    print(f"backup written: {result.location} ({result.size} bytes, {len(counts)} tables, {sum(counts.values())} rows)")
    for name in result.deleted:
        print(f"deleted by retention: {name}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    """Decrypt and restore a backup into a new database, then verify it."""
    from hotlead_app.services import backup

    try:
        result = backup.restore(args.file, args.into)
    except backup.BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 2
    counts = result.fingerprint["row_counts"]
    print(f"restored {result.source} into {result.target}: {len(counts)} tables, {sum(counts.values())} rows")
    for problem in result.mismatches + result.drift:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if not result.ok:
        return 1
    print("verified: row counts and ledger/audit checksums match the backup; no ledger drift")
    return 0


def _cmd_restore_check(_args: argparse.Namespace) -> int:
    """The weekly restore drill, now."""
    from hotlead_app.services import backup

    record = backup.restore_check()
    print(f"restore check {'OK' if record['ok'] else 'FAILED'}: {record}")
    return 0 if record["ok"] else 1


def _timestamp(text: str):
    """``latest`` (None) or an ISO 8601 time; a time without a zone is UTC."""
    from datetime import UTC, datetime

    if text == "latest":
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-12-05T13:45:00Z)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _cmd_wal_ship(args: argparse.Namespace) -> int:
    """PostgreSQL's archive_command: seal and store one WAL file (non-zero: retried)."""
    from pathlib import Path

    from hotlead_app.services.backup import BackupError, pitr

    try:
        pitr.wal_ship(Path(args.path), args.name)
    except (BackupError, OSError) as exc:
        print(f"wal-ship {args.name} failed: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_wal_fetch(args: argparse.Namespace) -> int:
    """PostgreSQL's restore_command: 0 when written, 1 when the archive has no such file."""
    from pathlib import Path

    from hotlead_app.services.backup import BackupError, pitr

    try:
        return 0 if pitr.wal_fetch(args.name, Path(args.path)) else 1
    except (BackupError, OSError) as exc:
        print(f"wal-fetch {args.name} failed: {exc}", file=sys.stderr)
        return 2


def _cmd_base_backup(_args: argparse.Namespace) -> int:
    from hotlead_app.services.backup import BackupError, pitr

    try:
        result = pitr.base_backup()
    except BackupError as exc:
        print(f"base backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"base backup written: {result.location} ({result.size} bytes)")
    return 0


def _cmd_wal_shipper(args: argparse.Namespace) -> int:
    """Seal and store what a spooling archive_command leaves in --spool (compose)."""
    from pathlib import Path

    from hotlead_app.services.backup import pitr

    spool = Path(args.spool)
    if args.once:
        print(f"shipped {pitr.ship_spool(spool)} WAL files")
        return 0
    pitr.run_shipper(
        spool, interval=args.interval, base_every_hours=args.base_backup_hours, drill_every_hours=args.drill_hours
    )
    return 0


def _cmd_pitr_config(args: argparse.Namespace) -> int:
    from hotlead_app.services.backup import pitr

    print("# postgresql.conf: continuous WAL archiving for `hotlead pitr-restore`")
    for name, value in pitr.server_settings(args.spool).items():
        print(f"{name} = {value}")
    return 0


def _cmd_pitr_restore(args: argparse.Namespace) -> int:
    """Unpack the base backup and configure recovery to --to; --start also runs it."""
    from pathlib import Path

    from hotlead_app.services.backup import BackupError, pitr

    try:
        recovery = pitr.prepare_recovery(Path(args.data_dir), to=args.to)
        print(f"base backup {recovery.base} unpacked into {recovery.data_dir}; recovery to {args.to or 'the end'}")
        if args.port:
            server = pitr.start_recovered(recovery, args.port)
            print(f"recovered and promoted: PostgreSQL on 127.0.0.1:{server.port} (log {server.log_path})")
        else:
            print("start PostgreSQL on this folder: it replays the archive, then promotes")
    except BackupError as exc:
        print(f"pitr-restore failed: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_pitr_drill(args: argparse.Namespace) -> int:
    from hotlead_app.services.backup import pitr

    record = pitr.pitr_drill(to=args.to)
    print(f"point-in-time drill {'OK' if record['ok'] else 'FAILED'}: {record}")
    return 0 if record["ok"] else 1


def _cmd_migrate(args: argparse.Namespace) -> int:
    """alembic upgrade head, then the bootstrap admin: the one-off step before a deploy starts."""
    from hotlead_app.infra.migrations import migrate
    from hotlead_app.settings import get_settings

    migrate(get_settings().database_url)
    print("migrations: at head")
    return 0 if args.no_bootstrap else _cmd_bootstrap(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    """The container's web server: the frontend built into the image at build time
    (``reflex export --frontend-only``), its websocket and the API on one port, as
    ``reflex run --env prod`` serves them after its own build step; and the internal
    /metrics server beside it when HOTLEAD_INTERNAL_PORT is set."""
    import os
    import subprocess
    from pathlib import Path

    from reflex.utils import exec as rx_exec
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.environment import environment

    from hotlead_app.settings import get_settings

    settings = get_settings()
    static = prerequisites.get_web_dir() / constants.Dirs.STATIC
    if not (static / "index.html").exists():
        print(
            f"no frontend build in {static}: run `reflex export --frontend-only --no-zip --env prod` "
            "first (the Dockerfile does), or use `hotlead run`",
            file=sys.stderr,
        )
        return 2
    internal = None
    if getattr(settings, "internal_port", 0) and not args.no_internal:
        # Prometheus multiprocess mode: the folder must exist, empty, before the metrics
        # module is imported by any process of this run (it may be a mount point).
        folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / "metrics" / "web")
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        internal = subprocess.Popen([sys.executable, "-m", "hotlead_app.api.internal"])
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    try:
        rx_exec.run_backend_prod(
            args.host, args.port or settings.port, constants.LogLevel.INFO, mount_frontend_compiled_app=True
        )
    finally:
        if internal is not None:
            internal.terminate()
            internal.wait(timeout=10)
    return 0


def _cmd_backup_keygen(_args: argparse.Namespace) -> int:
    from hotlead_app.services import backup

    print(backup.generate_key())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotlead", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the whole platform (make run)")
    p.add_argument("--dev", action="store_true", help="Reflex dev mode with hot reload")
    p.set_defaults(fn=_cmd_run)
    sub.add_parser("services", help="start only PostgreSQL and Redis").set_defaults(fn=_cmd_services)
    sub.add_parser("stop", help="stop embedded servers a crashed run left behind").set_defaults(fn=_cmd_stop)
    sub.add_parser("bootstrap", help="create the bootstrap admin and demo niche").set_defaults(fn=_cmd_bootstrap)
    p = sub.add_parser("create-admin", help="create an admin account (asks for the password)")
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(fn=_cmd_create_admin)
    sub.add_parser(
        "verify-ledger", help="exit 1 and name the providers whose balance drifted from the ledger"
    ).set_defaults(fn=_cmd_verify_ledger)
    sub.add_parser("backup", help="encrypted pg_dump to HOTLEAD_BACKUP_LOCATION, then retention").set_defaults(
        fn=_cmd_backup
    )
    p = sub.add_parser("restore", help="decrypt and restore a backup into a new database, then verify it")
    p.add_argument("file", help="a backup file, s3://bucket/key, a name in HOTLEAD_BACKUP_LOCATION, or 'latest'")
    p.add_argument("--into", required=True, help="the target database URL (created when missing; must be empty)")
    p.set_defaults(fn=_cmd_restore)
    sub.add_parser(
        "restore-check", help="restore the latest backup into the scratch database and verify it (the weekly job)"
    ).set_defaults(fn=_cmd_restore_check)
    sub.add_parser("backup-keygen", help="print a new HOTLEAD_BACKUP_KEY").set_defaults(fn=_cmd_backup_keygen)
    p = sub.add_parser("wal-ship", help="archive_command: seal and store one WAL file (%%p %%f)")
    p.add_argument("path")
    p.add_argument("name")
    p.set_defaults(fn=_cmd_wal_ship)
    p = sub.add_parser("wal-fetch", help="restore_command: fetch one archived WAL file (%%f %%p)")
    p.add_argument("name")
    p.add_argument("path")
    p.set_defaults(fn=_cmd_wal_fetch)
    sub.add_parser("base-backup", help="sealed pg_basebackup for point-in-time recovery").set_defaults(
        fn=_cmd_base_backup
    )
    p = sub.add_parser("wal-shipper", help="seal and store the WAL files a spooling archive_command leaves")
    p.add_argument("--spool", required=True, help="the folder the archive_command copies into")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument(
        "--base-backup-hours",
        type=float,
        default=24.0,
        help="take a base backup when the newest is this old (0: never)",
    )
    p.add_argument(
        "--drill-hours",
        type=float,
        default=168.0,
        help="run a recovery drill to the end of the archive when the last is this old (0: never; weekly)",
    )
    p.set_defaults(fn=_cmd_wal_shipper)
    p = sub.add_parser("pitr-config", help="print the postgresql.conf lines for WAL archiving")
    p.add_argument("--spool", default=None, help="archive into this folder for `hotlead wal-shipper`")
    p.set_defaults(fn=_cmd_pitr_config)
    p = sub.add_parser("pitr-restore", help="recover into a new data folder up to a point in time")
    p.add_argument("--to", type=_timestamp, required=True, help="ISO 8601 time (UTC if no zone) or 'latest'")
    p.add_argument("--data-dir", required=True, help="a new, empty folder for the recovered cluster")
    p.add_argument("--port", type=int, default=0, help="also start it on 127.0.0.1:PORT and wait for promotion")
    p.set_defaults(fn=_cmd_pitr_restore)
    p = sub.add_parser("pitr-drill", help="recover to a time into a scratch server and check the ledger")
    p.add_argument("--to", type=_timestamp, default=None, help="ISO 8601 time or 'latest' (default)")
    p.set_defaults(fn=_cmd_pitr_drill)
    p = sub.add_parser("migrate", help="alembic upgrade head, then the bootstrap admin (deploy step)")
    p.add_argument("--no-bootstrap", action="store_true", help="only the migrations")
    p.set_defaults(fn=_cmd_migrate)
    p = sub.add_parser("serve", help="serve the prebuilt frontend and the API on one port (containers)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=0, help="default: HOTLEAD_PORT")
    p.add_argument("--no-internal", action="store_true", help="do not start the internal /metrics server")
    p.set_defaults(fn=_cmd_serve)
    args = parser.parse_args(argv)
    from hotlead_app.infra.logging import configure_logging

    configure_logging("cli")  # what services log goes to stderr as JSON lines; output stays on stdout
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
