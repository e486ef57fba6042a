"""evaluate/'s science stands on numpy, scipy, sklearn, pytrec_eval and embver's neighbours and
stats; only evaluate/api.py, which reads versions from the store and records figures, reaches
the store (the layer contract in pyproject.toml keeps it below the facade)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import embver.evaluate

PACKAGE = Path(embver.evaluate.__file__).parent
ALLOWED = (
    "__future__", "collections", "csv", "dataclasses", "importlib", "inspect", "json", "math", "os",
    "pathlib", "types", "typing",
    "numpy", "scipy", "sklearn", "pytrec_eval",
    "embver.errors", "embver._lazy", "embver.neighbors", "embver.compare.stats",
    "embver.core.display",
    "embver.evaluate",
)  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, function-local imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_evaluate_imports_only_what_it_may():
    for path in PACKAGE.glob("*.py"):
        if path.name == "api.py":
            continue
        for name in imported_modules(path):
            assert any(name == a or name.startswith(a + ".") for a in ALLOWED), (path.name, name)


def test_importing_evaluate_loads_no_heavy_library():
    code = "import sys, embver.evaluate; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert not loaded & {"numpy", "scipy", "sklearn", "pytrec_eval", "faiss"}


def test_every_lazy_name_resolves():
    assert sorted(embver.evaluate.__all__) == sorted(embver.evaluate._EXPORTS)
    for name in embver.evaluate.__all__:
        assert getattr(embver.evaluate, name) is not None, name
