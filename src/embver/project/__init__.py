"""Seeing a version: projections (UMAP, PCA, t-SNE) aligned across versions,
HDBSCAN clusters, what a dimension means, and drift.

Array-level functions work on numpy arrays; :mod:`embver.project.api` runs
them on stored versions and caches the results in the store. Names load on first
use, so ``import embver.project`` pulls in neither numpy nor scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.project.align import align_to, displacement, procrustes_fit, seeded_start
    from embver.project.cluster import (
        ClusterSummary,
        class_tfidf_terms,
        cluster_purity,
        cluster_vectors,
        summarize_clusters,
    )
    from embver.project.dimensions import DimensionReport, inspect_dimension
    from embver.project.drift import DriftReport, measure_drift
    from embver.project.layout import compute_layout, pca_layout, tsne_layout, umap_layout
    from embver.project.projection import Projection

_EXPORTS = {
    "align_to": "embver.project.align",
    "displacement": "embver.project.align",
    "procrustes_fit": "embver.project.align",
    "seeded_start": "embver.project.align",
    "ClusterSummary": "embver.project.cluster",
    "class_tfidf_terms": "embver.project.cluster",
    "cluster_purity": "embver.project.cluster",
    "cluster_vectors": "embver.project.cluster",
    "summarize_clusters": "embver.project.cluster",
    "DimensionReport": "embver.project.dimensions",
    "inspect_dimension": "embver.project.dimensions",
    "DriftReport": "embver.project.drift",
    "measure_drift": "embver.project.drift",
    "compute_layout": "embver.project.layout",
    "pca_layout": "embver.project.layout",
    "tsne_layout": "embver.project.layout",
    "umap_layout": "embver.project.layout",
    "Projection": "embver.project.projection",
}

__all__ = [
    "ClusterSummary",
    "DimensionReport",
    "DriftReport",
    "Projection",
    "align_to",
    "class_tfidf_terms",
    "cluster_purity",
    "cluster_vectors",
    "compute_layout",
    "displacement",
    "inspect_dimension",
    "measure_drift",
    "pca_layout",
    "procrustes_fit",
    "seeded_start",
    "summarize_clusters",
    "tsne_layout",
    "umap_layout",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
