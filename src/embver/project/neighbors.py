"""The k-NN graph UMAP needs: exact faiss search on small sets, an inverted-file
index probed until its recall is ~1 on large ones."""

from __future__ import annotations

import numpy as np

from embver.neighbors import drop_self, knn

_BLOCK = 8192  # rows per distance block: bounds the (block, k, dims) temporary
#: above this many points the graph comes from an inverted-file index: brute force
#: grows with n² (100k × 50: 10.5 s), the index with ~n^1.5 (2.6 s, recall@15 = 1.000;
#: benchmarks/bench_knn_graph.py)
IVF_MIN_POINTS = 20_000
_IVF_LISTS_PER_SQRT_N = 4
_IVF_PROBES = 32
_IVF_TRAIN_PER_LIST = 40
#: the index of a large layout's graph (``knn_graph(large=True)``): √n lists, 8 probed (the
#: same share of the points scanned as the default's 32 of 4·√n, in bigger lists: fewer
#: centroids to train and to rank per query) and 10 k-means iterations instead of faiss's
#: 25. Measured at 100k x 50 (2 busy cores), CPU seconds against 2·√n lists and 16 probes:
#: 2.9 against 4.4 on bench_ui_cold.py's clusters (recall@14 0.9970 against 0.9995), 4.2
#: against 5.8 on clusters with real embeddings' spectrum; the layout's trustworthiness
#: unchanged on both (0.9941, 0.9948). The default index: 20.0 s CPU on the latter.
_LARGE_IVF = {"lists_per_sqrt_n": 1, "probes": 8, "iterations": 10}


def knn_graph(points: np.ndarray, k: int, large: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean k-NN of every point, itself first, as umap-learn's ``precomputed_knn``:
    exact below ``IVF_MIN_POINTS`` points, from an IVF index of recall ~1 above
    (a cheaper one, ``_LARGE_IVF``, when ``large``).

    Parameters
    ----------
    points : array of shape (n_samples, n_features)
    k : neighbours per point counting the point itself, ``2 <= k <= n_samples``.

    Returns
    -------
    indices : int64 array of shape (n_samples, k), column 0 the point itself
    distances : float32 array of shape (n_samples, k), Euclidean (not squared)
    """
    data = np.ascontiguousarray(points, dtype=np.float32)
    if len(data) >= IVF_MIN_POINTS:
        others = _ivf_knn(data, k - 1, **(_LARGE_IVF if large else {}))
    else:
        others = knn(data, k - 1, metric="l2", prepared=True)
    indices = np.concatenate([np.arange(len(data))[:, None], others], axis=1)
    distances = np.empty(indices.shape, dtype=np.float32)
    for start in range(0, len(data), _BLOCK):
        rows = slice(start, start + _BLOCK)
        differences = data[indices[rows]] - data[rows, None, :]
        distances[rows] = np.sqrt((differences**2).sum(axis=2))
    return indices.astype(np.int64), distances


def _ivf_knn(
    data: np.ndarray,
    k: int,
    seed: int = 0,
    probes: int = _IVF_PROBES,
    lists_per_sqrt_n: int = _IVF_LISTS_PER_SQRT_N,
    iterations: int | None = None,
) -> np.ndarray:
    """k nearest other points of every row through a faiss IVF-Flat index, (n, k) int64.

    4·√n lists (``lists_per_sqrt_n``), trained on a seeded sample (``iterations`` of
    k-means; faiss's default when None), 32 probed: every point's own list is
    always among them, and the recall against brute force is ~1 (measured 1.000 at
    100k, ``tests/project/test_neighbors_ivf.py`` checks ≥ 0.99 on clustered data).
    A row whose probed lists hold fewer than k + 1 points (faiss pads with -1) gets
    its neighbours by exact search. Deterministic: the training sample and faiss's
    k-means are seeded.
    """
    import faiss

    n, dims = data.shape
    lists = int(lists_per_sqrt_n * np.sqrt(n))
    rng = np.random.default_rng(seed)
    sample = data[np.sort(rng.choice(n, min(n, _IVF_TRAIN_PER_LIST * lists), replace=False))]
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dims), dims, lists)
    index.cp.seed = seed
    if iterations is not None:
        index.cp.niter = iterations
    index.train(sample)
    index.add(data)
    index.nprobe = min(probes, lists)
    found = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _BLOCK):
        rows = np.arange(start, min(start + _BLOCK, n))
        _, candidates = index.search(data[rows], k + 1)
        found[rows] = drop_self(candidates, rows, k)
    short = np.flatnonzero((found < 0).any(axis=1))
    if short.size:
        found[short] = knn(
            data, k, queries=data[short], query_ids=short, metric="l2", prepared=True
        )
    return found
