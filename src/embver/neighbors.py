"""Exact nearest neighbours through faiss flat search, in memory-bounded blocks.

Every neighbourhood figure in :mod:`embver.compare` rests on these exact
neighbours; there is no approximate index here, so a figure never mixes the
error of the index with the change between versions.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from embver.errors import InvalidInputError

METRICS: Final = ("cosine", "dot", "l2")
_ALIASES: Final = {
    "cosine": "cosine",
    "cos": "cosine",
    "angular": "cosine",
    "dot": "dot",
    "ip": "dot",
    "inner_product": "dot",
    "l2": "l2",
    "euclidean": "l2",
}
#: queries searched at once; bounds the (block, k) result and faiss' scratch memory
DEFAULT_BLOCK: Final = 8192
_NORMALIZE_BLOCK: Final = 32768


def canonical_metric(metric: str) -> str:
    """Return the canonical metric name ("cosine", "dot" or "l2") for ``metric``."""
    name = _ALIASES.get(str(metric).lower())
    if name is None:
        raise InvalidInputError(
            f"metric={metric!r} is not supported; use one of {', '.join(METRICS)}"
        )
    return name


def as_float32(vectors: np.ndarray, name: str = "vectors") -> np.ndarray:
    """Return ``vectors`` as a C-contiguous float32 2-D array, refusing NaN/inf."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise InvalidInputError(f"{name} must be a 2-D array (n, d); got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidInputError(f"{name} is empty (shape {array.shape}); give at least one vector")
    # in row blocks: one isfinite over 1M × 384 would allocate a 384 MB mask
    for start in range(0, array.shape[0], _NORMALIZE_BLOCK):
        if not np.isfinite(array[start : start + _NORMALIZE_BLOCK]).all():
            raise InvalidInputError(f"{name} contains NaN or inf; clean the vectors first")
    return array


def check_paired(x: np.ndarray, y: np.ndarray, names: tuple[str, str] = ("old", "new")) -> int:
    """Refuse ``x`` (n, d_x) and ``y`` (m, d_y) unless n == m; return n.

    Every figure that compares two versions reads row i of both as the same item,
    so the row counts must agree; ``names`` are the caller's names for the two sides.
    """
    if x.shape[0] != y.shape[0]:
        raise InvalidInputError(
            f"{names[0]} has {x.shape[0]} rows but {names[1]} has {y.shape[0]} "
            f"(shapes {tuple(x.shape)} and {tuple(y.shape)}); "
            "pass the vectors of the same items, in the same order, on both sides"
        )
    return int(x.shape[0])


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Return a float32 copy of ``vectors`` (n, d) with rows of unit L2 norm.

    Zero rows stay zero: they have no direction, and dividing by zero would
    poison every neighbour list with NaN.
    """
    source: np.ndarray = np.asarray(vectors)
    array: np.ndarray = np.empty(source.shape, dtype=np.float32)
    # In row blocks, each copied and normalised while it is in cache (one pass over memory
    # instead of a whole copy, then a second and third pass); norms by einsum:
    # np.linalg.norm(axis=1) squares the whole array into a temporary first (1M × 384,
    # one-off measurement: 7.8 s against 0.8 s here; benchmarks/bench_compare.py
    # --only-large times the neighbour step that uses it).
    for start in range(0, array.shape[0], _NORMALIZE_BLOCK):
        rows = array[start : start + _NORMALIZE_BLOCK]
        rows[...] = source[start : start + _NORMALIZE_BLOCK]
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))[:, None]
        np.divide(rows, norms, out=rows, where=norms > 0)
    return array


def prepare(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Return the float32 array that flat inner-product/L2 search needs for ``metric``."""
    metric = canonical_metric(metric)
    array = as_float32(vectors)
    return normalize_rows(array) if metric == "cosine" else array


