"""The engine's one home (``hotlead_app/engine/``) is what a migrated database has, and
a change to it without a migration is found — and written — by autogenerate."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import produce_migrations, render_python_code
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, create_engine, pool
from sqlmodel import SQLModel

import hotlead_app.models  # noqa: F401  (the tables autogenerate compares too)
from hotlead_app.engine import definitions
from hotlead_app.engine.autogen import RunEngineSQL, compare, read_catalogue
from hotlead_app.infra.sqlfiles import run_sql
from hotlead_app.settings import PROJECT_ROOT


@pytest.fixture
def conn(db) -> Iterator[Connection]:
    engine = create_engine(db, poolclass=pool.NullPool)
    with engine.connect() as connection:
        yield connection
        connection.rollback()
    engine.dispose()


@pytest.fixture
def engine_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the engine files that the comparison reads instead of the repository's."""
    copy = tmp_path / "engine"
    copy.mkdir()
    for engine_file in definitions.FILES:
        shutil.copy(definitions.ENGINE_DIR / engine_file.file, copy / engine_file.file)
    monkeypatch.setattr(definitions, "ENGINE_DIR", copy)
    return copy


def _alembic_config(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# A change with ``:`` and ``%`` in it: run as written, never as bind parameters.
_EDIT = ("  RETURN NULL;\nEND $$;", "  RETURN NULL;  -- edited: 'a:b' :name 100%\nEND $$;")


def test_a_migrated_database_has_exactly_the_engine_files_definitions(conn):
    files = sorted(p.name for p in definitions.ENGINE_DIR.glob("*.sql"))
    assert files == sorted(f.file for f in definitions.FILES), "every .sql file is listed in FILES"
    # No orphans either way: every function, trigger and view of schema public is
    # declared by one file, and every declared one exists.
    assert set(read_catalogue(conn)) == set(definitions.declared())
    assert compare(conn) == []


def test_an_engine_file_edited_without_a_migration_is_found(db, conn, engine_copy):
    _edit(engine_copy / "filter_mismatch.sql", *_EDIT)
    diffs = compare(conn)
    assert [(d.label, d.keys) for d in diffs] == [("engine/filter_mismatch.sql", ("function hotlead_filter_mismatch",))]


def test_a_database_changed_by_hand_is_found_both_ways(conn):
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(
        "CREATE OR REPLACE TRIGGER deposits_no_delete BEFORE DELETE OR UPDATE ON deposits "
        "FOR EACH ROW EXECUTE FUNCTION hotlead_deposits_no_delete()"
    )
    driver.execute("CREATE FUNCTION hotlead_stray() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")
    diffs = {d.label: d.keys for d in compare(conn)}
    assert diffs == {
        "engine/deposits_no_delete.sql": ("trigger deposits.deposits_no_delete",),
        "drop function hotlead_stray": ("function hotlead_stray",),
    }


def _run(conn: Connection, code: str) -> None:
    """Run rendered migration code as ``upgrade()`` / ``downgrade()`` would."""
    namespace = {"run_sql": run_sql}
    exec("def migration():\n    " + code + "\n", namespace)
    with Operations.context(MigrationContext.configure(conn)):
        namespace["migration"]()


def test_autogenerate_writes_the_migration_for_exactly_the_edited_object(conn, engine_copy):
    _edit(engine_copy / "filter_mismatch.sql", *_EDIT)
    _edit(engine_copy / "balance_drift.sql", "p.name,", "p.name, p.status,")  # a new view column
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    script = produce_migrations(context, SQLModel.metadata)
    ops = script.upgrade_ops.ops
    assert all(isinstance(o, RunEngineSQL) for o in ops), "no table drift, only the engine"
    assert [o.label for o in ops] == ["engine/balance_drift.sql", "engine/filter_mismatch.sql"]

    # The rendered migration is frozen (the SQL is in it) and runs both ways.
    upgrade = render_python_code(script.upgrade_ops)
    downgrade = render_python_code(script.downgrade_ops)
    assert "run_sql(" in upgrade and "-- edited: 'a:b' :name 100%" in upgrade
    _run(conn, upgrade)
    assert compare(conn) == []  # the database now has the edited files
    assert (
        "-- edited: 'a:b' :name 100%"
        in conn.exec_driver_sql("SELECT pg_get_functiondef('hotlead_filter_mismatch'::regproc)").scalar_one()
    )
    _run(conn, downgrade)
    assert compare(conn, definitions.ENGINE_DIR) != []
    assert compare(conn, Path(definitions.__file__).parent) == []  # back to the repository's
