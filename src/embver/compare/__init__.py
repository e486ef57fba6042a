"""Comparing two versions: neighbourhoods, global structure, clusters, verdicts, migration maps.

Built on :mod:`embver.neighbors` (exact k-NN, shared with :mod:`embver.project`) and on
:mod:`embver.project`'s clustering. Modules, from the ground up::

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

Names are imported lazily so that ``import embver.compare`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.compare.api import adapter, compare, fit_adapter
    from embver.compare.comparison import Comparison, compare_arrays
    from embver.compare.structure import linear_cka, procrustes_distance
    from embver.compare.trust import continuity, trustworthiness
    from embver.compare.verdict import Verdict, patch_verdict
    from embver.neighbors import knn

_EXPORTS = {
    "Comparison": "embver.compare.comparison",
    "compare_arrays": "embver.compare.comparison",
    "adapter": "embver.compare.api",
    "compare": "embver.compare.api",
    "fit_adapter": "embver.compare.api",
    "Verdict": "embver.compare.verdict",
    "patch_verdict": "embver.compare.verdict",
    "knn": "embver.neighbors",
    "linear_cka": "embver.compare.structure",
    "procrustes_distance": "embver.compare.structure",
    "continuity": "embver.compare.trust",
    "trustworthiness": "embver.compare.trust",
}

__all__ = [
    "Comparison",
    "Verdict",
    "adapter",
    "compare",
    "compare_arrays",
    "continuity",
    "fit_adapter",
    "knn",
    "linear_cka",
    "patch_verdict",
    "procrustes_distance",
    "trustworthiness",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
