"""The k-NN graph UMAP needs, from embver.compare's exact faiss search."""

from __future__ import annotations

import numpy as np

from embver.compare.neighbors import knn

_BLOCK = 8192  # rows per distance block: bounds the (block, k, dims) temporary


def knn_graph(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k-NN of every point, itself first, as umap-learn's ``precomputed_knn``.

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
    others = knn(data, k - 1, metric="l2", prepared=True)
    indices = np.concatenate([np.arange(len(data))[:, None], others], axis=1)
    distances = np.empty(indices.shape, dtype=np.float32)
    for start in range(0, len(data), _BLOCK):
        rows = slice(start, start + _BLOCK)
        differences = data[indices[rows]] - data[rows, None, :]
        distances[rows] = np.sqrt((differences**2).sum(axis=2))
    return indices.astype(np.int64), distances
