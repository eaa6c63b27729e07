"""infra/ holds runtime adapters only; the dev stack lives apart and production code
does not reach it (issue 12 item 4).  Read from the source (no import runs), until
import-linter checks the same contracts in `make lint`."""

from __future__ import annotations

import ast
from pathlib import Path

from hotlead_app.settings import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "hotlead_app"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for name in sorted(_imports(path)):
            if name.startswith(forbidden):
                found.append(f"{path.relative_to(PROJECT_ROOT)} imports {name}")
    return found


def test_infra_never_imports_services_api_pages_or_the_dev_stack():
    forbidden = tuple(
        f"hotlead_app.{layer}" for layer in ("services", "api", "pages", "components", "state", "devstack")
    )
    assert _offenders(PACKAGE / "infra", forbidden) == []


def test_only_the_cli_reaches_the_dev_stack():
    found = [
        line
        for line in _offenders(PACKAGE, ("hotlead_app.devstack",))
        if not line.startswith(("hotlead_app/devstack/", "hotlead_app/cli.py "))
    ]
    assert found == []
    assert not (PACKAGE / "infra" / "embedded.py").exists()


def test_the_reaper_knows_nothing_of_the_servers_it_stops():
    imports = _imports(PACKAGE / "devstack" / "reaper.py")
    assert not [name for name in imports if name.startswith("hotlead_app")]
