"""Global structure: linear CKA, Procrustes distance, pairwise-similarity rank correlation.

CKA and Procrustes are computed from the cross-covariance in *feature* space:
two passes over row blocks (means, then centred second moments) accumulate
XᵀX (d_x²), YᵀY (d_y²) and XᵀY (d_x·d_y) in float64, so memory is O(d²) and
independent of n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embver.errors import InvalidInputError
from embver.neighbors import as_float32, check_paired

#: rows per block when streaming second moments
ROW_BLOCK = 16_384


@dataclass(frozen=True)
class Moments:
    """Centred second moments of paired data X (n, d_x) and Y (n, d_y).

    ``xtx``, ``yty``, ``xty`` are Xcᵀ Xc, Yc ᵀYc, XcᵀYc; ``row_x``/``row_y`` hold
    sums over rows of the centred squared row norms a_i = |x_i - μ_x|² needed
    by the unbiased HSIC: Σa, Σb, Σa², Σb², Σab.
    """

    n: int
    xtx: np.ndarray
    yty: np.ndarray
    xty: np.ndarray
    sum_a: float
    sum_b: float
    sum_aa: float
    sum_bb: float
    sum_ab: float


def paired(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that ``x`` (n, d_x) and ``y`` (n, d_y) pair the same n items; return float arrays."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 2:
        raise InvalidInputError(f"x and y must be 2-D arrays; got shapes {x.shape} and {y.shape}")
    check_paired(x, y, ("x", "y"))
    if x.shape[0] < 4:
        raise InvalidInputError(f"need at least 4 paired items; got {x.shape[0]}")
    for name, array in (("x", x), ("y", y)):
        if not np.isfinite(array).all():
            raise InvalidInputError(f"{name} contains NaN or inf; clean the vectors first")
    return x, y


def centred_moments(x: np.ndarray, y: np.ndarray, *, block: int = ROW_BLOCK) -> Moments:
    """Accumulate :class:`Moments` of paired ``x`` (n, d_x) and ``y`` (n, d_y) in two passes."""
    x, y = paired(x, y)
    n = x.shape[0]
    mean_x = _column_mean(x, block)
    mean_y = _column_mean(y, block)
    xtx = np.zeros((x.shape[1], x.shape[1]))
    yty = np.zeros((y.shape[1], y.shape[1]))
    xty = np.zeros((x.shape[1], y.shape[1]))
    sums = np.zeros(5)
    # float32 data is multiplied in float32 per block (half the time, ~1e-6 relative
    # error per block) and accumulated across blocks in float64; float64 data stays float64
    dtype = np.result_type(x.dtype, y.dtype, np.float32)
    for start in range(0, n, block):
        xc = (np.asarray(x[start : start + block], dtype=np.float64) - mean_x).astype(dtype)
        yc = (np.asarray(y[start : start + block], dtype=np.float64) - mean_y).astype(dtype)
        xtx += xc.T @ xc
        yty += yc.T @ yc
        xty += xc.T @ yc
        a = np.einsum("ij,ij->i", xc, xc, dtype=np.float64)
        b = np.einsum("ij,ij->i", yc, yc, dtype=np.float64)
        sums += (a.sum(), b.sum(), a @ a, b @ b, a @ b)
    return Moments(n, xtx, yty, xty, *map(float, sums))


def _column_mean(x: np.ndarray, block: int) -> np.ndarray:
    total = np.zeros(x.shape[1])
    for start in range(0, x.shape[0], block):
        total += np.asarray(x[start : start + block], dtype=np.float64).sum(axis=0)
    return total / x.shape[0]


def _debiased(xty_sq: float, sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    # Unbiased HSIC (Song et al. 2012) in feature space, as in Kornblith et al.'s notebook
    return xty_sq - n / (n - 2.0) * sum_ab + sum_a * sum_b / ((n - 1) * (n - 2))


def linear_cka_from_moments(m: Moments, *, debiased: bool = False) -> float:
    """Linear CKA from accumulated moments; ``debiased`` uses the unbiased HSIC estimator."""
    cross = float(np.sum(m.xty**2))
    self_x = float(np.sum(m.xtx**2))
    self_y = float(np.sum(m.yty**2))
    if debiased:
        cross = _debiased(cross, m.sum_ab, m.sum_a, m.sum_b, m.n)
        self_x = _debiased(self_x, m.sum_aa, m.sum_a, m.sum_a, m.n)
        self_y = _debiased(self_y, m.sum_bb, m.sum_b, m.sum_b, m.n)
    if self_x <= 0 or self_y <= 0:
        raise InvalidInputError("CKA is undefined for constant data (all rows equal)")
    return cross / float(np.sqrt(self_x * self_y))


def linear_cka(x: np.ndarray, y: np.ndarray, *, debiased: bool = False) -> float:
    """Linear CKA between ``x`` (n, d_x) and ``y`` (n, d_y), streamed over rows."""
    return linear_cka_from_moments(centred_moments(x, y), debiased=debiased)


def procrustes_from_moments(m: Moments) -> float:
    """Angular orthogonal-Procrustes distance (radians, in [0, π/2]) from moments.

    X and Y are centred and scaled to unit Frobenius norm; the smaller one is
    padded with zero columns (which leaves XᵀY's singular values unchanged),
    and the distance is arccos of max over orthogonal Q of tr(XᵀYQ), the
    nuclear norm of XᵀY (Williams et al. 2021).
    """
    norm = float(np.sqrt(np.trace(m.xtx) * np.trace(m.yty)))
    if norm <= 0:
        raise InvalidInputError("Procrustes distance is undefined for constant data")
    nuclear = float(np.linalg.svd(m.xty, compute_uv=False).sum()) / norm
    return float(np.arccos(np.clip(nuclear, -1.0, 1.0)))


def procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Angular Procrustes distance between ``x`` (n, d_x) and ``y`` (n, d_y)."""
    return procrustes_from_moments(centred_moments(x, y))


def sample_pairs(n: int, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` distinct unordered pairs (i < j) of the n items, drawn without replacement.

    Every pair when there are no more than ``count`` of them (n·(n-1)/2), in order;
    otherwise a uniform sample of pair indices, decoded from the upper triangle.

    Returns
    -------
    i, j : int64 arrays of shape (m,) with m = min(count, n·(n-1)/2)
    """
    if n < 2:
        raise InvalidInputError(f"need at least 2 items to form pairs; got {n}")
    total = n * (n - 1) // 2
    if count >= total:
        i, j = np.triu_indices(n, k=1)
        return i.astype(np.int64), j.astype(np.int64)
    # numpy draws a small sample of a huge range without replacement by a hash set (Floyd)
    return _pair_of_index(np.sort(rng.choice(total, size=count, replace=False)), n)


def _pair_of_index(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair (i, j), i < j, at row-major position ``t`` (m,) of the upper triangle of n × n."""
    t = t.astype(np.int64)
    b = 2 * n - 1
    i = np.floor((b - np.sqrt(float(b) ** 2 - 8.0 * t)) / 2).astype(np.int64)
    start = i * (b - i) // 2  # position of pair (i, i + 1)
    # the square root may land one row off for large n; move to the row that holds t
    i = np.where(start > t, i - 1, i)
    start = i * (b - i) // 2
    step = (i + 1) * (b - i - 1) // 2 <= t
    i = np.where(step, i + 1, i)
    start = i * (b - i) // 2
    return i, t - start + i + 1


def pair_similarities(vectors: np.ndarray, i: np.ndarray, j: np.ndarray, metric: str) -> np.ndarray:
    """Similarity of each pair (i, j): cosine, dot product, or negative L2 distance; (m,)."""
    out = np.empty(i.size)
    norms = None
    if metric != "l2" and vectors.shape[0] <= i.size:
        # more pairs than vectors: cast once and take each vector's norm once (the same
        # row reductions as on the gathered rows, so the same values bit for bit)
        vectors = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1) if metric == "cosine" else None
    # blocks of pairs keep the gathered (block, d) rows in cache instead of (m, d) in memory
    for start in range(0, i.size, 8192):
        rows = slice(start, start + 8192)
        scale = None if norms is None else norms[i[rows]] * norms[j[rows]]
        out[rows] = _pair_block(vectors[i[rows]], vectors[j[rows]], metric, scale)
    return out


def _pair_block(
    a: np.ndarray, b: np.ndarray, metric: str, norms: np.ndarray | None = None
) -> np.ndarray:
    """Similarities of rows a[r], b[r]; ``norms`` (the products of their norms) when known."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if metric == "l2":
        return -np.linalg.norm(a - b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    if metric == "dot":
        return dots
    if norms is None:
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def pairwise_spearman(
    x: np.ndarray,
    y: np.ndarray,
    *,
    pairs: int = 100_000,
    metric_x: str = "cosine",
    metric_y: str = "cosine",
    seed: int = 0,
) -> tuple[float, int]:
    """Spearman correlation of pair similarities in ``x`` and ``y`` over distinct pairs.

    ``pairs`` is a budget: every distinct pair is used when there are fewer
    (n·(n-1)/2), otherwise that many distinct pairs drawn without replacement.

    Returns
    -------
    rho : float
    pairs : int
        The number of distinct pairs the correlation was computed over.
    """
    x, y, i, j = _drawn_pairs(x, y, pairs, seed)
    sim_x = pair_similarities(x, i, j, metric_x)
    sim_y = pair_similarities(y, i, j, metric_y)
    return spearman(sim_x, sim_y), int(i.size)


def _drawn_pairs(
    x: np.ndarray, y: np.ndarray, pairs: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x``, ``y`` checked as paired and the pairs (i, j) a budget of ``pairs`` draws."""
    if pairs < 3:
        raise InvalidInputError(f"pairs={pairs} must be at least 3")
    x, y = paired(x, y)
    i, j = sample_pairs(x.shape[0], pairs, np.random.default_rng(seed))
    return x, y, i, j


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two samples (m,): Pearson's r of their ranks, ties averaged.

    What scipy.stats.spearmanr computes (checked in tests/compare/test_spearman.py), so the
    structure step does not import scipy.stats itself (scikit-learn, which the clusters
    step uses, still does: the import saves no start-up time today).
    """
    return _rank_correlation(average_ranks(x), average_ranks(y))


def _rank_correlation(rx: np.ndarray, ry: np.ndarray) -> float:
    """Pearson's r of two rank vectors (m,), which are left as they are."""
    rx = rx - rx.mean()
    ry = ry - ry.mean()
    scale = float(np.sqrt((rx @ rx) * (ry @ ry)))
    return float(rx @ ry / scale) if scale > 0 else float("nan")


def spearman_and_chance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    pairs: int = 100_000,
    metric_x: str = "cosine",
    metric_y: str = "cosine",
    seed: int = 0,
) -> tuple[float, int, float]:
    """:func:`pairwise_spearman` and :func:`spearman_chance` of the same arguments at once,
    ``(rho, pairs, chance)``: both draw the same pairs, so ``x``'s pair similarities and
    their ranks are computed once for the two (the same figures bit for bit)."""
    x, y, i, j = _drawn_pairs(x, y, pairs, seed)
    ranks_x = average_ranks(pair_similarities(x, i, j, metric_x))
    rho = _rank_correlation(ranks_x, average_ranks(pair_similarities(y, i, j, metric_y)))
    shuffled = y[np.random.default_rng(seed + 1).permutation(y.shape[0])]
    chance = _rank_correlation(ranks_x, average_ranks(pair_similarities(shuffled, i, j, metric_y)))
    return rho, int(i.size), chance


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..m of ``values`` (m,), float64; tied values share the mean of their ranks."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # start of each run of equal values, and the mean rank over the run
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman_chance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    pairs: int = 100_000,
    metric_x: str = "cosine",
    metric_y: str = "cosine",
    seed: int = 0,
) -> float:
    """The same correlation with the items of ``y`` shuffled (a Mantel permutation null).

    Pairing destroyed, the pair similarities of the two versions are
    unrelated; this is the level a figure must clear to mean anything.
    """
    x, y = paired(x, y)
    rng = np.random.default_rng(seed + 1)
    rho, _ = pairwise_spearman(
        x, y[rng.permutation(y.shape[0])], pairs=pairs, metric_x=metric_x, metric_y=metric_y,
        seed=seed,
    )  # fmt: skip
    return rho


def float32_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert paired arrays to float32."""
    x, y = paired(x, y)
    return as_float32(x, "x"), as_float32(y, "y")
