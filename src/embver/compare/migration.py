"""Fitting migration maps on paired items and measuring their retention on held-out items.

Items are split once (seeded) into *train*, *validation* and *test* parts.
Every map is fitted on the training part; the best map of a direction is
chosen by its validation score, and the figures reported for it come from the
test part, which took no part in fitting or choosing. For source → target:

- **pool retention** (``retention``): the test part is both the corpus and the
  queries. Truth is each query's k nearest test neighbours in the target
  version (what a full re-embed returns); the query's target vector is then
  searched among the *mapped* source vectors of the test corpus (an index that
  was migrated instead of re-embedded). recall@k is the mean overlap of the
  two lists, the query itself excluded from both; a full re-embed scores 1.
  Chance (unrelated lists) is k / (h − 1) for a pool of h items, so the figure
  depends on h: it is reported with ``pool`` and ``chance``.
- **full-index retention** (``retention_full``): each test item's *mapped*
  source vector is searched among the target vectors of **all** n items (the
  index a re-embed gives), against the item's true k neighbours among the same
  n items. This is the figure at the size of the real index; chance k / (n − 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from embver.compare.maps import MAP_KINDS, Map, RidgeMap, describe, fit_map, fit_mlp
from embver.compare.neighbourhood import intersection_counts
from embver.compare.stats import bootstrap_mean_interval
from embver.errors import InvalidInputError
from embver.neighbors import check_paired, knn

#: held-out fraction (each of validation and test), and caps that keep fitting and judging
#: within seconds
HOLDOUT_FRACTION = 0.2
MAX_HOLDOUT = 10_000
MAX_TRAIN = 20_000
MAX_TRAIN_MLP = 10_000
MAX_QUERIES = 2_000


@dataclass(frozen=True)
class MapScore:
    """Retention of one fitted map in one direction: validation, test pool, full index."""

    kind: str
    direction: str  # "old->new" or "new->old"
    retention: float  # on the test pool
    ci_low: float
    ci_high: float
    dim_in: int
    dim_out: int
    validation: float = 0.0  # on the validation pool: what the best map is chosen by
    retention_full: float = 0.0  # test queries against all n target items
    full_ci_low: float = 0.0
    full_ci_high: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Migration:
    """Every fitted map's retention, the best per direction, and the fitted maps."""

    scores: list[MapScore]
    n_train: int
    n_holdout: int  # the test pool
    n_queries: int
    k: int
    n_validation: int = 0
    n_items: int = 0  # the full index
    #: per direction, the kind chosen on validation items refitted on train + validation
    chosen: dict[str, MapScore] = field(default_factory=dict)
    maps: dict[tuple[str, str], Map] = field(default_factory=dict, repr=False)

    def best(self, direction: str = "old->new") -> MapScore | None:
        """The chosen map in ``direction`` (refitted, scored on test items), or None.

        Without a refit, the map with the highest *validation* retention.
        """
        if direction in self.chosen:
            return self.chosen[direction]
        candidates = [s for s in self.scores if s.direction == direction]
        return max(candidates, key=lambda s: s.validation, default=None)

    def chance(self) -> float:
        """recall@k of unrelated neighbour lists in the test pool: k / (h − 1)."""
        return chance_retention(self.k, self.n_holdout)

    def chance_full(self) -> float:
        """recall@k of unrelated neighbour lists among all n items: k / (n − 1)."""
        return chance_retention(self.k, self.n_items)

    def to_dict(self) -> dict[str, Any]:
        best_forward, best_backward = self.best("old->new"), self.best("new->old")
        return {
            "scores": [s.to_dict() for s in self.scores],
            "best_old_to_new": best_forward.to_dict() if best_forward else None,
            "best_new_to_old": best_backward.to_dict() if best_backward else None,
            "chosen_by": "validation",
            "best_refit_on": "train+validation",
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "n_holdout": self.n_holdout,
            "pool": self.n_holdout,
            "n_items": self.n_items,
            "n_queries": self.n_queries,
            "k": self.k,
            "chance": self.chance(),
            "chance_full": self.chance_full(),
            "retention_of_reembed": 1.0,
        }


def chance_retention(k: int, pool: int) -> float:
    """Expected recall@k when the found list is unrelated to the truth: k / (pool − 1)."""
    return k / (pool - 1)


