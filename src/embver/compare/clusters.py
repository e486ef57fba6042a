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

Noise floor. UMAP and HDBSCAN are stochastic: the *same* vectors clustered
with another seed do not give the same clusters, so two versions differ by
that much with nothing changed. Given each version clustered a second time
(``old_again``, ``new_again``: :func:`cluster_again`, the same vectors under an
exact isometry and another seed), a cluster is *reproducible*
when some cluster of its version's second clustering shares ≥ 0.5 of their
union with it (Jaccard; Hennig's 2007 threshold below which a cluster has
"dissolved"). Split, merged, new and vanished are reported only when the
clusters they name are reproducible in their own version; the others are
counted in ``within_floor``. The floor of ARI and AMI is the lower agreement of
a version with itself reclustered; the versions' ARI lies *beyond* it when all
four pairings of their two clusterings agree less than that. Their chance level
comes from a permutation null: the labels of the new version shuffled over the
same items.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.errors import InvalidInputError
from embver.neighbors import canonical_metric

if TYPE_CHECKING:
    from embver.project.cluster import ClusteringProblem

NOISE = -1
#: HDBSCAN (through UMAP) runs on at most this many items per version
CLUSTER_SAMPLE = 5_000
#: a cluster matched this well (Jaccard) by a reclustering of its version is reproducible
REPRODUCIBLE_JACCARD = 0.5
#: label shuffles of the permutation null of ARI and AMI
PERMUTATIONS = 100


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


def cluster_again(vectors: np.ndarray, *, metric: str = "cosine", seed: int = 0) -> np.ndarray:
    """The same clustering of the same vectors (n, d), unchanged but for noise: labels (n,).

    The vectors' coordinates are permuted and their signs flipped (an exact
    isometry: every dot product, cosine and distance is kept, only rounding
    moves) and the clustering runs with the next seed. Compared with the first
    clustering it measures how much clusters move when nothing changed: a
    reseed alone leaves small spaces identical while a rotation of them does not.
    """
    return np.asarray(_again_problem(vectors, metric, seed).solve(), dtype=np.int64)


def _again_problem(vectors: np.ndarray, metric: str, seed: int) -> ClusteringProblem:
    from embver.project.cluster import clustering_problem

    rng = np.random.default_rng(seed + 1)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=vectors.shape[1])
    moved = np.asarray(vectors)[:, rng.permutation(vectors.shape[1])] * signs
    return clustering_problem(moved, seed=seed + 1, metric=canonical_metric(metric))


