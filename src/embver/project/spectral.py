"""UMAP's spectral start and curve parameters without importing umap-learn.

``umap_layout`` used to import umap-learn for four small pieces: its ``tswspectral``
start, ``noisy_scale_coords``, ``find_ab_params`` and ``make_epochs_per_sample``.
Importing umap compiles numba kernels (in every process, and for seconds on a
machine's first run). This module computes the same numbers with SciPy and
scikit-learn, call for call, so a layout is umap-learn's to the bit
(tests/project/test_spectral.py checks it against umap-learn):

- a connected graph is embedded by the eigenvectors of its normalised Laplacian
  ``I - D^-1/2 W D^-1/2`` for the smallest eigenvalues (ARPACK, as umap-learn below
  2M points), the first (constant) one dropped;
- a graph of several components places each component's own spectral embedding,
  scaled to half the distance to the nearest other component, around a meta layout:
  a spectral embedding of the components' centroids when there are more than twice
  as many components as dimensions, otherwise the corners ``±e_i``; components too
  small to embed are spread uniformly around their place;
- random numbers are drawn exactly as umap-learn draws them, including the starting
  guesses its eigensolver never reads (the truncated SVD's test matrix of a connected
  graph, a normal matrix per component), so the seeded stream, and with it the noise
  added by :func:`noisy_scale`, stays the same.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

#: what umap-learn's truncated SVD adds to the requested components (scikit-learn's
#: randomized_svd oversampling): the width of the test matrix it draws
_SVD_OVERSAMPLES = 10


def spectral_start(
    data: np.ndarray, graph: scipy.sparse.spmatrix, dims: int, random_state: np.random.RandomState
) -> np.ndarray:
    """umap-learn's ``tswspectral_layout(data, graph, dims, random_state)``: (n, dims)."""
    return _layout(data, graph, dims, random_state, warm_start="tsvd")


def noisy_scale(
    coords: np.ndarray, random_state: np.random.RandomState, max_coord: float = 10.0,
    noise: float = 0.0001,
) -> np.ndarray:  # fmt: skip
    """Scale so the largest |coordinate| is ``max_coord``, add normal noise: float32."""
    scaled = (coords * (max_coord / np.abs(coords).max())).astype(np.float32)
    return scaled + random_state.normal(scale=noise, size=scaled.shape).astype(np.float32)


def ab_params(spread: float, min_dist: float) -> tuple[float, float]:
    """The ``a``, ``b`` of the curve ``1 / (1 + a x^2b)`` closest (least squares, 300 points
    on [0, 3·spread]) to 1 below ``min_dist`` and ``exp(-(x - min_dist) / spread)`` above."""
    from scipy.optimize import curve_fit

    x = np.linspace(0, spread * 3, 300)
    target = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))

    def curve(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return 1.0 / (1.0 + a * x ** (2 * b))

    params, _ = curve_fit(curve, x, target)
    return float(params[0]), float(params[1])


def epochs_per_sample(weights: np.ndarray, n_epochs: int) -> np.ndarray:
    """Epochs between two samples of each edge: the strongest every epoch, -1 never."""
    samples = n_epochs * (weights / weights.max())
    result = np.full(weights.shape[0], -1.0, dtype=np.float64)
    positive = samples > 0
    result[positive] = float(n_epochs) / np.float64(samples[positive])
    return result


def _layout(
    data: np.ndarray | None,
    graph: Any,
    dims: int,
    random_state: np.random.RandomState,
    warm_start: str,
) -> np.ndarray:
    n_components, labels = scipy.sparse.csgraph.connected_components(graph)
    if n_components > 1:
        return _components_layout(data, graph, n_components, labels, dims, random_state)
    n = graph.shape[0]
    sqrt_degree = np.sqrt(np.asarray(graph.sum(axis=0)).squeeze())
    scale = scipy.sparse.spdiags(1.0 / sqrt_degree, 0, n, n)
    laplacian = scipy.sparse.identity(n, dtype=np.float64) - scale * graph * scale
    k = dims + 1
    # the starting guesses umap-learn draws; ARPACK starts from ones instead and never reads them
    width = k + _SVD_OVERSAMPLES if warm_start == "tsvd" else k
    random_state.normal(size=(n, width))
    try:
        values, vectors = scipy.sparse.linalg.eigsh(
            laplacian,
            k,
            which="SM",
            ncv=max(2 * k + 1, int(np.sqrt(n))),
            tol=1e-4,
            v0=np.ones(n),
            maxiter=n * 5,
        )
    except scipy.sparse.linalg.ArpackError:
        warnings.warn(
            "the spectral start did not converge (too small an eigengap): starting the "
            "layout from random positions instead",
            stacklevel=2,
        )
        return random_state.uniform(low=-10.0, high=10.0, size=(n, dims))
    return vectors[:, np.argsort(values)[1:k]]


def _components_layout(
    data: np.ndarray | None,
    graph: Any,
    n_components: int,
    labels: np.ndarray,
    dims: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    result = np.empty((graph.shape[0], dims), dtype=np.float32)
    if n_components > 2 * dims:
        places = _centroid_layout(data, n_components, labels, dims, random_state)
    else:
        half = int(np.ceil(n_components / 2.0))
        corners = np.hstack([np.eye(half), np.zeros((half, dims - half))])
        places = np.vstack([corners, -corners])[:n_components]
    rows = graph.tocsr()
    for label in range(n_components):
        members = labels == label
        part = rows[members, :].tocsc()[:, members].tocoo()
        distances = euclidean_distances(places[label : label + 1], places)
        reach = distances[distances > 0.0].min() / 2.0
        size = part.shape[0]
        if size < 2 * dims or size <= dims + 1:
            spread = random_state.uniform(low=-reach, high=reach, size=(size, dims))
            result[members] = spread + places[label]
            continue
        own = _layout(None, part, dims, random_state, warm_start="random")
        own *= reach / np.max(np.abs(own))
        result[members] = own + places[label]
    return result


def _centroid_layout(
    data: np.ndarray | None,
    n_components: int,
    labels: np.ndarray,
    dims: int,
    random_state: np.random.RandomState,
) -> np.ndarray:
    """Where each component goes: a spectral embedding of the components' centroids."""
    from sklearn.manifold import SpectralEmbedding

    if data is None:  # a component's own graph split again (umap-learn: the global RNG)
        return random_state.random_sample((n_components, dims)) * 10.0
    centroids = np.empty((n_components, data.shape[1]), dtype=np.float64)
    for label in range(n_components):
        centroids[label] = data[labels == label].mean(axis=0)
    affinity = np.exp(-(euclidean_distances(centroids, centroids, same=True) ** 2))
    embedding = SpectralEmbedding(
        n_components=dims, affinity="precomputed", random_state=random_state
    ).fit_transform(affinity)
    return np.asarray(embedding / embedding.max())


def euclidean_distances(x: np.ndarray, y: np.ndarray, same: bool = False) -> np.ndarray:
    """Distances (m, n) between rows of float64 ``x`` (m, d) and ``y`` (n, d) as
    scikit-learn's ``pairwise_distances`` computes them (|x|² + |y|² - 2 x·y, clipped at 0,
    the diagonal 0 when ``same``), bit for bit, without importing scikit-learn (~1 s with
    SciPy's statistics, which it loads): the layout's start then needs neither."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    distances = -2 * (x @ y.T)
    distances += np.einsum("ij,ij->i", x, x)[:, None]
    distances += np.einsum("ij,ij->i", y, y)[None, :]
    np.maximum(distances, 0, out=distances)
    if same:
        np.fill_diagonal(distances, 0)
    return np.sqrt(distances, out=distances)
