"""What the report shows of a comparison: its headline figures (each beside its chance
level or null, from :mod:`embver.compare.figures`, shared with the notebook display)
and the top movers when no comparison is at hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from embver.compare.figures import comparison_figures

if TYPE_CHECKING:
    from embver.store import Version

__all__ = ["comparison_figures", "fallback_movers"]


def fallback_movers(va: Version, vb: Version, k: int, count: int = 10) -> list[dict[str, Any]]:
    """Top movers when no comparison is at hand, in the order `embver compare` gives them.

    Lowest Jaccard of the k nearest shared neighbours first; equal Jaccard (often
    hundreds at 0) ordered by how far each item's old neighbours moved in B: the
    compare package's :func:`~embver.compare.neighbourhood.top_movers` with its
    :func:`~embver.compare.comparison.similarity_gap`. Each mover lists its first five
    neighbours in A and in B.
    """
    from embver.compare.api import shared_vectors
    from embver.compare.comparison import MOVER_NEIGHBOURS, similarity_gap
    from embver.compare.neighbourhood import overlap_scores, top_movers
    from embver.neighbors import canonical_metric, knn, prepare

    pairing = shared_vectors(va.store, va, vb)
    shared = pairing.ids
    k = min(k, len(shared) - 1)
    if k < 1:
        return []
    nb_a, nb_b = knn(pairing.x, k, metric=va.metric), knn(pairing.y, k, metric=vb.metric)
    metric = canonical_metric(vb.metric)
    _, jaccard = overlap_scores(nb_a, nb_b, k)
    gap = similarity_gap(prepare(pairing.y, metric), np.arange(len(shared)), nb_a, nb_b, metric)
    return [
        {
            "id": shared[r],
            "jaccard": float(jaccard[r]),
            "similarity_gap": float(gap[r]),
            "old_neighbours": [shared[j] for j in nb_a[r, :MOVER_NEIGHBOURS]],
            "new_neighbours": [shared[j] for j in nb_b[r, :MOVER_NEIGHBOURS]],
        }
        for r in top_movers(jaccard, count, tie_break=gap)
    ]
