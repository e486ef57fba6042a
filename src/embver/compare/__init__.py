"""Comparing two versions: neighbourhoods, global structure, clusters, verdicts, migration maps.

Modules, from the ground up::

    neighbors      exact k-NN through faiss flat search, in blocks
    neighbourhood  per-item k-NN overlap / Jaccard, chance levels, movers
    structure      linear CKA (biased, debiased), Procrustes angle, pair-similarity Spearman
    trust          trustworthiness and continuity (scikit-learn's definition)
    clusters       ARI/AMI and split/merged/new clusters between two clusterings
    dropin         per-item cosine, cross-version retrieval CR@k, self-hit@1
    stats          distributions and bootstrap intervals
    maps           Procrustes / ridge / residual-MLP maps between versions
    migration      fitting maps and measuring held-out retention
    verdict        drop-in / adapter / breaking for a PATCH
    comparison     Comparison and compare_arrays
    api            store-level compare() and adapters
    commands       the ``embver compare`` and ``embver adapter`` CLI commands

Names are imported lazily so that ``import embver.compare.neighbors`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Comparison": "embver.compare.comparison",
    "compare_arrays": "embver.compare.comparison",
    "compare": "embver.compare.api",
    "fit_adapter": "embver.compare.api",
    "adapter": "embver.compare.api",
    "Verdict": "embver.compare.verdict",
    "patch_verdict": "embver.compare.verdict",
    "knn": "embver.compare.neighbors",
    "linear_cka": "embver.compare.structure",
    "procrustes_distance": "embver.compare.structure",
    "trustworthiness": "embver.compare.trust",
    "continuity": "embver.compare.trust",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'embver.compare' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
