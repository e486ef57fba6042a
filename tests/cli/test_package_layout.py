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


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8"))


def test_the_layer_contract_has_no_exceptions():
    """The import-linter contract CI runs lists every package and ignores no import."""
    contracts = _pyproject()["tool"]["importlinter"]["contracts"]
    listed = {name.strip() for c in contracts for layer in c["layers"] for name in layer.split("|")}
    package = Path(embver.__file__).parent
    ours = {
        f"embver.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and not p.name.startswith("_"))
    }
    assert ours - listed == set()
    assert all("ignore_imports" not in c for c in contracts)


def test_an_upward_import_breaks_the_layer_contract(tmp_path):
    """The contract can fail: a copy of the package where the store imports compare
    inside a function is reported, naming both modules."""
    import shutil
    import subprocess
    import sys

    package = Path(embver.__file__).parent
    shutil.copytree(package, tmp_path / "embver", ignore=shutil.ignore_patterns("static"))
    config = (Path(__file__).parents[2] / "pyproject.toml").read_text("utf-8")
    (tmp_path / "pyproject.toml").write_text(config, "utf-8")
    lint = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    kept = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert kept.returncode == 0, kept.stdout[-2000:]
    assert "1 kept, 0 broken" in kept.stdout
    catalog = tmp_path / "embver" / "store" / "catalog.py"
    source = catalog.read_text("utf-8")
    catalog.write_text(source + "\n\ndef _upward():\n    import embver.compare.verdict\n", "utf-8")
    broken = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert broken.returncode != 0
    assert "embver.store.catalog -> embver.compare.verdict" in broken.stdout
