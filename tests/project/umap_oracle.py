"""umap-learn, the tests' independent reference, imported without compiling pynndescent.

embver no longer imports umap-learn (:mod:`embver.project.spectral` computes the pieces
it took from it). The tests still compare with it: its fuzzy graph, its spectral start,
its optimiser. ``umap.umap_`` imports pynndescent at the top, and pynndescent compiles
(or loads from numba's cache) well over a hundred numba kernels as it is imported,
tens of seconds per test worker on a fresh machine, for k-NN searches these tests never
run through it.

:func:`import_umap` imports umap with stand-ins for the three names ``umap.umap_``
takes from pynndescent. Each stand-in loads the real pynndescent the moment it is
used (``umap.UMAP`` with its own k-NN search, a metric lookup), so umap-learn still
works in full in the same process, and the stand-ins leave ``sys.modules`` as soon
as umap is imported: a later ``import pynndescent`` gets the real package.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any


class _LazyMapping(Mapping[str, Any]):
    """A read-only view of ``module.attribute`` (a dict) that imports the module on use."""

    def __init__(self, module: str, attribute: str) -> None:
        self._module, self._attribute = module, attribute

    def _real(self) -> Mapping[str, Any]:
        real: Mapping[str, Any] = getattr(importlib.import_module(self._module), self._attribute)
        return real

    def __getitem__(self, key: str) -> Any:
        return self._real()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real())

    def __len__(self) -> int:
        return len(self._real())

    def __contains__(self, key: object) -> bool:
        return key in self._real()


def _lazy_nndescent(*args: Any, **kwargs: Any) -> Any:
    """pynndescent.NNDescent(*args, **kwargs), the real one, imported now."""
    return importlib.import_module("pynndescent").NNDescent(*args, **kwargs)


def _stand_ins() -> dict[str, types.ModuleType]:
    package = types.ModuleType("pynndescent")
    package.NNDescent = _lazy_nndescent  # type: ignore[attr-defined]
    distances = types.ModuleType("pynndescent.distances")
    distances.named_distances = _LazyMapping(  # type: ignore[attr-defined]
        "pynndescent.distances", "named_distances"
    )
    sparse = types.ModuleType("pynndescent.sparse")
    sparse.sparse_named_distances = _LazyMapping(  # type: ignore[attr-defined]
        "pynndescent.sparse", "sparse_named_distances"
    )
    return {
        "pynndescent": package,
        "pynndescent.distances": distances,
        "pynndescent.sparse": sparse,
    }


def import_umap() -> types.ModuleType:
    """``umap.umap_``, imported without importing pynndescent unless it is loaded already."""
    if "umap.umap_" in sys.modules or "pynndescent" in sys.modules:
        return importlib.import_module("umap.umap_")
    stand_ins = _stand_ins()
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module("umap.umap_")
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
