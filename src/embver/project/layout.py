"""Array-level layouts: UMAP (fast path), PCA and t-SNE, in 2 or 3 dimensions, seeded.

The UMAP path is umap-learn's algorithm fed with better-prepared inputs rather
than a cut-down one:

1. vectors are L2-normalised for the cosine metric (Euclidean distance on the
   unit sphere ranks neighbours exactly as cosine does);
2. PCA to ``pca_dims`` (50) dimensions, which keeps the neighbour structure of
   text/image embeddings while making every later step cheaper;
3. k-NN from faiss (BLAS brute force; above 20k points an inverted-file index
   probed to a recall of ~1) replaces pynndescent's approximate search;
4. the initialisation is umap-learn's "tswspectral" start of the same graph (the
   normalised Laplacian's eigenvectors, component by component), computed by
   :mod:`embver.project.spectral` without importing umap-learn, or a given layout
   (alignment across versions), in which case fewer epochs at a gentler learning
   rate suffice; from LARGE_LAYOUT (50k) points, the PCA layout, fewer epochs and a
   cheaper k-NN index and optimiser kernel (see LARGE_LAYOUT);
5. the gradient descent runs on every core and stays reproducible with a seed
   (umap-learn falls back to one thread when seeded): :mod:`embver.project.sgd`;
6. numba's on-disk cache is pointed at a writable folder so a new process does
   not recompile the optimiser. umap-learn itself is not imported: its kernels
   (and pynndescent's) were most of a first run's JIT time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from embver.errors import InvalidInputError
from embver.project._numba_cache import ensure_numba_cache_dir
from embver.project.neighbors import knn_graph

if TYPE_CHECKING:
    from typing_extensions import Unpack

METHODS = ("umap", "pca", "tsne")
#: the parameters each method takes beyond dims, seed, metric and init
METHOD_PARAMETERS: dict[str, tuple[str, ...]] = {
    "umap": ("n_neighbors", "min_dist", "n_epochs", "pca_dims", "learning_rate"),
    "pca": (),
    "tsne": ("perplexity", "pca_dims"),
}
DEFAULT_PCA_DIMS = 50
#: a start from another version's layout is refined gently and briefly, so unchanged items
#: stay put: the stochastic refinement drifts with every epoch, changed or not. Measured on
#: 300 BBC articles, 4 seeds, a PATCH-sized change (cosine 0.995): median displacement 0.15
#: of the spread at 0.2 and 60 epochs against 0.32 at 0.5 and 100, trustworthiness of the
#: child layout unchanged (0.917 vs 0.915 laid out alone); an unrelated version still moves
#: ~0.97 of the spread (tests/project/test_align.py).
ALIGNED_LEARNING_RATE = 0.2
#: from this many items UMAP starts from the PCA layout of the reduced vectors instead of
#: the spectral one, runs LARGE_EPOCHS epochs (not 150) with the optimiser's fast kernel
#: (``optimize_layout(fast=True)``) on a cheaper k-NN index (``knn_graph(large=True)``),
#: its PCA axes fitted on LARGE_PCA_SAMPLE rows: the UI's full layout of 100k items waited
#: ~28 s, most of it for the 150 epochs, the k-NN index and the spectral solve.
#: Trustworthiness@10 (2 000 rows) at 100k x 384, 150 epochs and the default index -> 50
#: epochs (PIPELINE_REVISION 4) -> 40 epochs and the index of revision 5: 50 Gaussian
#: clusters (benchmarks/bench_ui_cold.py's data) 0.9942 -> 0.9941 -> 0.9937; clusters with
#: real embeddings' spectrum (bench_project.py's data) 0.9956 -> 0.9948 -> 0.9943 (30
#: epochs: 0.9922-0.9929). 40 epochs cost ~5.2 CPU-s on 2 busy cores, 50 ~6.6.
#: A PCA start keeps the global structure as well as the spectral one (Kobak & Linderman,
#: Nat. Biotechnol. 2021) and is what the page drew first. Smaller layouts (every one of
#: compare's) are computed exactly as before. The rows are projected on the sampled axes as
#: the quick layout projects them (``SampledAxes.project``: no normalised copy of the
#: vectors; PIPELINE_REVISION 6).
LARGE_LAYOUT = 50_000
LARGE_EPOCHS = 40
LARGE_PCA_SAMPLE = 20_000


class LayoutParams(TypedDict, total=False):
    """Every method parameter by name and type; which method takes which: METHOD_PARAMETERS.

    Typing ``**params`` with it lets mypy catch a misspelt keyword at the call site;
    :func:`check_layout_params` refuses, at run time, one the method does not take.
    """

    n_neighbors: int
    min_dist: float
    n_epochs: int | None
    pca_dims: int
    learning_rate: float | None
    perplexity: float


def compute_layout(
    vectors: np.ndarray,
    method: str = "umap",
    dims: int = 2,
    seed: int = 0,
    metric: str = "cosine",
    init: np.ndarray | None = None,
    **params: Unpack[LayoutParams],
) -> np.ndarray:
    """Lay out ``vectors`` of shape (n, d) in ``dims`` dimensions; float32 (n, dims).

    ``params`` are the method's own (umap: n_neighbors, min_dist, n_epochs, pca_dims,
    learning_rate; tsne: perplexity, pca_dims; pca: none); another is refused.
    """
    check_layout_request(method, dims, len(vectors))
    check_layout_params(method, params)
    own: dict[str, Any] = dict(params)  # checked above: only this method's parameters
    if method == "pca":
        return pca_layout(vectors, dims=dims, metric=metric)
    if method == "tsne":
        return tsne_layout(vectors, dims=dims, seed=seed, metric=metric, init=init, **own)
    return umap_layout(vectors, dims=dims, seed=seed, metric=metric, init=init, **own)


def check_layout_request(method: str, dims: int, n_items: int) -> None:
    """Refuse an unknown method, a dimension other than 2/3, or too few items."""
    if method not in METHODS:
        raise InvalidInputError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if dims not in (2, 3):
        raise InvalidInputError(f"dims={dims!r}: projections are 2-D or 3-D; pass 2 or 3")
    if n_items < 4:
        raise InvalidInputError(f"{n_items} items: a projection needs at least 4 items")


def check_layout_params(method: str, params: Mapping[str, Any]) -> None:
    """Refuse a parameter that ``method`` (already checked) does not take, naming those it does."""
    accepted = METHOD_PARAMETERS[method]
    for name in params:
        if name not in accepted:
            names = ", ".join(accepted) or "none"
            raise InvalidInputError(
                f"{method} takes no parameter {name!r}; pass only {method}'s parameters ({names})"
            )


def prepare_vectors(vectors: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """float32 copy of ``vectors`` (n, d), unit-normalised when the metric is cosine."""
    data = np.asarray(vectors, dtype=np.float32)
    if data.ndim != 2:
        raise InvalidInputError(f"vectors have shape {data.shape}; expected (n_items, dim)")
    if not np.isfinite(data).all():
        raise InvalidInputError("vectors contain NaN or inf; clean them before projecting")
    if metric == "cosine":
        norms = np.linalg.norm(data, axis=1, keepdims=True)
        data = data / np.maximum(norms, 1e-12)
    return data


def principal_components(data: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact PCA through the covariance matrix, with signs fixed for reproducibility.

    Returns
    -------
    scores : float32 array of shape (n_samples, n_components)
    explained : float64 array of shape (n_components,), share of total variance.
    """
    mean, axes, explained = _principal_axes(data, n_components)
    scores = (data - mean) @ axes.astype(np.float32)
    return scores.astype(np.float32), explained