Labels = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class FourClusterings:
    """The four clusterings of :func:`start_four`, finishing on background threads."""

    def __init__(self, pool: ThreadPoolExecutor, jobs: list[Future[np.ndarray]]) -> None:
        self._pool, self._jobs = pool, jobs

    def done(self) -> bool:
        return all(job.done() for job in self._jobs)

    def result(self) -> Labels:
        """Wait for the four: labels_old, labels_new, old_again, new_again, int64 (n,)."""
        try:
            labels = [np.asarray(job.result(), dtype=np.int64) for job in self._jobs]
        finally:
            self._pool.shutdown(wait=False)
        return labels[0], labels[1], labels[2], labels[3]

    def cancel(self) -> None:
        """Drop the clusterings not yet started (a started one runs to its end)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def start_four(
    old: np.ndarray,
    new: np.ndarray,
    *,
    metric_old: str = "cosine",
    metric_new: str = "cosine",
    seed: int = 0,
) -> FourClusterings:
    """Prepare :func:`cluster_both`'s two clusterings and each version's
    :func:`cluster_again`, then leave them running.

    The preparations (PCA, the k-NN and fuzzy graphs, the spectral start: BLAS, faiss
    and SciPy) run here, two at a time; the layouts' optimisation and HDBSCAN then run on
    two background threads (:meth:`ClusteringProblem.solve` touches neither BLAS nor
    faiss), so the caller's other work (BLAS included, whatever its thread limits) goes
    on beside them with the results of both unchanged. The four are independent and
    each is seeded: the labels are those of running them one after another.
    """
    from embver.project.cluster import clustering_problem
    from embver.project.sgd import SERIAL_BELOW

    m_old, m_new = canonical_metric(metric_old), canonical_metric(metric_new)
    # at SERIAL_BELOW points and above the optimiser already uses every core: one at a time
    pool = ThreadPoolExecutor(max_workers=2 if len(old) < SERIAL_BELOW else 1)
    try:
        preparing = [
            pool.submit(clustering_problem, old, seed=seed, metric=m_old),
            pool.submit(clustering_problem, new, seed=seed, metric=m_new),
            pool.submit(_again_problem, old, m_old, seed),
            pool.submit(_again_problem, new, m_new, seed),
        ]
        problems = [job.result() for job in preparing]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return FourClusterings(pool, [pool.submit(problem.solve) for problem in problems])


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
    n_items: int = 0
    chance_ari: float = 0.0  # mean of the permutation null
    chance_ari_p95: float = 0.0
    chance_ami: float = 0.0
    chance_ami_p95: float = 0.0
    #: ARI/AMI of each version with itself reclustered, and the events that reseeding alone
    #: produces; None when no second clustering was given
    floor: dict[str, Any] | None = None
    #: events found but left out because a cluster they name is not reproducible
    within_floor: dict[str, int] = field(default_factory=dict)

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


@dataclass(frozen=True)
class _Events:
    """Split / merged / new / vanished clusters of one contingency table."""

    split: dict[int, list[int]]
    merged: dict[int, list[int]]
    new: list[int]
    vanished: list[int]

    def counts(self) -> dict[str, int]:
        return {
            "split": len(self.split),
            "merged": len(self.merged),
            "new": len(self.new),
            "vanished": len(self.vanished),
        }


def _check_labels(old: np.ndarray, new: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    old = np.asarray(old, dtype=np.int64).ravel()
    new = np.asarray(new, dtype=np.int64).ravel()
    if old.shape != new.shape:
        raise InvalidInputError(
            f"label arrays differ in length ({old.size} vs {new.size}); label the same items"
        )
    if not 0.0 < share <= 0.5:
        raise InvalidInputError(f"share={share} must lie in (0, 0.5]")
    return old, new


def _events(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, share: float) -> _Events:
    """Apply the contingency rules of the module docstring to ``table`` (rows, cols)."""
    row_share = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    col_share = table / np.maximum(table.sum(axis=0, keepdims=True), 1)
    goes = row_share >= share
    makes = col_share >= share
    return _Events(
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
    )


def reproducible_clusters(labels: np.ndarray, again: np.ndarray) -> set[int]:
    """Clusters of ``labels`` (n,) that a cluster of ``again`` (n,) matches with Jaccard ≥ 0.5.

    Jaccard is taken over all n items: an item that is noise in ``again`` counts
    in the union, not in the intersection.
    """
    labels, again = _check_labels(labels, again, 0.5)
    found = set()
    sizes_again = {int(c): int(np.sum(again == c)) for c in np.unique(again[again != NOISE])}
    for cluster in np.unique(labels[labels != NOISE]):
        members = labels == cluster
        hits, counts = np.unique(again[members & (again != NOISE)], return_counts=True)
        union = members.sum() + np.array([sizes_again[int(h)] for h in hits]) - counts
        if hits.size and float(np.max(counts / union)) >= REPRODUCIBLE_JACCARD:
            found.add(int(cluster))
    return found


def _beyond_floor(events: _Events, stable_old: set[int], stable_new: set[int]) -> _Events:
    """Keep the events whose clusters are reproducible in their own version."""
    split = {a: [b for b in bs if b in stable_new] for a, bs in events.split.items()}
    merged = {b: [a for a in as_ if a in stable_old] for b, as_ in events.merged.items()}
    return _Events(
        split={a: bs for a, bs in split.items() if a in stable_old and len(bs) >= 2},
        merged={b: as_ for b, as_ in merged.items() if b in stable_new and len(as_) >= 2},
        new=[b for b in events.new if b in stable_new],
        vanished=[a for a in events.vanished if a in stable_old],
    )


def _agreement(old: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """ARI and AMI over the items clustered (not noise) in both labelings (n,)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    both = (old != NOISE) & (new != NOISE)
    if both.sum() < 2:
        return 0.0, 0.0
    return (
        float(adjusted_rand_score(old[both], new[both])),
        float(adjusted_mutual_info_score(old[both], new[both])),
    )


