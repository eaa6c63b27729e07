"""Compare the engine files with a database; teach ``alembic revision --autogenerate``
to write the migration for what differs.

How the comparison works, on the connection Alembic (or a test) gives:

1. read every function, trigger and view of schema ``public`` (extension members
   left out): the *live* set;
2. inside a savepoint, run every engine file (they are ``CREATE OR REPLACE``) and
   read the same catalogue again: the *wanted* set, exactly as PostgreSQL stores
   it; roll the savepoint back, so nothing is changed;
3. compare ``pg_get_functiondef`` / ``pg_get_triggerdef`` / ``pg_get_viewdef``
   (whitespace runs collapsed) object by object.

A file with any object that differs (or is missing) gives one :class:`RunEngineSQL`
operation that runs that file's text, frozen into the migration (``run_sql(...)``,
no bind-parameter parsing, so ``:`` and ``%`` in bodies stay literal); an object in
the database that no file declares gives one that drops it.  The downgrade runs the
definitions the database had (``pg_get_*def`` output), equally frozen.

Changing a function's arguments or return type needs a ``DROP`` first, which
``CREATE OR REPLACE`` cannot do: the comparison then fails with PostgreSQL's
message; write that migration by hand (drop, then run the new file).

Only ``alembic revision --autogenerate`` and ``alembic check`` compare (``upgrade``
never does); loading the files briefly takes the locks ``CREATE OR REPLACE TRIGGER``
takes on the tables, until the savepoint is rolled back.

alembic_utils is not used on purpose: it treated ``:`` in SQL bodies as bind
parameters and made autogenerate take 34–45 s; this takes well under a second.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.autogenerate import comparators, renderers
from alembic.operations import MigrateOperation, Operations
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy.engine import Connection

from hotlead_app.engine import definitions
from hotlead_app.engine.definitions import EngineFile

_FUNCTIONS = """
SELECT p.proname, pg_get_functiondef(p.oid), pg_get_function_identity_arguments(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')
"""
_TRIGGERS = """
SELECT c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid), c.relname, t.tgname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal
"""
_VIEWS = """
SELECT c.relname, pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'v'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
"""


@dataclass(frozen=True)
class DbObject:
    """One object as the database has it."""

    key: str  # "function name" / "trigger table.name" / "view name"
    definition: str  # a statement that (re)creates it as it is
    drop: str  # a statement that drops it

    @property
    def normalised(self) -> str:
        return normalise(self.definition)


def normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def _driver(connection: Connection) -> Any:
    """The psycopg connection under SQLAlchemy: SQL text runs as written."""
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw


def read_catalogue(connection: Connection) -> dict[str, DbObject]:
    """Every function, trigger and view of schema public (extension members aside)."""
    raw = _driver(connection)
    found: dict[str, DbObject] = {}
    for name, definition, args in raw.execute(_FUNCTIONS).fetchall():
        key = f"function {name}"
        if key in found:  # an overload: keep both, keyed apart
            key = f"function {name}({args})"
        found[key] = DbObject(key, definition.rstrip() + ";\n", f"DROP FUNCTION {name}({args});\n")
    for qualified, definition, table, trigger in raw.execute(_TRIGGERS).fetchall():
        definition = re.sub(r"^CREATE (CONSTRAINT )?TRIGGER", r"CREATE OR REPLACE \1TRIGGER", definition)
        found[f"trigger {qualified}"] = DbObject(
            f"trigger {qualified}", definition + ";\n", f"DROP TRIGGER {trigger} ON {table};\n"
        )
    for name, body in raw.execute(_VIEWS).fetchall():
        found[f"view {name}"] = DbObject(
            f"view {name}",
            f"DROP VIEW IF EXISTS {name};\nCREATE VIEW {name} AS\n{body.rstrip().rstrip(';')};\n",
            f"DROP VIEW {name};\n",
        )
    return found


class EngineFileError(RuntimeError):
    """An engine file does not load, or does not define what ``FILES`` declares."""


def load_wanted(connection: Connection, directory: Path | None = None) -> dict[str, DbObject]:
    """The catalogue as it would be with every engine file run: loaded in a savepoint
    of ``connection`` that is rolled back."""
    directory = directory or definitions.engine_dir()
    raw = _driver(connection)
    savepoint = connection.begin_nested()
    try:
        for engine_file in definitions.FILES:
            try:
                raw.execute(engine_file.sql(directory))
            except Exception as exc:
                raise EngineFileError(f"{engine_file.file} does not load: {exc}") from exc
        return read_catalogue(connection)
    finally:
        savepoint.rollback()


@dataclass(frozen=True)
class EngineDiff:
    """One file to run (``file`` set) or one undeclared object to drop."""

    label: str
    keys: tuple[str, ...]  # the objects that differ
    upgrade_sql: str
    downgrade_sql: str


def compare(connection: Connection, directory: Path | None = None) -> list[EngineDiff]:
    """What a migration must do so that the database has exactly the engine files'
    definitions; empty when it has."""
    directory = directory or definitions.engine_dir()
    live = read_catalogue(connection)
    wanted = load_wanted(connection, directory)
    declared = definitions.declared()

    missing = sorted(set(declared) - set(wanted))
    if missing:
        raise EngineFileError(f"declared in engine/definitions.py but not created by its file: {missing}")
    undeclared = sorted(set(wanted) - set(live) - set(declared))
    if undeclared:
        raise EngineFileError(f"created by an engine file but not declared in engine/definitions.py: {undeclared}")

    diffs: list[EngineDiff] = []
    for engine_file in definitions.FILES:
        changed = tuple(
            obj.key
            for obj in engine_file.objects
            if obj.key not in live or live[obj.key].normalised != wanted[obj.key].normalised
        )
        if changed:
            diffs.append(_run_file(engine_file, directory, changed, live))
    orphans = [live[key] for key in live if key not in declared]
    # Triggers before the functions they call; views first (they may call functions).
    order = {"trigger": 0, "view": 1, "function": 2}
    for obj in sorted(orphans, key=lambda o: (order[o.key.split(" ", 1)[0]], o.key)):
        diffs.append(EngineDiff(f"drop {obj.key}", (obj.key,), obj.drop, obj.definition))
    return diffs


def _run_file(
    engine_file: EngineFile, directory: Path, changed: tuple[str, ...], live: dict[str, DbObject]
) -> EngineDiff:
    # Going back: what the database had, and nothing of what the file added.
    before = [live[o.key].definition for o in engine_file.objects if o.key in live]
    added = [o for o in engine_file.objects if o.key not in live]
    drops = [_drop_statement(o.key) for o in sorted(added, key=lambda o: o.kind != "trigger")]
    return EngineDiff(
        f"engine/{engine_file.file}", changed, engine_file.sql(directory), "".join(drops) + "\n".join(before)
    )


def _drop_statement(key: str) -> str:
    kind, name = key.split(" ", 1)
    if kind == "trigger":
        table, trigger = name.split(".", 1)
        return f"DROP TRIGGER {trigger} ON {table};\n"
    if kind == "view":
        return f"DROP VIEW {name};\n"
    return f"DROP FUNCTION {name};\n"  # a new function: the only one of its name


# --------------------------------------------------------------------------- Alembic


@Operations.register_operation("run_engine_sql")
class RunEngineSQL(MigrateOperation):
    """Run SQL text as written (engine definitions, frozen in the migration)."""

    def __init__(self, label: str, sql: str, reverse_sql: str, keys: tuple[str, ...] = ()) -> None:
        self.label = label
        self.sql = sql
        self.reverse_sql = reverse_sql
        self.keys = keys

    @classmethod
    def run_engine_sql(cls, operations: Operations, label: str, sql: str, reverse_sql: str = "") -> None:
        operations.invoke(cls(label, sql, reverse_sql))

    def reverse(self) -> RunEngineSQL:
        return RunEngineSQL(f"undo {self.label}", self.reverse_sql, self.sql, self.keys)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("engine", self.label, self.keys)


@Operations.implementation_for(RunEngineSQL)
def _run_engine_sql(operations: Operations, operation: RunEngineSQL) -> None:
    _driver(operations.get_bind()).execute(textwrap.dedent(operation.sql))


def _literal(sql: str) -> str:
    """The SQL as a Python literal that reads like the file (raw triple quotes when
    the text allows)."""
    if '"""' not in sql and not sql.endswith(("\\", '"')):
        return 'r"""\n' + sql + '"""'
    return repr(sql)


@renderers.dispatch_for(RunEngineSQL)
def _render_run_engine_sql(autogen_context: Any, op: RunEngineSQL) -> str:
    autogen_context.imports.add("from hotlead_app.infra.sqlfiles import run_sql")
    return f"# {op.label}\nrun_sql({_literal(op.sql)})"


@comparators.dispatch_for("schema", priority=DispatchPriority.LAST)
def compare_engine(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> PriorityDispatchResult:
    """Registered by ``alembic/env.py`` (importing this module): after the tables."""
    if None in schemas or "public" in schemas:
        for diff in compare(autogen_context.connection):
            upgrade_ops.ops.append(RunEngineSQL(diff.label, diff.upgrade_sql, diff.downgrade_sql, diff.keys))
    return PriorityDispatchResult.CONTINUE