def _principal_axes(
    data: np.ndarray, n_components: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean (d,) float32, the first axes (d, n_components) float64 with the largest
    loading of each positive, and their shares of the variance (n_components,) of ``data``."""
    mean = data.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = data - mean
    covariance = (centred.T @ centred).astype(np.float64) / max(len(data) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1][:n_components]
    axes = eigenvectors[:, order]
    # make the largest-magnitude loading of each axis positive: same data, same signs
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    total = max(float(eigenvalues.clip(min=0).sum()), 1e-30)
    return mean, axes, eigenvalues[order].clip(min=0) / total


def reduce_dimensions(data: np.ndarray, n_components: int = DEFAULT_PCA_DIMS) -> np.ndarray:
    """PCA scores (n, min(n_components, d)); the data itself when it is already small."""
    if data.shape[1] <= n_components:
        return np.ascontiguousarray(data, dtype=np.float32)
    return principal_components(data, min(n_components, len(data) - 1))[0]


def reduce_vectors(
    vectors: np.ndarray,
    metric: str = "cosine",
    n_components: int = DEFAULT_PCA_DIMS,
    sample: int | None = None,
) -> np.ndarray:
    """PCA scores (n, min(n_components, d)) of ``vectors`` as ``metric`` sees them (unit
    rows for cosine): :func:`reduce_dimensions` of :func:`prepare_vectors`.

    With ``sample`` (and more rows than that), the axes are fitted on that many seeded
    rows (:func:`sample_rows`) and every row is projected on them as the quick layout
    projects them (:meth:`SampledAxes.project`): the covariance of all rows costs ~n·d²
    flops, and the normalised and centred copies of 100k x 384 vectors ~450 MB of memory.
    """
    if sample is None or len(vectors) <= sample or np.shape(vectors)[1] <= n_components:
        return reduce_dimensions(prepare_vectors(vectors, metric), n_components)
    rows = sample_rows(len(vectors), sample)
    axes = SampledAxes.fit(np.asarray(vectors)[rows], dims=n_components, metric=metric)
    return axes.project(vectors)


def pca_layout(vectors: np.ndarray, dims: int = 2, metric: str = "cosine") -> np.ndarray:
    """First ``dims`` principal components of the (normalised) vectors, float32 (n, dims)."""
    return principal_components(prepare_vectors(vectors, metric), dims)[0]


def sample_rows(n_items: int, sample: int = 10_000, seed: int = 0) -> np.ndarray:
    """The seeded rows (sample,) int64, sorted, whose PCA axes :func:`sampled_pca_layout`
    fits; every row when there are at most ``sample``."""
    if n_items <= sample:
        return np.arange(n_items, dtype=np.int64)
    rows = np.random.default_rng(seed).choice(n_items, size=sample, replace=False)
    return np.sort(rows).astype(np.int64)


@dataclass(frozen=True)
class SampledAxes:
    """PCA axes fitted on sampled rows: ``mean`` (d,) and ``axes`` (d, dims), float32,
    both in the space the layout is computed in (unit rows for cosine)."""

    mean: np.ndarray
    axes: np.ndarray
    metric: str

    @classmethod
    def fit(cls, sampled: np.ndarray, dims: int = 2, metric: str = "cosine") -> SampledAxes:
        """The first ``dims`` principal axes of ``sampled`` (n_sample, d) rows.

        Signs follow :func:`principal_components`' rule (the largest loading positive).
        """
        from threadpoolctl import threadpool_limits

        fitted = prepare_vectors(sampled, metric)
        mean = fitted.mean(axis=0, dtype=np.float64).astype(np.float32)
        centred = fitted - mean
        # one BLAS thread: the work is small, and on a busy machine a threaded eigh waits
        # for its descheduled peer at each of its many small steps (measured on 2 cores
        # under load ~4: 15 fits of 10 000 × 384 took 3.9 s threaded, 1.2 s on one thread)
        with threadpool_limits(1):
            covariance = (centred.T @ centred).astype(np.float64) / max(len(fitted) - 1, 1)
            eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        axes = eigenvectors[:, np.argsort(eigenvalues)[::-1][:dims]]
        axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
        return cls(mean=mean, axes=np.ascontiguousarray(axes, dtype=np.float32), metric=metric)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Every row of ``vectors`` (n, d) on the axes; float32 (n, dims).

        One float32 GEMM of the raw rows, no normalised copy: for cosine, a unit row's
        score is ``(x @ axes) / |x| - mean @ axes``. NaN or inf is refused.
        """
        data = np.asarray(vectors, dtype=np.float32)
        if data.ndim != 2:
            raise InvalidInputError(f"vectors have shape {data.shape}; expected (n_items, dim)")
        squares = _squared_norms(data)
        scores = data @ self.axes
        if self.metric == "cosine":
            scores /= np.maximum(np.sqrt(squares), 1e-12)[:, None].astype(np.float32)
        scores -= self.mean @ self.axes
        return scores


def _squared_norms(data: np.ndarray) -> np.ndarray:
    """Squared row norms (n,) float64; refuses NaN/inf (an inf or NaN makes its row's sum
    non-finite; a finite row too large for float32 is summed again in float64)."""
    squares = np.einsum("ij,ij->i", data, data).astype(np.float64)
    bad = ~np.isfinite(squares)
    if bad.any():
        if not np.isfinite(data[bad]).all():
            raise InvalidInputError("vectors contain NaN or inf; clean them before projecting")
        squares[bad] = np.square(data[bad].astype(np.float64)).sum(axis=1)
    return squares


def sampled_pca_layout(
    vectors: np.ndarray,
    dims: int = 2,
    metric: str = "cosine",
    sample: int = 10_000,
    seed: int = 0,
) -> np.ndarray:
    """PCA axes fitted on a seeded sample of ``sample`` rows, every row projected; (n, dims).

    A quick layout: the axes of 10 000 rows are those of all rows to within sampling
    noise, and projecting 100 000 × 384 vectors onto two of them is one GEMM, where the
    exact :func:`pca_layout` spends ~2 s on the covariance. Equal to :func:`pca_layout`
    when there are at most ``sample`` rows. The rows are :func:`sample_rows`; the UI's
    preview draws just those, projected by the same :class:`SampledAxes`. Signs follow
    :func:`pca_layout`'s rule (the largest loading positive), so an axis whose two largest
    loadings are close may come out mirrored against the exact PCA.
    """
    data = np.asarray(vectors, dtype=np.float32)
    if len(data) <= sample:
        return pca_layout(data, dims=dims, metric=metric)
    if data.ndim != 2:
        raise InvalidInputError(f"vectors have shape {data.shape}; expected (n_items, dim)")
    axes = SampledAxes.fit(data[sample_rows(len(data), sample, seed)], dims, metric)
    return axes.project(data)


def default_epochs(n_items: int, initialised: bool) -> int:
    """Epochs for the fast path: umap-learn's own budget, less when started from a layout.

    umap-learn uses 500 epochs below 10k items and 200 above. Exact neighbours
    and a spectral start converge in fewer: measured in benchmarks/bench_project.py.
    A start from another version's layout gets 30% of them (see ALIGNED_LEARNING_RATE).
    From LARGE_LAYOUT items, LARGE_EPOCHS (see there).
    """
    base = 200 if n_items <= 10_000 else 150
    if initialised:
        return base * 3 // 10
    return LARGE_EPOCHS if n_items >= LARGE_LAYOUT else base


def load_layout_kernels() -> None:
    """Import what :func:`umap_layout` runs (the optimiser's numba kernels, the spectral
    start and its curve fit, faiss), numba's on-disk cache pointed at embver's folder.
    Cheap once done; the UI's layout worker calls it before its first job arrives."""
    ensure_numba_cache_dir()
    import faiss  # noqa: F401
    import scipy.optimize  # noqa: F401  (the spectral start's a, b: ~0.2 s to import)

    import embver.project.sgd
    import embver.project.spectral  # noqa: F401


def umap_layout(
    vectors: np.ndarray,
    dims: int = 2,
    seed: int = 0,
    metric: str = "cosine",
    init: np.ndarray | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    pca_dims: int = DEFAULT_PCA_DIMS,
    learning_rate: float | None = None,
) -> np.ndarray:
    """UMAP layout of ``vectors`` (n, d) through PCA + faiss k-NN; float32 (n, dims).

    umap-learn's fuzzy graph (:mod:`embver.project.fuzzy`) and spectral start
    (:mod:`embver.project.spectral`); the optimisation runs on every core and stays
    reproducible (:mod:`embver.project.sgd`). ``init`` (n, dims) starts the optimisation
    from a given layout (used to align one version to another); otherwise the spectral
    start. :func:`layout_problem` and :meth:`LayoutProblem.optimize` are its two halves.
    """
    return layout_problem(
        vectors, dims, seed, metric, init, n_neighbors, min_dist, n_epochs, pca_dims,
        learning_rate,
    ).optimize()  # fmt: skip


@dataclass(frozen=True)
class LayoutProblem:
    """A UMAP layout ready to optimise: its start (n, dims), fuzzy graph and schedule.

    :meth:`optimize` runs numba kernels alone (no BLAS, no faiss, the GIL released), so
    it can run on a thread beside other work without changing its result or theirs.
    """

    start: np.ndarray
    indptr: np.ndarray
    tail: np.ndarray
    epochs_per_sample: np.ndarray
    epochs: int
    a: float
    b: float
    seed: int
    initial_alpha: float
    fast: bool

    def optimize(self) -> np.ndarray:
        """The layout, float32 (n, dims)."""
        from embver.project.sgd import optimize_layout

        return optimize_layout(
            self.start,
            self.indptr,
            self.tail,
            self.epochs_per_sample,
            self.epochs,
            self.a,
            self.b,
            seed=self.seed,
            initial_alpha=self.initial_alpha,
            fast=self.fast,
        )


def layout_problem(
    vectors: np.ndarray,
    dims: int = 2,
    seed: int = 0,
    metric: str = "cosine",
    init: np.ndarray | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    pca_dims: int = DEFAULT_PCA_DIMS,
    learning_rate: float | None = None,
) -> LayoutProblem:
    """Everything :func:`umap_layout` does before its optimisation (same parameters):
    PCA, the k-NN graph, the fuzzy graph, the start and the sampling schedule."""
    load_layout_kernels()
    from embver.project.fuzzy import fuzzy_graph
    from embver.project.spectral import ab_params, epochs_per_sample

    large = len(vectors) >= LARGE_LAYOUT
    reduced = reduce_vectors(vectors, metric, pca_dims, LARGE_PCA_SAMPLE if large else None)
    # umap-learn counts the point itself among its n_neighbors
    k = min(n_neighbors, len(reduced))
    indices, distances = knn_graph(reduced, k, large=large)
    epochs = n_epochs if n_epochs is not None else default_epochs(len(reduced), init is not None)
    random_state = np.random.RandomState(seed)
    # umap-learn's fuzzy_simplicial_set in numpy: the same graph without its JIT kernels
    graph = fuzzy_graph(indices, distances)
    # as umap-learn: edges too weak to be sampled once in the run are dropped
    graph.data[graph.data < graph.data.max() / max(epochs, 10)] = 0.0
    graph.eliminate_zeros()
    if init is None:
        start = _first_layout(reduced, graph, dims, random_state)
    else:
        start = np.asarray(init, dtype=np.float32)
    low, high = start.min(axis=0), start.max(axis=0)
    start = (10.0 * (start - low) / np.maximum(high - low, 1e-12)).astype(np.float32)
    a, b = ab_params(1.0, min_dist)
    return LayoutProblem(
        start=start,
        indptr=graph.indptr,
        tail=graph.indices,
        epochs_per_sample=epochs_per_sample(graph.data, epochs),
        epochs=epochs,
        a=float(a),
        b=float(b),
        seed=seed,
        initial_alpha=learning_rate or (ALIGNED_LEARNING_RATE if init is not None else 1.0),
        fast=large,
    )


def _first_layout(
    reduced: np.ndarray, graph: Any, dims: int, random_state: np.random.RandomState
) -> np.ndarray:
    """The optimisation's start (n, dims): the spectral start of ``graph``, or from
    LARGE_LAYOUT points the principal components of ``reduced`` (n, pca_dims); jittered."""
    from embver.project.spectral import noisy_scale, spectral_start

    if len(reduced) >= LARGE_LAYOUT:
        start = principal_components(reduced, dims)[0]
    else:
        start = spectral_start(reduced, graph, dims, random_state)
    return np.asarray(noisy_scale(start, random_state, max_coord=10, noise=0.0001))


def tsne_layout(
    vectors: np.ndarray,
    dims: int = 2,
    seed: int = 0,
    metric: str = "cosine",
    init: np.ndarray | None = None,
    perplexity: float = 30.0,
    pca_dims: int = DEFAULT_PCA_DIMS,
) -> np.ndarray:
    """openTSNE layout of ``vectors`` (n, d) after PCA; float32 (n, dims)."""
    from openTSNE import TSNE

    reduced = reduce_dimensions(prepare_vectors(vectors, metric), pca_dims)
    start: Any = "pca" if init is None else _scaled_for_tsne(np.asarray(init, dtype=np.float32))
    model = TSNE(
        n_components=dims,
        perplexity=min(perplexity, (len(reduced) - 1) / 3),
        initialization=start,
        random_state=seed,
        # FFT interpolation pays a fixed grid cost that only wins on large data, and is 2-D only
        negative_gradient_method="fft" if dims == 2 and len(reduced) >= 10_000 else "bh",
        # openTSNE's worker threads spin; below 10k items one thread is faster (300 BBC
        # articles: 2.6 s CPU with one thread against 12.8 s with two on a busy 2-core box)
        n_jobs=1 if len(reduced) < 10_000 else -1,
        verbose=False,
    )
    return np.asarray(model.fit(reduced), dtype=np.float32)


def _scaled_for_tsne(layout: np.ndarray) -> np.ndarray:
    """openTSNE expects a start with a small spread (std 1e-4 on the first axis)."""
    centred = layout - layout.mean(axis=0)
    return centred / max(float(centred[:, 0].std()), 1e-12) * 1e-4