def permutation_null(
    old: np.ndarray, new: np.ndarray, *, permutations: int = PERMUTATIONS, seed: int = 0
) -> dict[str, float]:
    """ARI and AMI of ``old`` against shuffled ``new`` (n,): mean and 95th percentile.

    Shuffling the new labels over the items clustered in both keeps every
    cluster's size and destroys only which items share a cluster.
    """
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

    both = (old != NOISE) & (new != NOISE)
    a, b = old[both], new[both]
    if a.size < 2:
        return {"ari": 0.0, "ari_p95": 0.0, "ami": 0.0, "ami_p95": 0.0}
    rng = np.random.default_rng(seed)
    aris, amis = np.empty(permutations), np.empty(permutations)
    if np.unique(a).size < 2 or np.unique(b).size < 2:
        # scikit-learn's limit cases (one cluster on a side): no shortcut needed
        for p in range(permutations):
            shuffled = rng.permutation(b)
            aris[p] = adjusted_rand_score(a, shuffled)
            amis[p] = adjusted_mutual_info_score(a, shuffled)
    else:
        shuffles = _ShuffleScores(a, b)
        for p in range(permutations):
            aris[p], amis[p] = shuffles.scores(rng.permutation(b))
    return {
        "ari": float(aris.mean()),
        "ari_p95": float(np.percentile(aris, 95)),
        "ami": float(amis.mean()),
        "ami_p95": float(np.percentile(amis, 95)),
    }


class _ShuffleScores:
    """ARI and AMI of ``a`` against shuffles of ``b``, as scikit-learn computes them.

    A shuffle keeps both labellings' cluster sizes, so the entropies and the expected
    mutual information (AMI's costly part, a function of the sizes alone) are the same
    for every shuffle and are computed once; each shuffle then costs one contingency
    table. The arithmetic is scikit-learn's (``adjusted_rand_score``'s integer pair
    counts, ``adjusted_mutual_info_score``'s clamps), so the scores are the same numbers
    (``tests/compare/test_clusters.py`` checks it).
    """

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        from sklearn.metrics.cluster import contingency_matrix
        from sklearn.metrics.cluster._supervised import (
            _entropy,
            _generalized_average,
            expected_mutual_information,
        )

        self.a, self.n = a, int(a.size)
        table = contingency_matrix(a, b, sparse=True)
        self.emi = float(expected_mutual_information(table, self.n))
        self.normalizer = float(_generalized_average(_entropy(a), _entropy(b), "arithmetic"))

    def scores(self, shuffled: np.ndarray) -> tuple[float, float]:
        from sklearn.metrics import mutual_info_score
        from sklearn.metrics.cluster import contingency_matrix

        table = contingency_matrix(self.a, shuffled, sparse=True)
        table = table.astype(np.int64, copy=False)
        # adjusted_rand_score from the pair confusion matrix, in Python integers
        n = self.n
        rows = np.ravel(table.sum(axis=1))
        cols = np.ravel(table.sum(axis=0))
        squares = int((table.data**2).sum())
        tp = squares - n
        fp = int(table.dot(cols).sum()) - squares
        fn = int(table.transpose().dot(rows).sum()) - squares
        tn = n * n - fp - fn - squares
        if fn == 0 and fp == 0:
            ari = 1.0
        else:
            ari = 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
        mi = mutual_info_score(None, None, contingency=table)
        eps = np.finfo("float64").eps
        denominator = self.normalizer - self.emi
        denominator = min(denominator, -eps) if denominator < 0 else max(denominator, eps)
        numerator = mi - self.emi
        numerator = min(numerator, -eps) if numerator < 0 else max(numerator, eps)
        return float(ari), float(numerator / denominator)


