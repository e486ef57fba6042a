"""Layouts: quality floors with fixed seeds (trustworthiness), never exact coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from embver.errors import InvalidInputError
from embver.project.layout import (
    compute_layout,
    principal_components,
    umap_layout,
)
from embver.project.neighbors import knn_graph


def test_umap_2d_keeps_neighbourhoods_of_real_text(bbc):
    layout = umap_layout(bbc.vectors, dims=2, seed=0)
    assert layout.shape == (len(bbc.ids), 2) and layout.dtype == np.float32
    assert trustworthiness(bbc.vectors, layout, n_neighbors=10, metric="cosine") >= 0.88


def test_umap_is_reproducible_with_a_seed(bbc):
    first = umap_layout(bbc.vectors, seed=3)
    second = umap_layout(bbc.vectors, seed=3)
    np.testing.assert_array_equal(first, second)


def test_umap_3d(bbc):
    layout = compute_layout(bbc.vectors, method="umap", dims=3, seed=0)
    assert layout.shape == (len(bbc.ids), 3)
    assert trustworthiness(bbc.vectors, layout, n_neighbors=10, metric="cosine") >= 0.88


@pytest.mark.parametrize("dims", [2, 3])
def test_tsne_keeps_neighbourhoods(bbc, dims):
    layout = compute_layout(bbc.vectors, method="tsne", dims=dims, seed=0)
    assert layout.shape == (len(bbc.ids), dims)
    assert trustworthiness(bbc.vectors, layout, n_neighbors=10, metric="cosine") >= 0.88


def test_pca_layout_matches_sklearn_up_to_sign(bbc):
    from sklearn.decomposition import PCA

    ours = compute_layout(bbc.vectors, method="pca", dims=2)
    theirs = PCA(n_components=2).fit_transform(bbc.vectors)
    for axis in range(2):
        assert abs(np.corrcoef(ours[:, axis], theirs[:, axis])[0, 1]) > 0.999


def test_principal_components_explained_share_on_a_closed_form_case():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4000, 3)) * np.array([3.0, 2.0, 1.0])
    _, shares = principal_components(data.astype(np.float32), 3)
    np.testing.assert_allclose(shares, np.array([9, 4, 1]) / 14, atol=0.02)


def test_knn_graph_is_exact_and_starts_with_self():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((300, 8)).astype(np.float32)
    indices, distances = knn_graph(points, 6)
    brute = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.testing.assert_array_equal(indices[:, 0], np.arange(300))
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :6], rtol=1e-4, atol=1e-5)


def test_unknown_method_is_refused(bbc):
    with pytest.raises(InvalidInputError, match="method='mds'"):
        compute_layout(bbc.vectors, method="mds")


def test_four_dimensions_are_refused(bbc):
    with pytest.raises(InvalidInputError, match="dims=4"):
        compute_layout(bbc.vectors, dims=4)


def test_nan_vectors_are_refused():
    data = np.ones((10, 4), dtype=np.float32)
    data[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        compute_layout(data, method="pca")


def test_too_few_items_are_refused():
    with pytest.raises(InvalidInputError, match="3 items"):
        compute_layout(np.eye(3, dtype=np.float32))


UNKNOWN_PARAMETERS = [
    ("umap", "perplexity"),
    ("umap", "align_to_ref"),
    ("pca", "n_neighbors"),
    ("pca", "pca_dims"),
    ("tsne", "n_neighbors"),
    ("tsne", "min_dist"),
]


@pytest.mark.parametrize("method, name", UNKNOWN_PARAMETERS)
def test_a_parameter_the_method_does_not_take_is_refused(method, name):
    vectors = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    accepted = {"umap": "n_neighbors, min_dist", "pca": "none", "tsne": "perplexity, pca_dims"}
    with pytest.raises(InvalidInputError, match=rf"{method} .*{name!r}.*{accepted[method]}"):
        compute_layout(vectors, method=method, **{name: 1})
