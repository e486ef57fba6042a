"""HDBSCAN clusters of a version, found on a low-dimensional UMAP, and their summaries.

Shared with ``embver.compare``: :func:`cluster_vectors` is the one clustering
of embver (vectors in, one label per item out, -1 for noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embver.project._numba_cache import ensure_numba_cache_dir
from embver.project.layout import LayoutProblem, layout_problem, prepare_vectors

CLUSTER_SPACE_DIMS = 5


def default_min_cluster_size(n_items: int) -> int:
    """A cluster size floor that grows slowly with the data: max(10, sqrt(n))."""
    return max(10, int(np.sqrt(n_items)))


def cluster_vectors(
    vectors: np.ndarray,
    seed: int = 0,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    metric: str = "cosine",
    space_dims: int = CLUSTER_SPACE_DIMS,
) -> np.ndarray:
    """HDBSCAN cluster labels for ``vectors`` (n, d): int32 (n,), -1 for noise.

    The vectors are first laid out by UMAP in ``space_dims`` dimensions with
    ``min_dist=0`` (dense clumps, the usual recipe for density clustering of
    embeddings), then clustered by HDBSCAN (:func:`cluster_layout`). Seeded and reproducible.
    :func:`clustering_problem` and :meth:`ClusteringProblem.solve` are its two halves.
    """
    return clustering_problem(
        vectors, seed, min_cluster_size, min_samples, metric, space_dims
    ).solve()


@dataclass(frozen=True)
class ClusteringProblem:
    """A clustering ready to finish: its UMAP layout to optimise (None when there are too
    few items for two clusters), then HDBSCAN.

    :meth:`solve` uses neither BLAS nor faiss (numba's optimiser, then scikit-learn's
    HDBSCAN on a few dimensions), so it runs on a thread beside other work with the labels
    unchanged.
    """

    layout: LayoutProblem | None
    n_items: int
    min_cluster_size: int | None
    min_samples: int | None

    def solve(self) -> np.ndarray:
        """The labels, int32 (n,), -1 for noise."""
        if self.layout is None:
            return np.full(self.n_items, -1, dtype=np.int32)
        space = self.layout.optimize()
        return cluster_layout(
            space, min_cluster_size=self.min_cluster_size, min_samples=self.min_samples
        )


def clustering_problem(
    vectors: np.ndarray,
    seed: int = 0,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    metric: str = "cosine",
    space_dims: int = CLUSTER_SPACE_DIMS,
) -> ClusteringProblem:
    """Everything :func:`cluster_vectors` does before its layout's optimisation (same
    parameters): the layout's PCA, graphs and start (:func:`layout_problem`)."""
    layout = None
    if len(vectors) >= 2 * (min_cluster_size or default_min_cluster_size(len(vectors))):
        layout = layout_problem(vectors, dims=space_dims, seed=seed, metric=metric, min_dist=0.0)
    return ClusteringProblem(layout, len(vectors), min_cluster_size, min_samples)


#: at most this many points HDBSCAN runs in scikit-learn (compiled ahead of time) rather
#: than fast_hdbscan, whose numba kernels take ~50 s to compile on a machine's first run
#: (40 s of it as fast_hdbscan is imported) and win only on large data. Every clustering of
#: compare (at most CLUSTER_SAMPLE = 5,000 items) takes this path.
SKLEARN_UP_TO = 5_000


def cluster_layout(
    space: np.ndarray, min_cluster_size: int | None = None, min_samples: int | None = None
) -> np.ndarray:
    """HDBSCAN labels of points ``space`` (n, dims) already in a low dimension; int32 (n,).

    Both engines compute the same HDBSCAN: a point's core distance is that to its
    ``min_samples``-th neighbour other than itself (fast_hdbscan's definition; scikit-learn
    counts the point itself, hence the ``+ 1``), leaf selection, the same minimum cluster
    size. On the same points they find the same partition (tests/project/test_cluster.py
    checks it); the numbering is by size either way (:func:`_renumber_by_size`).
    """
    size = min_cluster_size or default_min_cluster_size(len(space))
    samples = size if min_samples is None else min_samples
    points = np.ascontiguousarray(space, dtype=np.float32)
    # "leaf" selection: excess-of-mass often keeps two topics merged in one cluster, or
    # returns two giant clusters depending on the seed (BBC news, 5 topics: purity 0.40-0.78
    # with EOM, 0.95 with leaf over seeds 0-2; tests/project/test_cluster.py)
    if len(points) <= SKLEARN_UP_TO:
        labels = _sklearn_hdbscan(points, size, samples)
    else:
        labels = _fast_hdbscan(points, size, samples)
    return _renumber_by_size(np.asarray(labels, dtype=np.int32))


