"""Drop-in scores for two versions of equal dimension and metric.

- per-item cosine between an item's old and new vector;
- cross-version retrieval CR@k: for query item q, the overlap between the
  old-space neighbours of the *new* vector of q and those of the *old* vector
  of q (q itself excluded from both) — what a downstream index built on old
  vectors returns when queried by the new model;
- self-hit@1: whether the old vector nearest to q's new vector is q's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embver.compare.neighbourhood import intersection_counts
from embver.errors import InvalidInputError
from embver.neighbors import canonical_metric, drop_self, flat_search, prepare


@dataclass(frozen=True)
class CrossRetrieval:
    """Per-query cross-version retrieval figures."""

    overlap: np.ndarray  # float (m,) CR@k per query
    self_hit: np.ndarray  # bool (m,) new query's top-1 old vector is its own
    k: int


def per_item_cosine(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Cosine between matching rows of ``old`` (n, d) and ``new`` (n, d); float64 (n,)."""
    if old.shape != new.shape:
        raise InvalidInputError(
            f"per-item cosine needs equal shapes; got {old.shape} and {new.shape}"
        )
    out = np.empty(old.shape[0])
    # row blocks keep the float64 temporaries small for millions of items
    for start in range(0, old.shape[0], 65_536):
        a = prepare(old[start : start + 65_536], "cosine").astype(np.float64)
        b = prepare(new[start : start + 65_536], "cosine").astype(np.float64)
        out[start : start + a.shape[0]] = np.einsum("ij,ij->i", a, b)
    return out


def random_pair_cosine(old: np.ndarray, new: np.ndarray, *, pairs: int, seed: int) -> np.ndarray:
    """Cosine between the old vector of one item and the new vector of another (noise floor)."""
    rng = np.random.default_rng(seed)
    n = old.shape[0]
    i = rng.integers(0, n, size=pairs)
    j = (i + rng.integers(1, n, size=pairs)) % n
    a = prepare(old[i], "cosine").astype(np.float64)
    b = prepare(new[j], "cosine").astype(np.float64)
    return np.einsum("ij,ij->i", a, b)


def cross_retrieval(
    old: np.ndarray,
    new: np.ndarray,
    queries: np.ndarray,
    old_neighbours: np.ndarray,
    *,
    k: int = 10,
    metric: str = "cosine",
    block: int = 8192,
    prepared: bool = False,
) -> CrossRetrieval:
    """CR@k and self-hit@1 for the query rows ``queries`` (m,).

    Parameters
    ----------
    old, new : arrays of shape (n, d)
        The two versions, rows paired by item.
    queries : int array of shape (m,)
        Rows used as queries.
    old_neighbours : int array of shape (m, K), K >= k
        Old-space neighbours of each query's old vector (itself excluded).
    prepared : bool
        ``old`` already went through :func:`prepare` for ``metric`` (saves a copy).
    """
    metric = canonical_metric(metric)
    if old.shape != new.shape:
        raise InvalidInputError(
            f"cross-version retrieval needs equal shapes; got {old.shape} and {new.shape}"
        )
    if old_neighbours.shape[1] < k:
        raise InvalidInputError(f"old_neighbours has {old_neighbours.shape[1]} columns; k={k}")
    base = old if prepared else prepare(old, metric)
    query_vectors = prepare(new[queries], metric)
    overlap = np.empty(queries.size)
    self_hit = np.empty(queries.size, dtype=bool)
    for start in range(0, queries.size, block):
        stop = min(start + block, queries.size)
        found = flat_search(base, query_vectors[start:stop], k + 1, metric)
        self_hit[start:stop] = found[:, 0] == queries[start:stop]
        cross = drop_self(found, queries[start:stop], k)
        shared = intersection_counts(cross, old_neighbours[start:stop, :k])
        overlap[start:stop] = shared / k
    return CrossRetrieval(overlap=overlap, self_hit=self_hit, k=k)
