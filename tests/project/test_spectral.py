"""embver's spectral start and curve parameters are umap-learn's, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from umap_oracle import import_umap

from embver.project.fuzzy import fuzzy_graph
from embver.project.neighbors import knn_graph
from embver.project.spectral import ab_params, epochs_per_sample, noisy_scale, spectral_start


def _graph(points: np.ndarray):  # type: ignore[no-untyped-def]
    indices, distances = knn_graph(points.astype(np.float32), 15)
    return fuzzy_graph(indices, distances)


def _blobs(sizes: list[int], dim: int = 10, gap: float = 60.0, seed: int = 0) -> np.ndarray:
    """Gaussian blobs this far apart: each blob is one component of the 15-NN graph."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(size=(size, dim)) + gap * rng.normal(size=dim) for size in sizes]
    return np.concatenate(parts).astype(np.float32)


CASES = {
    "connected": [400],
    "two components (corners)": [250, 150],
    "more components than twice the dimensions (centroid layout)": [60] * 6 + [40] * 3,
    "components too small to embed": [120, 100, 16],  # and a triangle of 3 points
}


def _case(case: str):  # type: ignore[no-untyped-def]
    """The points and their fuzzy 15-NN graph, one component per blob."""
    points = _blobs(CASES[case])
    graph = _graph(points)
    if case == "components too small to embed":
        # three points joined only to each other: too few for their own spectral embedding
        # (a 15-NN graph cannot isolate so few points, so the edges are set by hand)
        import scipy.sparse

        triangle = scipy.sparse.csr_matrix(np.ones((3, 3), dtype=np.float32) - np.eye(3))
        graph = scipy.sparse.block_diag([graph, 0.5 * triangle], format="csr")
        points = np.concatenate([points, _blobs([3], seed=1)])
    return points, graph


@pytest.mark.parametrize("dims", [2, 5])
@pytest.mark.parametrize("case", list(CASES))
def test_the_spectral_start_is_umap_learns(case, dims):
    import_umap()
    from scipy.sparse.csgraph import connected_components
    from umap.spectral import tswspectral_layout
    from umap.umap_ import noisy_scale_coords

    points, graph = _case(case)
    blobs = len(CASES[case]) + (case == "components too small to embed")
    assert connected_components(graph)[0] == blobs  # the case is what it says
    theirs = tswspectral_layout(points, graph, dims, np.random.RandomState(3), metric="euclidean")
    ours = spectral_start(points, graph, dims, np.random.RandomState(3))
    assert ours.shape == (len(points), dims)
    assert np.array_equal(ours, theirs)
    # the seeded stream was drawn alike: the noise added next is the same too
    state_theirs, state_ours = np.random.RandomState(3), np.random.RandomState(3)
    theirs = noisy_scale_coords(
        tswspectral_layout(points, graph, dims, state_theirs, metric="euclidean"), state_theirs
    )
    ours = noisy_scale(spectral_start(points, graph, dims, state_ours), state_ours)
    assert np.array_equal(ours, theirs) and ours.dtype == theirs.dtype


@pytest.mark.parametrize(("spread", "min_dist"), [(1.0, 0.1), (1.0, 0.0), (1.5, 0.3)])
def test_curve_parameters_are_umap_learns(spread, min_dist):
    import_umap()
    from umap.umap_ import find_ab_params

    assert ab_params(spread, min_dist) == tuple(float(v) for v in find_ab_params(spread, min_dist))


def test_epochs_per_sample_are_umap_learns():
    import_umap()
    from umap.umap_ import make_epochs_per_sample

    weights = _graph(_blobs([300])).data
    weights[::7] = 0.0  # edges never sampled: -1
    for epochs in (30, 200):
        theirs = make_epochs_per_sample(weights, epochs)
        assert np.array_equal(epochs_per_sample(weights, epochs), theirs)
    assert (epochs_per_sample(weights, 200)[::7] == -1.0).all()


def test_the_start_measures_distances_as_scikit_learn_does_bit_for_bit():
    from sklearn.metrics import pairwise_distances

    from embver.project.spectral import euclidean_distances

    rng = np.random.default_rng(4)
    centroids = rng.normal(size=(23, 50))
    assert np.array_equal(
        euclidean_distances(centroids, centroids, same=True),
        pairwise_distances(centroids, metric="euclidean"),
    )
    places = rng.normal(size=(9, 5))
    for label in range(9):
        assert np.array_equal(
            euclidean_distances(places[label : label + 1], places),
            pairwise_distances([places[label]], places),
        )


def test_the_start_of_a_graph_of_few_components_imports_no_scikit_learn():
    import subprocess
    import sys

    probe = (
        "import sys, numpy as np\n"
        "from embver.project.layout import layout_problem\n"
        "rng = np.random.default_rng(0)\n"
        "x = np.vstack([rng.normal(size=(150, 16)), 40 + rng.normal(size=(150, 16))])\n"
        "layout_problem(x.astype(np.float32), dims=5, min_dist=0.0)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'umap')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