def flat_search(base: np.ndarray, queries: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Exact search of prepared float32 ``queries`` (m, d) in ``base`` (n, d); ids (m, k).

    ``faiss.knn`` runs the same blocked BLAS kernels as ``IndexFlat`` without
    copying ``base`` into an index.
    """
    import faiss

    kind = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    _, found = faiss.knn(queries, base, k, metric=kind)
    return np.asarray(found, dtype=np.int64)


def knn(
    base: np.ndarray,
    k: int,
    *,
    queries: np.ndarray | None = None,
    query_ids: np.ndarray | None = None,
    metric: str = "cosine",
    block: int = DEFAULT_BLOCK,
    prepared: bool = False,
) -> np.ndarray:
    """Exact k nearest neighbours of ``queries`` among the rows of ``base``.

    Parameters
    ----------
    base : array of shape (n, d)
        The vectors searched.
    k : int
        Neighbours per query, ``1 <= k <= n - 1`` when queries exclude themselves.
    queries : array of shape (m, d), optional
        Query vectors; default ``base[query_ids]`` (or all of ``base``).
    query_ids : int array of shape (m,), optional
        Row of ``base`` that each query stands for; that row is excluded from
        the query's own neighbours (a point is not its own neighbour).
        ``None`` with ``queries=None`` means every row queries itself-excluded;
        ``None`` with explicit ``queries`` means nothing is excluded.
    metric : {"cosine", "dot", "l2"}
    block : int
        Queries searched per faiss call; bounds memory.
    prepared : bool
        ``base`` (and ``queries``) already went through :func:`prepare` for
        ``metric``; skips a copy of ``base``.

    Returns
    -------
    int64 array of shape (m, k)
        Row indices into ``base``, nearest first.
    """
    metric = canonical_metric(metric)
    base = base if prepared else prepare(base, metric)
    n = base.shape[0]
    if queries is None:
        ids = np.arange(n) if query_ids is None else np.asarray(query_ids, dtype=np.int64)
        query_vectors = base[ids]
        exclude: np.ndarray | None = ids
    else:
        query_vectors = queries if prepared else prepare(queries, metric)
        exclude = None if query_ids is None else np.asarray(query_ids, dtype=np.int64)
    _check_k(k, n - (0 if exclude is None else 1))
    if query_vectors.shape[1] != base.shape[1]:
        raise InvalidInputError(
            f"queries have dimension {query_vectors.shape[1]} but base has {base.shape[1]}"
        )
    if exclude is not None and exclude.shape[0] != query_vectors.shape[0]:
        raise InvalidInputError(
            f"query_ids has {exclude.shape[0]} entries for {query_vectors.shape[0]} queries"
        )
    if block < 1:
        raise InvalidInputError(f"block={block} must be a positive number of queries")
    return _search_blocks(base, query_vectors, k, exclude, block, metric)


def _check_k(k: int, available: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k={k!r} must be a positive integer")
    if k > available:
        raise InvalidInputError(
            f"k={k} needs at least {k + 1} items; only {available + 1} are there. Use a smaller k"
        )


def _search_blocks(
    base: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: np.ndarray | None,
    block: int,
    metric: str,
) -> np.ndarray:
    extra = 0 if exclude is None else 1
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for start in range(0, queries.shape[0], block):
        stop = min(start + block, queries.shape[0])
        found = flat_search(base, queries[start:stop], k + extra, metric)
        if exclude is None:
            out[start:stop] = found
        else:
            out[start:stop] = drop_self(found, exclude[start:stop], k)
    return out


def drop_self(found: np.ndarray, self_ids: np.ndarray, k: int) -> np.ndarray:
    """Remove each row's own id from ``found`` (m, k+1), keeping k neighbours.

    A row that does not contain its own id (ties between duplicate vectors can
    push it out) loses its last, farthest entry instead.
    """
    is_self = found == self_ids[:, None]
    # rows without their own id drop the last column
    is_self[~is_self.any(axis=1), -1] = True
    # a duplicate id (faiss pads with -1 when n is tiny) keeps only the first drop
    first = np.argmax(is_self, axis=1)
    keep = np.ones_like(is_self)
    keep[np.arange(found.shape[0]), first] = False
    return found[keep].reshape(found.shape[0], found.shape[1] - 1)[:, :k]
