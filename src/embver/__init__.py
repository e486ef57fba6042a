"""embver: version control and a microscope for embeddings.

>>> import embver
>>> store = embver.init("my-project")                       # doctest: +SKIP
>>> space = store.space("stop-signs")                       # doctest: +SKIP
>>> v = space.register(vectors, ids=ids, recipe=recipe)     # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embver.core import Bump, Context, Recipe, SemVer, derive_bump, parse_ref, parse_version
from embver.errors import (
    BumpConflictError,
    ClusterError,
    DependencyError,
    EmbverError,
    ImmutabilityError,
    IndexTargetError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    RecipeError,
    StoreError,
    StoreNotFoundError,
    StoreVersionError,
    VerdictError,
    VersionStringError,
)

if TYPE_CHECKING:
    from embver.api import Space, Store, Version, init, map_queries, open
    from embver.compare import Comparison, Verdict
    from embver.compare.api import Adapter
    from embver.composite import Concat, Impact, LearnedProjection, Mean
    from embver.evaluate.results import Evaluation
    from embver.extract import Extraction
    from embver.project import DriftReport, Projection
    from embver.widgets import widget

__version__ = "0.1.0"

# The store pulls in SQLAlchemy, Arrow and Lance; models pull in torch. They load on first
# use so that `import embver` and `embver --help` stay fast.
_LAZY = {
    "Store": ("embver.api", "Store"),
    "Space": ("embver.api", "Space"),
    "Version": ("embver.api", "Version"),
    "init": ("embver.api", "init"),
    "open": ("embver.api", "open"),
    "map_queries": ("embver.api", "map_queries"),
    "Extraction": ("embver.extract", "Extraction"),
    "Concat": ("embver.composite", "Concat"),
    "Mean": ("embver.composite", "Mean"),
    "LearnedProjection": ("embver.composite", "LearnedProjection"),
    # what the facade's methods return
    "Comparison": ("embver.compare.comparison", "Comparison"),
    "Verdict": ("embver.compare.verdict", "Verdict"),
    "Adapter": ("embver.compare.api", "Adapter"),
    "Impact": ("embver.composite.impact", "Impact"),
    "Projection": ("embver.project.projection", "Projection"),
    "DriftReport": ("embver.project.drift", "DriftReport"),
    "Evaluation": ("embver.evaluate.results", "Evaluation"),
    # notebook widgets (anywidget) of a version or a comparison
    "widget": ("embver.widgets", "widget"),
}


def __getattr__(name: str) -> Any:
    # Heavy subsystems (torch, umap, faiss) load only when their names are used.
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'embver' has no attribute {name!r}")


__all__ = [
    "Adapter",
    "Bump",
    "BumpConflictError",
    "ClusterError",
    "Comparison",
    "Concat",
    "Context",
    "DependencyError",
    "DriftReport",
    "EmbverError",
    "Evaluation",
    "Extraction",
    "ImmutabilityError",
    "Impact",
    "IndexTargetError",
    "IntegrityError",
    "InvalidInputError",
    "LearnedProjection",
    "Mean",
    "NotFoundError",
    "Projection",
    "Recipe",
    "RecipeError",
    "SemVer",
    "Space",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "Verdict",
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
]
