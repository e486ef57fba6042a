"""Fitting migration maps on paired items and measuring their held-out retention.

Items are split once (seeded): maps are fitted on the training part and
judged only on held-out items, which then form both the corpus and the
queries. For the direction source → target:

- *truth*: each held-out query's k nearest held-out neighbours in the target
  version (what a full re-embed into the target returns);
- *through the map*: the query's target vector searched among the *mapped*
  source vectors of the held-out corpus (an index that was migrated instead of
  re-embedded).

recall@k through the map is the mean overlap of the two lists (the query item
itself excluded from both); a full re-embed has recall@k = 1 against this
truth, so retention = recall_map / recall_reembed = recall_map.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embver.compare.maps import MAP_KINDS, Map, RidgeMap, describe, fit_map, fit_mlp
from embver.compare.neighbors import knn
from embver.compare.neighbourhood import intersection_counts
from embver.compare.stats import bootstrap_mean_interval
from embver.errors import InvalidInputError

#: held-out fraction, and caps that keep fitting and judging within seconds
HOLDOUT_FRACTION = 0.2
MAX_HOLDOUT = 10_000
MAX_TRAIN = 20_000
MAX_TRAIN_MLP = 10_000
MAX_QUERIES = 2_000


@dataclass(frozen=True)
class MapScore:
    """Held-out retention of one fitted map in one direction."""

    kind: str
    direction: str  # "old->new" or "new->old"
    retention: float
    ci_low: float
    ci_high: float
    dim_in: int
    dim_out: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Migration:
    """Every fitted map's retention, the best per direction, and the fitted maps."""

    scores: list[MapScore]
    n_train: int
    n_holdout: int
    n_queries: int
    k: int
    maps: dict[tuple[str, str], Map] = field(default_factory=dict, repr=False)

    def best(self, direction: str = "old->new") -> MapScore | None:
        """Highest-retention map in ``direction``, or None when none was fitted."""
        chosen = [s for s in self.scores if s.direction == direction]
        return max(chosen, key=lambda s: s.retention, default=None)

    def to_dict(self) -> dict[str, Any]:
        best_forward, best_backward = self.best("old->new"), self.best("new->old")
        return {
            "scores": [s.to_dict() for s in self.scores],
            "best_old_to_new": best_forward.to_dict() if best_forward else None,
            "best_new_to_old": best_backward.to_dict() if best_backward else None,
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "n_queries": self.n_queries,
            "k": self.k,
            "retention_of_reembed": 1.0,
        }


def split_items(n: int, *, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, holdout) row indices; the holdout must hold at least k + 2 items."""
    holdout_size = min(MAX_HOLDOUT, max(k + 2, round(n * HOLDOUT_FRACTION)))
    if n - holdout_size < 2:
        raise InvalidInputError(
            f"{n} shared items are too few to fit a map and judge it at k={k}; "
            f"need at least {k + 4}"
        )
    order = np.random.default_rng(seed).permutation(n)
    # train stays in random order so that a prefix of it is a random subsample
    return order[holdout_size : holdout_size + MAX_TRAIN], np.sort(order[:holdout_size])


def retention(
    mapped_corpus: np.ndarray,
    target_corpus: np.ndarray,
    queries: np.ndarray,
    *,
    k: int,
    metric: str,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean recall@k (with 95 % bootstrap interval) of target queries among mapped vectors.

    Parameters
    ----------
    mapped_corpus : array of shape (h, d_t)
        Held-out source vectors after the map.
    target_corpus : array of shape (h, d_t)
        The same items' target vectors.
    queries : int array of shape (m,)
        Rows of the held-out corpus used as queries.
    """
    truth = knn(target_corpus, k, query_ids=queries, metric=metric)
    found = knn(mapped_corpus, k, queries=target_corpus[queries], query_ids=queries, metric=metric)
    recall = intersection_counts(found, truth) / k
    low, high = bootstrap_mean_interval(recall, seed=seed)
    return float(recall.mean()), low, high


def _fit(
    kind: str,
    source: np.ndarray,
    target: np.ndarray,
    train: np.ndarray,
    metric_source: str,
    metric_target: str,
    seed: int,
    ridge: Map | None,
) -> Map:
    """Fit one map on the training rows; the MLP trains on fewer rows on top of the ridge."""
    if kind == "mlp":
        rows = train[:MAX_TRAIN_MLP]
        return fit_mlp(
            source[rows], target[rows], metric_source=metric_source,
            metric_target=metric_target, seed=seed,
            ridge=ridge if isinstance(ridge, RidgeMap) else None,
        )  # fmt: skip
    return fit_map(
        kind, source[train], target[train], metric_source=metric_source,
        metric_target=metric_target, seed=seed,
    )  # fmt: skip


def fit_migration(
    old: np.ndarray,
    new: np.ndarray,
    *,
    metric_old: str = "cosine",
    metric_new: str = "cosine",
    kinds: tuple[str, ...] = MAP_KINDS,
    directions: tuple[str, ...] = ("old->new", "new->old"),
    k: int = 10,
    seed: int = 0,
) -> Migration:
    """Fit each map kind in each direction on a training split; score on held-out items.

    Parameters
    ----------
    old : array of shape (n, d_old)
    new : array of shape (n, d_new)
        Vectors of the same n items, rows paired.
    """
    for kind in kinds:
        if kind not in MAP_KINDS:
            raise InvalidInputError(f"map kind {kind!r} is not known; use {', '.join(MAP_KINDS)}")
    for direction in directions:
        if direction not in ("old->new", "new->old"):
            raise InvalidInputError(f"direction {direction!r} must be 'old->new' or 'new->old'")
    if old.shape[0] != new.shape[0]:
        raise InvalidInputError(f"old has {old.shape[0]} rows but new has {new.shape[0]}")
    train, holdout = split_items(old.shape[0], k=k, seed=seed)
    rng = np.random.default_rng(seed + 1)
    queries = np.sort(rng.choice(holdout.size, min(MAX_QUERIES, holdout.size), replace=False))
    sides = {
        "old->new": (old, new, metric_old, metric_new),
        "new->old": (new, old, metric_new, metric_old),
    }
    result = Migration([], int(train.size), int(holdout.size), int(queries.size), k)
    for direction in directions:
        source, target, m_source, m_target = sides[direction]
        for kind in kinds:
            fitted = _fit(
                kind,
                source,
                target,
                train,
                m_source,
                m_target,
                seed,
                result.maps.get(("ridge", direction)),
            )
            mapped = fitted.transform(source[holdout])
            score = retention(
                mapped, np.asarray(target[holdout]), queries, k=k, metric=m_target, seed=seed
            )
            shape = describe(fitted)
            result.scores.append(
                MapScore(kind, direction, *score, shape["dim_in"], shape["dim_out"])
            )
            result.maps[(kind, direction)] = fitted
    return result