def _sklearn_hdbscan(points: np.ndarray, size: int, samples: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(
        min_cluster_size=size,
        min_samples=samples + 1,
        cluster_selection_method="leaf",
        copy=True,
    )
    return np.asarray(model.fit_predict(points.astype(np.float64)))


def _fast_hdbscan(points: np.ndarray, size: int, samples: int) -> np.ndarray:
    ensure_numba_cache_dir()
    import fast_hdbscan

    model = fast_hdbscan.HDBSCAN(
        min_cluster_size=size,
        min_samples=samples,
        cluster_selection_method="leaf",
        reproducible=True,
    )
    return np.asarray(model.fit_predict(points))


def _renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster 0 is the largest, then 1, ...; noise stays -1.

    Clusters of equal size are ordered by their first item, so the numbering depends on
    the partition alone, not on the order an engine happened to find the clusters in.
    """
    found, first, counts = np.unique(labels[labels >= 0], return_index=True, return_counts=True)
    first = np.flatnonzero(labels >= 0)[first]
    order = found[np.lexsort((first, -counts))]
    mapping = np.full(int(labels.max(initial=-1)) + 2, -1, dtype=np.int32)
    mapping[order + 1] = np.arange(len(order), dtype=np.int32)
    return mapping[labels + 1]


@dataclass
class ClusterSummary:
    """What a person needs to recognise one cluster."""

    cluster: int
    size: int
    share: float
    majority_label: str | None = None
    purity: float | None = None
    top_terms: list[str] = field(default_factory=list)
    representatives: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_clusters(
    clusters: np.ndarray,
    vectors: np.ndarray,
    ids: Sequence[str],
    texts: Sequence[str | None] | None = None,
    labels: Sequence[Any] | None = None,
    n_terms: int = 8,
    n_representatives: int = 3,
) -> list[ClusterSummary]:
    """One summary per cluster (noise excluded), largest first.

    Parameters
    ----------
    clusters : int array of shape (n,), -1 for noise
    vectors : array of shape (n, d); representatives are the items nearest the
        cluster's centroid (cosine).
    ids, texts, labels : per-item sequences of length n; texts and labels optional.
    """
    unit = prepare_vectors(vectors, "cosine")
    terms = class_tfidf_terms(clusters, texts, n_terms) if texts is not None else {}
    summaries = []
    for cluster in sorted(set(clusters.tolist()) - {-1}):
        members = np.flatnonzero(clusters == cluster)
        summary = ClusterSummary(
            cluster=int(cluster),
            size=len(members),
            share=len(members) / len(clusters),
            top_terms=terms.get(int(cluster), []),
            representatives=_representatives(unit, members, ids, n_representatives),
        )
        if labels is not None:
            summary.majority_label, summary.purity = _majority(labels, members)
        summaries.append(summary)
    return summaries


#: how many top terms name a cluster in the report's and the UI's legends
NAME_TERMS = 3


def cluster_name(cluster: int, top_terms: Sequence[str], majority_label: str | None = None) -> str:
    """What a legend calls a cluster: "3: river, boat, fish", else its majority label.

    The same words wherever a cluster is shown (``embver report``, ``embver ui``);
    a cluster with neither terms nor labels is "cluster 3", noise (-1) is "noise".
    """
    if cluster < 0:
        return "noise"
    if top_terms:
        return f"{cluster}: " + ", ".join(top_terms[:NAME_TERMS])
    return f"{cluster}: {majority_label}" if majority_label else f"cluster {cluster}"


def cluster_names(
    clusters: np.ndarray,
    texts: Sequence[str | None] | None = None,
    labels: Sequence[Any] | None = None,
) -> dict[int, str]:
    """:func:`cluster_name` of every cluster of ``clusters`` (int array (n,), -1 noise).

    Terms come from :func:`class_tfidf_terms` over ``texts`` (length n), as in
    :func:`summarize_clusters`, without its representatives (which need the vectors).
    """
    terms = class_tfidf_terms(clusters, texts, NAME_TERMS) if texts is not None else {}
    names = {}
    for cluster in sorted(set(clusters.tolist())):
        majority = None
        if labels is not None and cluster >= 0:
            majority, _ = _majority(labels, np.flatnonzero(clusters == cluster))
        names[int(cluster)] = cluster_name(int(cluster), terms.get(int(cluster), []), majority)
    return names


def _representatives(
    unit: np.ndarray, members: np.ndarray, ids: Sequence[str], n: int
) -> list[str]:
    centroid = unit[members].mean(axis=0)
    closest = members[np.argsort(-(unit[members] @ centroid), kind="stable")[:n]]
    return [ids[i] for i in closest]


def _majority(labels: Sequence[Any], members: np.ndarray) -> tuple[str | None, float | None]:
    present = [labels[int(i)] for i in members if labels[i] is not None and labels[i] == labels[i]]
    if not present:
        return None, None
    values, counts = np.unique(np.asarray([str(v) for v in present]), return_counts=True)
    return str(values[counts.argmax()]), float(counts.max() / len(members))


def cluster_purity(clusters: np.ndarray, labels: Sequence[Any]) -> float:
    """Share of clustered (non-noise) items whose label is their cluster's majority label."""
    clustered = np.flatnonzero(clusters >= 0)
    if not len(clustered):
        return 0.0
    agree = 0
    for cluster in np.unique(clusters[clustered]):
        members = np.flatnonzero(clusters == cluster)
        names = [str(labels[int(i)]) for i in members]
        agree += max(names.count(name) for name in set(names))
    return agree / len(clustered)


def class_tfidf_terms(
    clusters: np.ndarray, texts: Sequence[str | None], n_terms: int = 8
) -> dict[int, list[str]]:
    """Top terms per cluster by class-based TF-IDF (each cluster is one document).

    Weight of term t in cluster c: ``tf(t, c) * log(1 + A / f(t))`` where tf is
    the term's frequency within the cluster, A the mean number of words per
    cluster and f(t) the term's frequency over all clusters (BERTopic's c-TF-IDF).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    found = sorted(set(clusters.tolist()) - {-1})
    documents = [
        " ".join(t for t in (texts[int(i)] for i in np.flatnonzero(clusters == c)) if t)
        for c in found
    ]
    if not found or not any(documents):
        return {}
    vectorizer = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # only stop words
        return {}
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log1p(counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1))
    weights = tf * idf
    vocabulary = vectorizer.get_feature_names_out()
    return {
        c: [str(vocabulary[j]) for j in np.argsort(-weights[row])[:n_terms] if weights[row, j] > 0]
        for row, c in enumerate(found)
    }
