"""Tasks on labelled items: k-NN accuracy, label purity, cluster agreement, a linear probe.

Every task takes ``vectors`` (n, d), their ``ids`` (n,) and ``labels`` (n,) and
returns an :class:`~embver.evaluate.results.Evaluation` whose units are the items.
Chance levels:

- knn-accuracy, macro-f1: mean over ``chance_rounds`` seeded permutations of the
  labels over the items, folds and neighbours kept (no closed form for a vote);
- label-purity: Σ_c p_c (n_c − 1)/(n − 1), exact for labels dealt at random;
- nmi: mean over seeded label permutations, clusters kept; ari: 0 (adjusted);
- linear-probe: the majority-class rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np

from embver.errors import InvalidInputError
from embver.evaluate._inputs import (
    Labels,
    check_folds,
    check_k,
    check_rounds,
    encode_labels,
    prepared_vectors,
)
from embver.evaluate.results import Evaluation, make_figure, statistic
from embver.neighbors import canonical_metric, check_paired, knn

CLUSTER_METHODS: Final = ("kmeans", "hdbscan")
#: seeded label permutations behind a permutation chance level
CHANCE_ROUNDS: Final = 20


def _labelled(
    vectors: np.ndarray, ids: Sequence[str], labels: Sequence[object], metric: str
) -> tuple[np.ndarray, tuple[str, ...], Labels]:
    array, item_ids = prepared_vectors(vectors, ids, metric)
    return array, item_ids, encode_labels(labels, array.shape[0])


def fold_of_items(codes: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index (n,) of each item under sklearn's shuffled, seeded ``StratifiedKFold``."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = np.empty(codes.shape[0], dtype=np.int64)
    for fold, (_, test) in enumerate(splitter.split(np.zeros((codes.shape[0], 1)), codes)):
        out[test] = fold
    return out


def training_neighbours(prepared: np.ndarray, fold: np.ndarray, k: int, metric: str) -> np.ndarray:
    """The k nearest neighbours (n, k) of each item among the items outside its fold.

    One exact search for every fold: each item's ``depth`` nearest neighbours,
    of which those in its own (test) fold are dropped; the few rows left with
    fewer than k are searched again, exactly, in their training fold alone.
    """
    n, folds = prepared.shape[0], int(fold.max()) + 1
    # about k·folds/(folds−1) neighbours lie outside the fold; half as many again as margin
    depth = min(n - 1, math.ceil(1.5 * k * folds / (folds - 1)) + 5)
    found = knn(prepared, depth, metric=metric, prepared=True)
    outside = fold[found] != fold[:, None]
    order = np.argsort(~outside, axis=1, kind="stable")[:, :k]
    out = np.take_along_axis(found, order, axis=1)
    short = np.flatnonzero(outside.sum(axis=1) < k)
    for f in np.unique(fold[short]):
        rows = short[fold[short] == f]
        train = np.flatnonzero(fold != f)
        out[rows] = train[
            knn(prepared[train], k, queries=prepared[rows], metric=metric, prepared=True)
        ]
    return out


def vote(codes: np.ndarray, neighbours: np.ndarray, classes: int) -> np.ndarray:
    """Majority label (n,) of each row's neighbours (n, k), as ``KNeighborsClassifier``.

    A tie goes to the first tied class in sorted label order, which is what
    scikit-learn's uniform-weight ``predict`` does (``argmax`` of the class
    counts), not to the nearest neighbour's label.
    """
    n = neighbours.shape[0]
    flat = (np.arange(n)[:, None] * classes + codes[neighbours]).ravel()
    counts = np.bincount(flat, minlength=n * classes).reshape(n, classes)
    return np.argmax(counts, axis=1)


def knn_accuracy(
    vectors: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[object],
    k: int = 10,
    folds: int = 5,
    *,
    metric: str = "cosine",
    seed: int = 0,
    chance_rounds: int = CHANCE_ROUNDS,
) -> Evaluation:
    """Cross-validated k-NN classification accuracy and macro-F1.

    Each item is predicted, in the fold where it is held out, by the majority
    label of its k nearest training-fold neighbours (ties: see :func:`vote`);
    folds are sklearn's ``StratifiedKFold(folds, shuffle=True, random_state=seed)``,
    so the figure equals ``cross_val_score(KNeighborsClassifier(k, algorithm="brute"))``
    on the same folds.

    Parameters
    ----------
    vectors : array of shape (n, d)
    ids : sequence of n str
    labels : sequence of n labels (compared as strings)
    k : int
        Neighbours per vote, at most the smallest training fold.
    folds : int
        At least 2, at most the size of the smallest class.

    Returns
    -------
    Evaluation
        ``knn-accuracy`` (per_unit: held-out correctness) and ``macro-f1``
        (aggregate "macro-f1" recomputed per bootstrap resample; per_unit: the
        same correctness; columns: true and predicted label codes).
    """
    metric = canonical_metric(metric)
    prepared, item_ids, coded = _labelled(vectors, ids, labels, metric)
    check_folds(folds, coded)
    check_rounds(chance_rounds)
    fold = fold_of_items(coded.codes, folds, seed)
    check_k(
        k, int(prepared.shape[0] - np.bincount(fold).max()), "items in the smallest training fold"
    )
    neighbours = training_neighbours(prepared, fold, k, metric)
    predicted = vote(coded.codes, neighbours, len(coded.classes))
    chance_accuracy, chance_f1 = _vote_chance(coded, neighbours, seed, chance_rounds)
    params = {"k": int(k), "folds": int(folds), "metric": metric, "seed": int(seed)}
    correct = (predicted == coded.codes).astype(np.float64)
    task = "knn-accuracy"
    return Evaluation(
        task=task,
        params=params,
        figures=(
            make_figure(task, "knn-accuracy", correct, item_ids, params, chance=chance_accuracy),
            make_figure(
                task, "macro-f1", correct, item_ids, params, chance=chance_f1,
                aggregate="macro-f1", columns=(coded.codes, predicted),
            ),
        ),
    )  # fmt: skip


def _vote_chance(
    coded: Labels, neighbours: np.ndarray, seed: int, rounds: int
) -> tuple[float, float]:
    """Mean accuracy and macro-F1 of the vote over seeded permutations of the labels."""
    rng = np.random.default_rng(seed)
    accuracy, f1 = np.empty(rounds), np.empty(rounds)
    for r in range(rounds):
        shuffled = rng.permutation(coded.codes)
        predicted = vote(shuffled, neighbours, len(coded.classes))
        accuracy[r] = np.mean(predicted == shuffled)
        f1[r] = statistic("macro-f1", (shuffled, predicted))
    return float(accuracy.mean()), float(f1.mean())


def purity_chance(counts: np.ndarray) -> float:
    """Expected label purity of labels dealt at random: Σ_c p_c (n_c − 1)/(n − 1)."""
    n = float(counts.sum())
    return float(np.sum(counts / n * (counts - 1) / (n - 1)))


def _purity(codes: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Fraction (n,) of each row's neighbours (n, k) that share its label."""
    return (codes[neighbours] == codes[:, None]).mean(axis=1)


