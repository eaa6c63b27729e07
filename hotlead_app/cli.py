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
