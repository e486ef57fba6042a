"""Every command lives in embver.cli: no other module uses click or imports the CLI back."""

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
