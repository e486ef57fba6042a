"""The package layout: every command lives in embver.cli (no other module uses click or
imports the CLI back), and the store and core import nothing above them."""

from __future__ import annotations

import ast
from pathlib import Path

import embver


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "embver":
                names.update(f"embver.{alias.name}" for alias in node.names)
    return names


def test_only_the_cli_package_uses_click_or_imports_the_cli():
    package = Path(embver.__file__).parent
    offenders = {
        str(path.relative_to(package)): sorted(
            m
            for m in _imported_modules(path)
            if m.split(".")[0] == "click" or m.startswith("embver.cli")
        )
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] != "cli"
    }
    assert {path: found for path, found in offenders.items() if found} == {}


#: what persistence and the pure domain may not import: everything that measures or builds
SCIENCE_AND_ABOVE = ("compare", "project", "composite", "extract", "report", "server", "cli", "api")


def test_the_store_and_core_know_no_science():
    """store/ keeps and core/ is pure: they import nothing above them (the facade, embver.api,
    composes the science on top), not even inside functions."""
    package = Path(embver.__file__).parent
    upward = tuple(f"embver.{name}" for name in SCIENCE_AND_ABOVE)
    offenders = {
        str(path.relative_to(package)): sorted(
            m for m in _imported_modules(path) if m == "embver.api" or m.startswith(upward)
        )
        for layer in ("store", "core")
        for path in (package / layer).rglob("*.py")
    }
    assert {path: found for path, found in offenders.items() if found} == {}
