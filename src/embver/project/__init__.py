"""Seeing a version: projections (UMAP, PCA, t-SNE) aligned across versions,
HDBSCAN clusters, what a dimension means, and drift.

Array-level functions work on numpy arrays; :mod:`embver.project.api` runs
them on stored versions and caches the results in the store.
"""

from __future__ import annotations

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