def split_items(n: int, *, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (train, validation, test) row indices; each held-out part holds ≥ k + 2 items."""
    holdout_size = min(MAX_HOLDOUT, max(k + 2, round(n * HOLDOUT_FRACTION)))
    if n - 2 * holdout_size < 2:
        raise InvalidInputError(
            f"{n} shared items are too few to fit a map, choose it and judge it at k={k}; "
            f"need at least {2 * (k + 2) + 2}"
        )
    order = np.random.default_rng(seed).permutation(n)
    # train stays in random order so that a prefix of it is a random subsample
    train = order[2 * holdout_size : 2 * holdout_size + MAX_TRAIN]
    valid = np.sort(order[holdout_size : 2 * holdout_size])
    return train, valid, np.sort(order[:holdout_size])


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


def retention_full(
    mapped_queries: np.ndarray,
    target: np.ndarray,
    rows: np.ndarray,
    *,
    k: int,
    metric: str,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean recall@k (with 95 % interval) of mapped queries among all target vectors.

    Parameters
    ----------
    mapped_queries : array of shape (m, d_t)
        Held-out items' source vectors after the map.
    target : array of shape (n, d_t)
        Every item's target vector: the index a re-embed gives.
    rows : int array of shape (m,)
        The row of ``target`` each query stands for (left out of its own lists).
    """
    truth = knn(target, k, query_ids=rows, metric=metric)
    found = knn(target, k, queries=mapped_queries, query_ids=rows, metric=metric)
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
    check_paired(old, new)
    train, valid, test = split_items(old.shape[0], k=k, seed=seed)
    rng = np.random.default_rng(seed + 1)
    queries = np.sort(rng.choice(test.size, min(MAX_QUERIES, test.size), replace=False))
    valid_queries = np.sort(rng.choice(valid.size, min(MAX_QUERIES, valid.size), replace=False))
    sides = {
        "old->new": (old, new, metric_old, metric_new),
        "new->old": (new, old, metric_new, metric_old),
    }
    result = Migration(
        [], int(train.size), int(test.size), int(queries.size), k,
        n_validation=int(valid.size), n_items=int(old.shape[0]),
    )  # fmt: skip
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    def one_direction(direction: str) -> Migration:
        """The scores, maps and choice of one direction, on a Migration of its own."""
        part = Migration([], result.n_train, result.n_holdout, result.n_queries, k)
        source, target, m_source, m_target = sides[direction]
        target = np.asarray(target)
        score = _Scorer(source, target, m_target, k, seed, valid, test, queries, valid_queries)
        for kind in kinds:
            fitted = _fit(
                kind, source, target, train, m_source, m_target, seed,
                part.maps.get(("ridge", direction)),
            )  # fmt: skip
            part.scores.append(score(kind, direction, fitted))
            part.maps[(kind, direction)] = fitted
        # the kind is chosen on validation items; it is then refitted on train + validation
        # (few items: 60 % instead of 100 % more rows) and judged once on the test items
        best = max(part.scores, key=lambda s: s.validation)
        both = np.concatenate([train, valid])
        refit = _fit(best.kind, source, target, both, m_source, m_target, seed, None)
        part.chosen[direction] = replace(
            score(best.kind, direction, refit), validation=best.validation
        )
        part.maps[(best.kind, direction)] = refit
        return part

    # The directions are independent and each is seeded: they run side by side, one BLAS
    # thread each (set once here: threadpoolctl's limits are process-wide), and are merged
    # in order, so the result is the one of running them in turn.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(one_direction, directions))
    for part in parts:
        result.scores.extend(part.scores)
        result.maps.update(part.maps)
        result.chosen.update(part.chosen)
    return result


@dataclass(frozen=True)
class _Scorer:
    """Scores a fitted map of one direction on the validation and test items."""

    source: np.ndarray
    target: np.ndarray
    metric: str
    k: int
    seed: int
    valid: np.ndarray
    test: np.ndarray
    queries: np.ndarray
    valid_queries: np.ndarray

    def __call__(self, kind: str, direction: str, fitted: Map) -> MapScore:
        k, metric, seed = self.k, self.metric, self.seed
        chosen_by, _, _ = retention(
            fitted.transform(self.source[self.valid]), self.target[self.valid],
            self.valid_queries, k=k, metric=metric, seed=seed,
        )  # fmt: skip
        mapped = fitted.transform(self.source[self.test])
        pool = retention(
            mapped, self.target[self.test], self.queries, k=k, metric=metric, seed=seed
        )
        full = retention_full(
            mapped[self.queries], self.target, self.test[self.queries], k=k, metric=metric,
            seed=seed,
        )  # fmt: skip
        shape = describe(fitted)
        return MapScore(kind, direction, *pool, shape["dim_in"], shape["dim_out"], chosen_by, *full)