def label_purity(
    vectors: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[object],
    k: int = 10,
    *,
    metric: str = "cosine",
    seed: int = 0,
) -> Evaluation:
    """Mean fraction of an item's k nearest neighbours (itself excluded) sharing its label.

    ``vectors`` (n, d), ``ids`` and ``labels`` (n,). Chance: :func:`purity_chance`.
    """
    metric = canonical_metric(metric)
    prepared, item_ids, coded = _labelled(vectors, ids, labels, metric)
    check_k(k, prepared.shape[0] - 1, "other items")
    neighbours = knn(prepared, k, metric=metric, prepared=True)
    params = {"k": int(k), "metric": metric, "seed": int(seed)}
    purity = _purity(coded.codes, neighbours)
    figure = make_figure(
        "label-purity", "label-purity", purity, item_ids, params, chance=purity_chance(coded.counts)
    )
    return Evaluation(task="label-purity", params=params, figures=(figure,))


def cluster_items(prepared: np.ndarray, clusters: int, method: str, seed: int) -> np.ndarray:
    """Cluster ids (n,) of prepared rows (n, d): seeded k-means, or HDBSCAN (noise = −1)."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        model = KMeans(n_clusters=clusters, n_init=10, random_state=seed)
        return np.asarray(model.fit_predict(prepared), dtype=np.int64)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        return np.asarray(HDBSCAN(copy=True).fit_predict(prepared), dtype=np.int64)
    raise InvalidInputError(
        f"method={method!r} is unknown; use one of {', '.join(CLUSTER_METHODS)}"
    )


def majority_agreement(codes: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """1.0 where an item's label is its cluster's most common label, else 0.0 (n,)."""
    cluster_index = np.unique(clusters, return_inverse=True)[1]
    size = int(codes.max()) + 1
    table = np.zeros((int(cluster_index.max()) + 1, size), dtype=np.int64)
    np.add.at(table, (cluster_index, codes), 1)
    return (np.argmax(table, axis=1)[cluster_index] == codes).astype(np.float64)


def cluster_agreement(
    vectors: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[object],
    method: str = "kmeans",
    *,
    metric: str = "cosine",
    seed: int = 0,
    chance_rounds: int = CHANCE_ROUNDS,
) -> Evaluation:
    """NMI and ARI between the labels and clusters found in ``vectors`` (n, d).

    k-means (as many clusters as labels, seeded) or HDBSCAN (its noise is one
    more cluster) on the rows prepared for ``metric`` (unit rows for cosine).
    The intervals resample items with their clusters kept (no re-clustering).
    per_unit: whether the item's label is its cluster's majority label.
    """
    metric = canonical_metric(metric)
    if method not in CLUSTER_METHODS:
        raise InvalidInputError(
            f"method={method!r} is unknown; use one of {', '.join(CLUSTER_METHODS)}"
        )
    check_rounds(chance_rounds)
    prepared, item_ids, coded = _labelled(vectors, ids, labels, metric)
    clusters = cluster_items(prepared, len(coded.classes), method, seed)
    rng = np.random.default_rng(seed)
    nmi_chance = np.mean(
        [statistic("nmi", (rng.permutation(coded.codes), clusters)) for _ in range(chance_rounds)]
    )
    params = {"method": method, "metric": metric, "seed": int(seed)}
    agree = majority_agreement(coded.codes, clusters)
    columns = (coded.codes, clusters)
    task = "cluster-agreement"
    return Evaluation(
        task=task,
        params=params,
        figures=tuple(
            make_figure(task, name, agree, item_ids, params, chance=chance, aggregate=name,
                        columns=columns)
            for name, chance in (("nmi", float(nmi_chance)), ("ari", 0.0))
        ),
    )  # fmt: skip


def linear_probe(
    vectors: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[object],
    folds: int = 5,
    *,
    metric: str = "cosine",
    seed: int = 0,
) -> Evaluation:
    """Cross-validated accuracy of a logistic regression on ``vectors`` (n, d).

    Same folds as :func:`knn_accuracy`; rows prepared for ``metric`` (unit rows
    for cosine). per_unit: held-out correctness; chance: the majority-class rate.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    metric = canonical_metric(metric)
    prepared, item_ids, coded = _labelled(vectors, ids, labels, metric)
    check_folds(folds, coded)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = LogisticRegression(max_iter=1000)
    predicted = cross_val_predict(model, prepared, coded.codes, cv=splitter)
    params = {"folds": int(folds), "metric": metric, "seed": int(seed)}
    correct = (predicted == coded.codes).astype(np.float64)
    majority = float(coded.counts.max() / coded.counts.sum())
    figure = make_figure("linear-probe", "linear-probe", correct, item_ids, params, chance=majority)
    return Evaluation(task="linear-probe", params=params, figures=(figure,))


