"""The rules and architecture pages name real code: every file, function, database
object and test they cite exists, so a rename that forgets the docs fails here.

A reference is a code span in the page:

* ``path`` (starting with a top-level folder of the repository; ``*`` globs allowed):
  the file or folder exists;
* ``path::name`` (or ``path::Class.method``): the file exists and defines ``name``
  (each part of a dotted name): a test file a module-level
  ``def`` of that test; a SQL file a ``FUNCTION``, ``TRIGGER`` or ``VIEW`` of that
  name; any other Python file a ``def``, ``class``, assignment or quoted string of it
  (constraint and index names live in quotes in migrations and models).

Relative Markdown links between the pages must resolve too.

The docs describe the layout the branches of issue 12 are moving to. ``PENDING``
names what a branch has committed but this checkout may not have yet: a path prefix
excuses a missing file under it, an exact ``path::name`` excuses that name. Once the
branch is merged the entry excuses nothing (the file and the name exist, and are
checked); delete it then.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotlead_app.settings import PROJECT_ROOT

DOCS = ("docs/rules.md", "docs/architecture.md")
TOP_LEVEL = ("hotlead_app/", "tests/", "alembic/", "workers/", "docs/", "ops/", "bench/", "tools/", "assets/")
#: reference or path prefix -> the branch that brings it
PENDING: dict[str, str] = {}
_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _references(text: str) -> list[str]:
    return [span.strip() for span in _SPAN.findall(text) if span.strip().startswith(TOP_LEVEL)]


def _problem(reference: str) -> str | None:
    target, _, name = reference.partition("::")
    if "*" in target:
        return None if any(PROJECT_ROOT.glob(target)) else "no file matches"
    path = PROJECT_ROOT / target
    if not path.exists():
        return "no such file"
    if name and not all(_defines(path, target, part) for part in name.split(".")):
        return f"{target} does not define {name}"
    return None


def _defines(path: Path, target: str, name: str) -> bool:
    source = path.read_text(encoding="utf-8")
    word = re.escape(name)
    if path.suffix == ".sql":
        return re.search(rf"\b(?:FUNCTION|TRIGGER|VIEW)\s+{word}\b", source) is not None
    if target.startswith("tests/") and name.startswith("test_"):
        return re.search(rf"(?m)^(?:async\s+)?def\s+{word}\(", source) is not None
    patterns = (
        rf"(?m)^\s*(?:async\s+def|def|class)\s+{word}\b",
        rf"(?m)^\s*{word}\s*(?::[^=\n]*)?=",
        rf"[\"']{word}[\"']",
    )
    return any(re.search(pattern, source) for pattern in patterns)


def _pending(reference: str, why: str) -> bool:
    """A branch not merged here yet brings it (see ``PENDING``)."""
    if reference in PENDING:
        return True
    target = reference.partition("::")[0]
    missing_file = why in ("no such file", "no file matches")
    return missing_file and any("::" not in key and target.startswith(key) for key in PENDING)


@pytest.mark.parametrize("doc", DOCS)
def test_every_code_reference_in_the_docs_exists(doc):
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    references = _references(text)
    assert references, f"{doc} cites no code"
    problems = {ref: why for ref in sorted(set(references)) if (why := _problem(ref)) and not _pending(ref, why)}
    assert not problems, f"{doc} cites code that does not exist: {problems}"


def test_every_pending_entry_is_cited():
    cited = {ref for doc in DOCS for ref in _references((PROJECT_ROOT / doc).read_text(encoding="utf-8"))}
    stale = [key for key in PENDING if not any(ref == key or ref.startswith(key) for ref in cited)]
    assert not stale, f"PENDING entries no doc cites any more: {stale}"


@pytest.mark.parametrize("doc", (*DOCS, "README.md"))
def test_relative_links_between_the_docs_resolve(doc):
    page = PROJECT_ROOT / doc
    broken = []
    for link in _LINK.findall(page.read_text(encoding="utf-8")):
        target = link.split("#", 1)[0]
        if not target or "://" in target or target.startswith("mailto:"):
            continue
        if not (page.parent / target).exists():
            broken.append(link)
    assert not broken, f"{doc} links to missing files: {broken}"


def test_a_wrong_reference_is_reported():
    assert _problem("hotlead_app/services/ledger.py::post") is None
    assert _problem("hotlead_app/services/ledger.py::no_such_function") is not None
    assert _problem("hotlead_app/no_such_module.py") == "no such file"
    assert _problem("tests/unit/test_money.py::test_float_amount_is_refused") is None
    assert _problem("tests/unit/test_money.py::to_money") is not None  # a test must be a test
    assert _problem("alembic/sql/0002_guards_up.sql::ledger_entries_append_only") is None
    assert _problem("alembic/sql/0002_guards_up.sql::ledger_entries") is not None
    assert _problem("hotlead_app/services/outbox.py::Relay.start") is None
    assert _problem("hotlead_app/services/outbox.py::Relay.no_such_method") is not None
