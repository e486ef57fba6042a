"""UMAP's fuzzy simplicial set of a k-NN graph, in numpy: no JIT, the same graph.

umap-learn computes it in numba kernels that a machine compiles on its first run
(~10 s on 2 cores, most of a first ``compare``'s wait once HDBSCAN needs no JIT).
The arithmetic is UMAP's, vectorised over points instead of looped:

- ``rho`` of a point is the distance to its nearest neighbour at a positive distance
  (local connectivity 1);
- ``sigma`` is found by bisection, all points at once, until the memberships
  ``exp(-(d - rho) / sigma)`` of its other neighbours sum to ``log2(k)`` (within
  1e-5, at most 64 halvings), floored at 1e-3 of its (or all points') mean distance;
- the directed memberships are combined as a fuzzy union, ``A + Aᵀ - A∘Aᵀ``.

tests/project/test_fuzzy.py checks it against umap-learn's ``fuzzy_simplicial_set``
on the same neighbours.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

#: as umap-learn: bisection stops when the memberships sum to log2(k) within this
TOLERANCE = 1e-5
#: sigma is at least this share of the mean neighbour distance
MIN_SCALE = 1e-3
BISECTIONS = 64


def smooth_distances(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``sigma`` and ``rho`` (both float32 (n,)) of sorted neighbour ``distances`` (n, k)."""
    distances = np.asarray(distances, dtype=np.float32)
    n = len(distances)
    target = np.log2(k)
    positive = distances > 0.0
    has_positive = positive.any(axis=1)
    first = positive.argmax(axis=1)
    rho = np.where(has_positive, distances[np.arange(n), first], 0.0).astype(np.float32)
    gaps = (distances[:, 1:] - rho[:, None]).astype(np.float64)
    low = np.zeros(n)
    high = np.full(n, np.inf)
    mid = np.ones(n)
    active = np.ones(n, dtype=bool)
    for _ in range(BISECTIONS):
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        g = gaps[rows]
        m = mid[rows][:, None]
        total = np.where(g > 0, np.exp(-(np.maximum(g, 0.0) / m)), 1.0).sum(axis=1)
        done = np.abs(total - target) < TOLERANCE
        above = (total > target) & ~done
        below = ~above & ~done
        high[rows[above]] = mid[rows[above]]
        mid[rows[above]] = (low[rows[above]] + high[rows[above]]) / 2.0
        grow = rows[below]
        low[grow] = mid[grow]
        unbounded = np.isinf(high[grow])
        mid[grow] = np.where(unbounded, mid[grow] * 2.0, (low[grow] + high[grow]) / 2.0)
        active[rows[done]] = False
    sigma = mid.astype(np.float32)
    floor = np.where(
        rho > 0.0,
        MIN_SCALE * distances.mean(axis=1),
        MIN_SCALE * distances.mean(),
    ).astype(np.float32)
    return np.maximum(sigma, floor), rho


def fuzzy_graph(indices: np.ndarray, distances: np.ndarray) -> scipy.sparse.csr_matrix:
    """The symmetric fuzzy graph (n, n) of a k-NN graph: ``indices``/``distances`` (n, k).

    Each row lists a point's neighbours nearest first, the point itself among them.
    """
    indices = np.asarray(indices)
    distances = np.asarray(distances, dtype=np.float32)
    n, k = indices.shape
    sigma, rho = smooth_distances(distances, k)
    gap = distances - rho[:, None]
    # the ratio in float32 as umap-learn, its exponential in float64 rounded once to
    # float32: what libm's expf returns (numpy's vectorised float32 exp can differ by an ulp)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(gap, 0.0) / sigma[:, None]
    strength = np.exp(-ratio.astype(np.float64)).astype(np.float32)
    strength[(gap <= 0.0) | (sigma[:, None] == 0.0)] = 1.0
    rows = np.repeat(np.arange(n), k)
    strength[indices == np.arange(n)[:, None]] = 0.0
    valid = (indices >= 0).ravel()
    directed = scipy.sparse.coo_matrix(
        (strength.ravel()[valid], (rows[valid], indices.ravel()[valid])),
        shape=(n, n),
    ).tocsr()
    directed.eliminate_zeros()
    transpose = directed.transpose().tocsr()
    union = directed + transpose - directed.multiply(transpose)
    union = scipy.sparse.csr_matrix(union)
    union.eliminate_zeros()
    return union
