"""How two clusterings of the same items relate: ARI, AMI and where clusters went.

Each version is clustered by embver's one clustering,
:func:`embver.project.cluster.cluster_vectors` (UMAP to a few dimensions, then
HDBSCAN; label -1 is noise). :func:`compare_clusterings` takes any two label
arrays over the same items. ARI and AMI are computed over the items that are
clustered (not noise) in both versions; noise fractions are reported beside
them.

Contingency rules, with share threshold τ (default 0.2):

- old cluster *a* **split** when ≥ 2 new clusters each receive ≥ τ of *a*;
- new cluster *b* **merged** when ≥ 2 old clusters each make up ≥ τ of *b*;
- new cluster *b* is **new** when no old cluster makes up ≥ τ of it;
- old cluster *a* **vanished** when no new cluster receives ≥ τ of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embver.compare.neighbors import canonical_metric
from embver.errors import InvalidInputError

NOISE = -1
#: HDBSCAN (through UMAP) runs on at most this many items per version
CLUSTER_SAMPLE = 5_000


def cluster_both(
    old: np.ndarray,
    new: np.ndarray,
    *,
    metric_old: str = "cosine",
    metric_new: str = "cosine",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster each version with embver's one clustering, ``project.cluster.cluster_vectors``.

    Parameters
    ----------
    old : array of shape (n, d_old)
    new : array of shape (n, d_new)

    Returns
    -------
    labels_old, labels_new : int arrays of shape (n,), -1 for noise
    """
    from embver.project.cluster import cluster_vectors

    labels_old = cluster_vectors(old, seed=seed, metric=canonical_metric(metric_old))
    labels_new = cluster_vectors(new, seed=seed, metric=canonical_metric(metric_new))
    return np.asarray(labels_old, dtype=np.int64), np.asarray(labels_new, dtype=np.int64)


@dataclass(frozen=True)
class ClusterComparison:
    """Agreement of two clusterings of the same items and where clusters went."""

    ari: float
    ami: float
    n_clusters_old: int
    n_clusters_new: int
    clustered_in_both: int = 0
    noise_old: float = 0.0
    noise_new: float = 0.0
    split: dict[int, list[int]] = field(default_factory=dict)
    merged: dict[int, list[int]] = field(default_factory=dict)
    new: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    contingency: list[list[int]] = field(default_factory=list)
    labels_old: list[int] = field(default_factory=list)
    labels_new: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["split"] = {str(a): bs for a, bs in self.split.items()}
        out["merged"] = {str(b): as_ for b, as_ in self.merged.items()}
        return out


def contingency_table(
    old: np.ndarray, new: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts (n_old_clusters, n_new_clusters) of items per label pair, noise left out.

    Returns the table and the old and new cluster labels of its rows and columns.
    """
    keep = (old != NOISE) & (new != NOISE)
    rows, row_index = np.unique(old[keep], return_inverse=True)
    cols, col_index = np.unique(new[keep], return_inverse=True)
    table = np.zeros((rows.size, cols.size), dtype=np.int64)
    np.add.at(table, (row_index, col_index), 1)
    return table, rows, cols


def compare_clusterings(
    old: np.ndarray, new: np.ndarray, *, share: float = 0.2
) -> ClusterComparison:
    """ARI, AMI and split/merged/new/vanished clusters between two labelings (n,)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    old = np.asarray(old, dtype=np.int64).ravel()
    new = np.asarray(new, dtype=np.int64).ravel()
    if old.shape != new.shape:
        raise InvalidInputError(
            f"label arrays differ in length ({old.size} vs {new.size}); label the same items"
        )
    if not 0.0 < share <= 0.5:
        raise InvalidInputError(f"share={share} must lie in (0, 0.5]")
    both = (old != NOISE) & (new != NOISE)
    table, rows, cols = contingency_table(old, new)
    row_share = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    col_share = table / np.maximum(table.sum(axis=0, keepdims=True), 1)
    goes = row_share >= share
    makes = col_share >= share
    return ClusterComparison(
        ari=float(adjusted_rand_score(old[both], new[both])) if both.sum() >= 2 else 0.0,
        ami=float(adjusted_mutual_info_score(old[both], new[both])) if both.sum() >= 2 else 0.0,
        clustered_in_both=int(both.sum()),
        noise_old=float(np.mean(old == NOISE)),
        noise_new=float(np.mean(new == NOISE)),
        n_clusters_old=int(rows.size),
        n_clusters_new=int(cols.size),
        split={
            int(rows[a]): cols[goes[a]].tolist() for a in range(rows.size) if goes[a].sum() >= 2
        },
        merged={
            int(cols[b]): rows[makes[:, b]].tolist()
            for b in range(cols.size)
            if makes[:, b].sum() >= 2
        },
        new=cols[~makes.any(axis=0)].tolist(),
        vanished=rows[~goes.any(axis=1)].tolist(),
        contingency=table.tolist(),
        labels_old=rows.tolist(),
        labels_new=cols.tolist(),
    )
