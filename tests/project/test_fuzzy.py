"""The numpy fuzzy graph against umap-learn's fuzzy_simplicial_set on the same neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from umap_oracle import import_umap

from embver.project.fuzzy import fuzzy_graph, smooth_distances
from embver.project.neighbors import knn_graph


@pytest.mark.parametrize(("n", "k"), [(300, 15), (2000, 15), (500, 5)])
def test_same_graph_as_umap_learn(n, k):
    import_umap()
    from umap.umap_ import fuzzy_simplicial_set

    rng = np.random.default_rng(n)
    points = (rng.normal(size=(12, 20))[rng.integers(0, 12, n)] + rng.normal(size=(n, 20))).astype(
        np.float32
    )
    indices, distances = knn_graph(points, k)
    theirs, sigma, rho = fuzzy_simplicial_set(
        points, k, np.random.RandomState(0), "euclidean", knn_indices=indices, knn_dists=distances
    )
    theirs = theirs.tocsr()
    ours = fuzzy_graph(indices, distances)
    assert (ours.indptr == theirs.indptr).all() and (ours.indices == theirs.indices).all()
    assert np.abs(ours.data - theirs.data).max() <= 2e-7
    my_sigma, my_rho = smooth_distances(distances, k)
    np.testing.assert_array_equal(my_rho, rho)
    np.testing.assert_allclose(my_sigma, sigma, rtol=1e-6)


def test_duplicates_and_a_point_alone():
    # a point whose neighbours are all at distance 0 has rho 0 and the floor sigma
    points = np.zeros((20, 3), dtype=np.float32)
    points[10:] += np.arange(10, dtype=np.float32)[:, None]
    indices, distances = knn_graph(points, 5)
    graph = fuzzy_graph(indices, distances)
    assert graph.shape == (20, 20) and np.isfinite(graph.data).all()
    assert (graph.data > 0).all() and (graph.data <= 1).all()
    assert abs(graph - graph.T).max() == 0
