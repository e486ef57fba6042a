"""The public API is what is meant, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import embver

EXPECTED = {
    "Bump",
    "BumpConflictError",
    "ClusterError",
    "Concat",
    "Context",
    "DependencyError",
    "EmbverError",
    "Extraction",
    "ImmutabilityError",
    "IntegrityError",
    "InvalidInputError",
    "LearnedProjection",
    "Mean",
    "NotFoundError",
    "Recipe",
    "RecipeError",
    "SemVer",
    "Space",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "VerdictError",
    "Version",
    "VersionStringError",
    "__version__",
    "derive_bump",
    "init",
    "open",
    "parse_ref",
    "parse_version",
}


def test_exports_are_what_is_meant():
    assert set(embver.__all__) == EXPECTED
    for name in embver.__all__:
        assert getattr(embver, name) is not None, name


def test_every_error_is_an_embver_error():
    errors = [getattr(embver, n) for n in embver.__all__ if n.endswith("Error")]
    assert all(issubclass(e, embver.EmbverError) for e in errors)


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, embver; "
        "print(sorted(m for m in ('torch', 'sqlalchemy', 'lance', 'umap', 'faiss', 'transformers') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
