"""The large-set k-NN graph (faiss IVF) against scikit-learn's brute-force search."""

from __future__ import annotations

import numpy as np

from embver.project.neighbors import IVF_MIN_POINTS, _drop_self, knn_graph


def _clustered(n: int, dims: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dims)) * 3
    labels = rng.integers(0, len(centres), n)
    return (centres[labels] + rng.standard_normal((n, dims))).astype(np.float32)


def test_ivf_graph_matches_brute_force_neighbours():
    from sklearn.neighbors import NearestNeighbors

    points = _clustered(IVF_MIN_POINTS + 5_000, 32)
    k = 15
    indices, distances = knn_graph(points, k)
    assert indices.shape == distances.shape == (len(points), k)
    assert np.array_equal(indices[:, 0], np.arange(len(points)))
    assert np.all(distances[:, 0] == 0)
    assert np.all(np.diff(distances, axis=1) >= -1e-5)

    oracle = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(points)
    true_distances, true_indices = oracle.kneighbors(points)
    recall = np.mean(
        [len(set(a[1:]) & set(b[1:])) / (k - 1) for a, b in zip(indices, true_indices, strict=True)]
    )
    assert recall >= 0.99
    # the distances are the true Euclidean distances of the neighbours found
    found = np.linalg.norm(points[indices] - points[:, None, :], axis=2)
    np.testing.assert_allclose(distances, found, rtol=1e-4, atol=1e-4)
    # a neighbour missed is replaced by one barely farther: the k-th distance is near the truth
    assert np.median(distances[:, -1] / true_distances[:, -1]) < 1.001


def test_ivf_graph_is_deterministic():
    points = _clustered(IVF_MIN_POINTS, 16, seed=1)
    first, _ = knn_graph(points, 10)
    second, _ = knn_graph(points, 10)
    assert np.array_equal(first, second)


def test_drop_self_keeps_order_and_pads_with_the_row():
    candidates = np.array([[0, 5, 6, 7], [4, 1, 2, -1], [9, 8, -1, -1]])
    rows = np.array([0, 1, 2])
    assert _drop_self(candidates, rows, 3).tolist() == [[5, 6, 7], [4, 2, 1], [9, 8, 2]]
