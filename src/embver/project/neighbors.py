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


def knn_graph(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean k-NN of every point, itself first, as umap-learn's ``precomputed_knn``:
    exact below ``IVF_MIN_POINTS`` points, from an IVF index of recall ~1 above.

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
        others = _ivf_knn(data, k - 1)
    else:
        others = knn(data, k - 1, metric="l2", prepared=True)
    indices = np.concatenate([np.arange(len(data))[:, None], others], axis=1)
    distances = np.empty(indices.shape, dtype=np.float32)
    for start in range(0, len(data), _BLOCK):
        rows = slice(start, start + _BLOCK)
        differences = data[indices[rows]] - data[rows, None, :]
        distances[rows] = np.sqrt((differences**2).sum(axis=2))
    return indices.astype(np.int64), distances


def _ivf_knn(data: np.ndarray, k: int, seed: int = 0, probes: int = _IVF_PROBES) -> np.ndarray:
    """k nearest other points of every row through a faiss IVF-Flat index, (n, k) int64.

    4·√n lists, trained on a seeded sample, 32 probed: every point's own list is
    always among them, and the recall against brute force is ~1 (measured 1.000 at
    100k, ``tests/project/test_neighbors_ivf.py`` checks ≥ 0.99 on clustered data).
    A row whose probed lists hold fewer than k + 1 points (faiss pads with -1) gets
    its neighbours by exact search. Deterministic: the training sample and faiss's
    k-means are seeded.
    """
    import faiss

    n, dims = data.shape
    lists = int(_IVF_LISTS_PER_SQRT_N * np.sqrt(n))
    rng = np.random.default_rng(seed)
    sample = data[np.sort(rng.choice(n, min(n, _IVF_TRAIN_PER_LIST * lists), replace=False))]
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dims), dims, lists)
    index.cp.seed = seed
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