def _floor(
    old: np.ndarray, old_again: np.ndarray, new: np.ndarray, new_again: np.ndarray, share: float
) -> dict[str, Any]:
    """Agreement of each version with itself reclustered, and the events reseeding produces."""
    agreements = [_agreement(old, old_again), _agreement(new, new_again)]
    counts = [
        _events(*contingency_table(a, b), share).counts()
        for a, b in ((old, old_again), (new, new_again))
    ]
    # old vs new under all four seed pairings: the spread of the cross-version figure itself
    cross = [_agreement(a, b)[0] for a in (old, old_again) for b in (new, new_again)]
    ari = min(a[0] for a in agreements)
    return {
        "ari": ari,
        "ami": min(a[1] for a in agreements),
        "ari_old": agreements[0][0],
        "ari_new": agreements[1][0],
        "ari_cross_range": [min(cross), max(cross)],
        # every pairing of the versions agrees less than any version with itself reseeded
        "beyond": max(cross) < ari,
        **{f"{name}_by_reseeding": max(c[name] for c in counts) for name in counts[0]},
    }


def compare_clusterings(
    old: np.ndarray,
    new: np.ndarray,
    *,
    share: float = 0.2,
    old_again: np.ndarray | None = None,
    new_again: np.ndarray | None = None,
    seed: int = 0,
) -> ClusterComparison:
    """ARI, AMI and split/merged/new/vanished clusters between two labelings (n,).

    Parameters
    ----------
    old, new : int arrays of shape (n,)
        Cluster labels of the same items in the two versions, -1 for noise.
    share : float
        The contingency threshold τ.
    old_again, new_again : int arrays of shape (n,), optional
        Each version clustered again with another seed. Given both, events are
        reported only beyond the noise floor (see the module docstring).
    seed : int
        Seed of the permutation null.
    """
    old, new = _check_labels(old, new, share)
    both = (old != NOISE) & (new != NOISE)
    table, rows, cols = contingency_table(old, new)
    events = _events(table, rows, cols, share)
    floor, dropped = None, {}
    if old_again is not None and new_again is not None:
        old_again, new_again = (_check_labels(old, x, share)[1] for x in (old_again, new_again))
        floor = _floor(old, old_again, new, new_again, share)
        kept = _beyond_floor(
            events,
            reproducible_clusters(old, old_again),
            reproducible_clusters(new, new_again),
        )
        dropped = {name: count - kept.counts()[name] for name, count in events.counts().items()}
        events = kept
    ari, ami = _agreement(old, new)
    null = permutation_null(old, new, seed=seed)
    return ClusterComparison(
        ari=ari,
        ami=ami,
        clustered_in_both=int(both.sum()),
        noise_old=float(np.mean(old == NOISE)),
        noise_new=float(np.mean(new == NOISE)),
        n_clusters_old=int(rows.size),
        n_clusters_new=int(cols.size),
        split=events.split,
        merged=events.merged,
        new=events.new,
        vanished=events.vanished,
        contingency=table.tolist(),
        labels_old=rows.tolist(),
        labels_new=cols.tolist(),
        n_items=int(old.size),
        chance_ari=null["ari"],
        chance_ari_p95=null["ari_p95"],
        chance_ami=null["ami"],
        chance_ami_p95=null["ami_p95"],
        floor=floor,
        within_floor=dropped,
    )
