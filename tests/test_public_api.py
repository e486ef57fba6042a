"""The public API is what is meant, and importing it stays light."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest

import embver

EXPECTED = {
    "Adapter",
    "Comparison",
    "DriftReport",
    "Evaluation",
    "Impact",
    "Projection",
    "Verdict",
    "Bump",
    "BumpConflictError",
    "ClusterError",
    "Concat",
    "Context",
    "DependencyError",
    "EmbverError",
    "Extraction",
    "ImmutabilityError",
    "IndexTargetError",
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
    "map_queries",
    "open",
    "parse_ref",
    "parse_version",
    "widget",
}


def test_exports_are_what_is_meant():
    assert set(embver.__all__) == EXPECTED
    for name in embver.__all__:
        assert getattr(embver, name) is not None, name


def test_every_error_is_an_embver_error():
    errors = [getattr(embver, n) for n in embver.__all__ if n.endswith("Error")]
    assert all(issubclass(e, embver.EmbverError) for e in errors)


#: libraries that take long to import; none may load before a command needs it
HEAVY = {
    "faiss", "fastapi", "lance", "numba", "numpy", "pandas", "pyarrow", "sklearn",
    "sqlalchemy", "starlette", "torch", "transformers", "umap", "uvicorn",
}  # fmt: skip

#: subpackages whose names load on first use (core is eager: it is pure and light)
LAZY_PACKAGES = [
    "embver.compare", "embver.composite", "embver.evaluate", "embver.extract", "embver.index",
    "embver.integrations", "embver.project", "embver.report", "embver.serve", "embver.server",
    "embver.store", "embver.widgets",
]  # fmt: skip


def _heavy_loaded(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh Python."""
    probe = f"{code}\nimport sys\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    return sorted(HEAVY & set(loaded))


def test_import_does_not_load_heavy_dependencies():
    assert _heavy_loaded("import embver") == []


@pytest.mark.parametrize("package", [*LAZY_PACKAGES, "embver.core"])
def test_importing_a_subpackage_loads_no_heavy_dependency(package):
    # e.g. `import embver.server` pulled in FastAPI before anything was served
    assert _heavy_loaded(f"import {package}") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["compare", "--help"],
        ["ui", "--help"],
        ["serve", "--help"],
        ["embed", "--help"],
        ["project", "-h"],
        ["publish", "--help"],
        ["migrate", "--help"],
        ["index", "status", "--help"],
    ],
)
def test_cli_help_loads_no_heavy_dependency(argv):
    code = (
        "import contextlib, io\n"
        "from embver.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})"
    )
    assert _heavy_loaded(code) == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_lazy_name_resolves(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(module._EXPORTS), "__all__ and _EXPORTS differ"
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_a_function_named_like_its_submodule_stays_the_function():
    code = (
        "import embver.composite as c\n"
        "c.Impact\n"  # loads the submodule embver.composite.impact
        "from embver.composite import impact\n"
        "print(callable(impact) and not hasattr(impact, '__path__') "
        "and impact.__module__ == 'embver.composite.impact' and impact.__name__ == 'impact')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


def _facade_callables():
    """Every public method and property of the classes ``embver.init``/``open`` hand out."""
    import inspect

    import embver.api as api

    for cls in (api.Store, api.Space, api.Version):
        for name, member in inspect.getmembers(cls):
            if name.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            if callable(function) and not inspect.isclass(function):
                yield f"{cls.__name__}.{name}", function


def test_the_facade_is_typed_without_any():
    """Every parameter of the facade is annotated and none is Any; a return may hold Any only
    as the values of a JSON record (``dict[str, Any]``), so an IDE knows what each call gives."""
    import inspect
    import re

    untyped: dict[str, list[str]] = {}
    for qualname, function in _facade_callables():
        signature = inspect.signature(function)
        problems = [
            f"{p.name}: {p.annotation}"
            for p in signature.parameters.values()
            if p.name not in ("self", "cls")
            and (p.annotation is inspect.Parameter.empty or re.search(r"\bAny\b", p.annotation))
        ]
        returns = signature.return_annotation
        if returns is inspect.Signature.empty or re.search(
            r"\bAny\b", str(returns).replace("dict[str, Any]", "")
        ):
            problems.append(f"return: {returns}")
        if problems:
            untyped[qualname] = problems
    assert untyped == {}


def test_the_store_hands_out_no_storage_primitive():
    """What bypasses the immutability rules (appending segments, adding item rows, raw bytes,
    catalog rows by id) is private to embver.store: the facade's public names are the user API."""
    public = {name for name, _ in _facade_callables() if name.startswith("Store.")}
    primitives = {
        "find_identity", "mark_appended", "append_segment", "add_items", "write_bytes",
        "read_bytes", "version_by_id", "set_verdict",
    }  # fmt: skip
    assert public & {f"Store.{p}" for p in primitives} == set()
    assert {"Store.compare", "Store.project", "Store.get", "Store.set_alias"} <= public
