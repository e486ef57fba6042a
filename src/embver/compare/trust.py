"""Trustworthiness and continuity of one version's neighbourhoods against another's.

Trustworthiness (Venna & Kaski 2001) penalises points that are neighbours in
the new version but far in the old one; continuity is the same measure with
the roles swapped. The formula and tie handling follow scikit-learn's
``sklearn.manifold.trustworthiness`` so the figures agree with it exactly;
distances are computed in float64 blocks, so memory is O(block · n).
"""

from __future__ import annotations

import numpy as np

from embver.errors import InvalidInputError
from embver.neighbors import canonical_metric, check_paired

#: the issue caps trustworthiness at this many items (it needs full rank information)
MAX_ITEMS = 5_000
_BLOCK = 256


def _distances(queries: np.ndarray, base: np.ndarray, metric: str) -> np.ndarray:
    """Float64 distances (b, n) between ``queries`` (b, d) and ``base`` (n, d)."""
    if metric == "l2":
        sq = (
            np.einsum("ij,ij->i", queries, queries)[:, None]
            - 2.0 * queries @ base.T
            + np.einsum("ij,ij->i", base, base)[None, :]
        )
        return np.sqrt(np.maximum(sq, 0))
    if metric == "cosine":
        return 1.0 - queries @ base.T
    return -(queries @ base.T)


def _prepared(x: np.ndarray, metric: str) -> np.ndarray:
    # float32 stays float32 (as scikit-learn computes it); anything else becomes float64
    x = np.asarray(x)
    x = x if x.dtype == np.float32 else x.astype(np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return x


def _block_distances(x: np.ndarray, start: int, stop: int, metric: str) -> np.ndarray:
    """Distances (b, n) of rows start:stop of ``x`` to every row, inf to themselves."""
    dist = _distances(x[start:stop], x, metric)
    dist[np.arange(stop - start), np.arange(start, stop)] = np.inf
    return dist


def _block_neighbours(dist: np.ndarray, k: int) -> np.ndarray:
    """The k nearest (b, k) of each row of ``dist`` (b, n), nearest first, ties by index."""
    part = np.argpartition(dist, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def trustworthiness(
    x: np.ndarray, y: np.ndarray, *, k: int = 5, metric_x: str = "l2", metric_y: str = "l2"
) -> float:
    """Trustworthiness in [0, 1] of ``y`` (n, d_y) as a stand-in for ``x`` (n, d_x).

    Parameters
    ----------
    x : array of shape (n, d_x)
        Reference version (the "input space").
    y : array of shape (n, d_y)
        Version judged (the "embedding").
    k : int
        Neighbours considered; must be below n / 2, as in scikit-learn.
    metric_x, metric_y : {"cosine", "dot", "l2"}
    """
    return _scores(x, y, k, metric_x, metric_y, continuity=False)[0]


def trust_and_continuity(
    x: np.ndarray, y: np.ndarray, *, k: int = 5, metric_x: str = "l2", metric_y: str = "l2"
) -> tuple[float, float]:
    """:func:`trustworthiness` and :func:`continuity` of ``y`` against ``x`` in one pass.

    Both need every distance within each version; each block of rows' distances is
    computed once and serves both (the same numbers as the two functions apart).
    """
    return _scores(x, y, k, metric_x, metric_y, continuity=True)


def _scores(
    x: np.ndarray, y: np.ndarray, k: int, metric_x: str, metric_y: str, continuity: bool
) -> tuple[float, float]:
    """Trustworthiness and, when ``continuity``, continuity (else NaN) of ``y`` against
    ``x``, from one pass over blocks of rows."""
    x = np.asarray(x)
    y = np.asarray(y)
    n = check_paired(x, y, ("x", "y"))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k={k!r} must be a positive integer")
    if k >= n / 2:
        raise InvalidInputError(f"k={k} must be below n/2 = {n / 2}; use a smaller k")
    mx, my = canonical_metric(metric_x), canonical_metric(metric_y)
    xs, ys = _prepared(x, mx), _prepared(y, my)
    trust_penalty = continuity_penalty = 0
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        dist_x = _block_distances(xs, start, stop, mx)
        dist_y = _block_distances(ys, start, stop, my)
        trust_penalty += _rank_penalty(dist_x, _block_neighbours(dist_y, k), k)
        if continuity:
            continuity_penalty += _rank_penalty(dist_y, _block_neighbours(dist_x, k), k)
    scale = 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    kept = 1.0 - continuity_penalty * scale if continuity else float("nan")
    return float(1.0 - trust_penalty * scale), float(kept)


def _rank_penalty(dist: np.ndarray, neighbours: np.ndarray, k: int) -> int:
    """Σ max(0, r(i, j) - k) over a block's neighbours j (b, k) taken in another version,
    r = the rank of j among the block's distances ``dist`` (b, n) in this one (1-based)."""
    # The rank a stable argsort gives j (as scikit-learn's argsort does on distinct
    # distances), counted instead of sorted: the items strictly nearer, plus the items as
    # near with a lower index, plus one. O(b·k·n) comparisons instead of an O(b·n log n) sort.
    near = np.take_along_axis(dist, neighbours, axis=1)[:, :, None]  # (b, k, 1)
    nearer = (dist[:, None, :] < near).sum(axis=2)
    lower = np.arange(dist.shape[1])[None, None, :] < neighbours[:, :, None]
    tied_before = ((dist[:, None, :] == near) & lower).sum(axis=2)
    excess = nearer + tied_before + 1 - k
    return int(excess[excess > 0].sum())


def chance_trustworthiness(n: int, k: int) -> float:
    """Expected trustworthiness when the judged version's neighbours are random items.

    A random neighbour's rank is uniform on 1..n-1, so its expected penalty is
    (n-1-k)(n-k) / (2(n-1)); scaled as in :func:`trustworthiness` this gives
    1 - (n-1-k)(n-k) / ((n-1)(2n-3k-1)), about 0.5 for n ≫ k.
    """
    return 1.0 - (n - 1 - k) * (n - k) / ((n - 1) * (2.0 * n - 3.0 * k - 1.0))


def continuity(
    x: np.ndarray, y: np.ndarray, *, k: int = 5, metric_x: str = "l2", metric_y: str = "l2"
) -> float:
    """Continuity of ``y`` against ``x``: trustworthiness with the roles swapped."""
    return trustworthiness(y, x, k=k, metric_x=metric_y, metric_y=metric_x)