@dataclass(frozen=True)
class LabelBreakdown:
    """One label's purity in versions A and B and how much of its neighbourhoods B kept."""

    label: str
    count: int
    purity_a: float
    purity_b: float
    change: float  # purity_b − purity_a
    overlap: float  # mean fraction of an item's k neighbours in A that B keeps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def per_label(
    vectors_a: np.ndarray,
    vectors_b: np.ndarray,
    ids: Sequence[str],
    labels: Sequence[object],
    k: int = 10,
    *,
    metric: str = "cosine",
) -> tuple[LabelBreakdown, ...]:
    """Label purity per label in A (n, d_a) and B (n, d_b), rows of the same items.

    Rows sorted by ``change``, the label that lost most first.
    """
    metric = canonical_metric(metric)
    prepared_a, item_ids, coded = _labelled(vectors_a, ids, labels, metric)
    check_paired(np.asarray(vectors_a), np.asarray(vectors_b), ("vectors_a", "vectors_b"))
    prepared_b, _ = prepared_vectors(vectors_b, item_ids, metric, "vectors_b")
    check_k(k, prepared_a.shape[0] - 1, "other items")
    near_a = knn(prepared_a, k, metric=metric, prepared=True)
    near_b = knn(prepared_b, k, metric=metric, prepared=True)
    purity_a, purity_b = _purity(coded.codes, near_a), _purity(coded.codes, near_b)
    # rows hold distinct ids, so the matches of a row's k × k comparison count its intersection
    kept = (near_a[:, :, None] == near_b[:, None, :]).any(axis=2).mean(axis=1)
    rows = [
        _breakdown(label, coded.codes == code, purity_a, purity_b, kept)
        for code, label in enumerate(coded.classes)
    ]
    return tuple(sorted(rows, key=lambda row: (row.change, row.label)))


def _breakdown(
    label: str, mask: np.ndarray, purity_a: np.ndarray, purity_b: np.ndarray, kept: np.ndarray
) -> LabelBreakdown:
    a, b = float(purity_a[mask].mean()), float(purity_b[mask].mean())
    return LabelBreakdown(
        label=label,
        count=int(mask.sum()),
        purity_a=a,
        purity_b=b,
        change=b - a,
        overlap=float(kept[mask].mean()),
    )
