"""The UI's quick layout: PCA axes fitted on a sample, every row projected onto them."""

from __future__ import annotations

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.project.layout import (
    SampledAxes,
    pca_layout,
    principal_components,
    reduce_vectors,
    sample_rows,
    sampled_pca_layout,
)


def _clustered(n: int, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(8, dim))
    return (centres[rng.integers(0, 8, n)] + rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_sampled_axes_give_the_exact_pca_layout(metric):
    data = _clustered(30_000)
    quick = sampled_pca_layout(data, metric=metric, sample=3000)
    exact = pca_layout(data, metric=metric)
    assert quick.shape == (30_000, 2) and quick.dtype == np.float32
    for axis in range(2):  # the same axes (a sign may differ: see the docstring)
        assert abs(np.corrcoef(quick[:, axis], exact[:, axis])[0, 1]) > 0.99


def test_small_data_is_the_exact_pca_and_bad_values_are_refused():
    data = _clustered(500)
    np.testing.assert_array_equal(sampled_pca_layout(data, sample=1000), pca_layout(data))
    data = _clustered(5000)
    data[4321, 3] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        sampled_pca_layout(data, sample=1000)


def test_sample_rows_are_a_seeded_sorted_sample_or_every_row():
    rows = sample_rows(50_000, sample=2000, seed=3)
    assert rows.dtype == np.int64 and len(np.unique(rows)) == 2000
    assert np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < 50_000
    assert np.array_equal(rows, sample_rows(50_000, sample=2000, seed=3))
    assert not np.array_equal(rows, sample_rows(50_000, sample=2000, seed=4))
    assert np.array_equal(sample_rows(700, sample=2000), np.arange(700))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_one_gemm_projection_is_the_projection_of_the_prepared_rows(metric):
    """Oracle: normalise (cosine), centre on the sample's mean, multiply, in float64."""
    data = _clustered(20_000, dim=48)
    rows = sample_rows(len(data), sample=2000)
    axes = SampledAxes.fit(data[rows], metric=metric)
    rows64 = data.astype(np.float64)
    if metric == "cosine":
        rows64 /= np.linalg.norm(rows64, axis=1, keepdims=True)
    expected = (rows64 - axes.mean.astype(np.float64)) @ axes.axes.astype(np.float64)
    got = axes.project(data)
    assert got.shape == (20_000, 2) and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()
    # the quick layout is exactly this: axes fitted on sample_rows, every row projected
    np.testing.assert_array_equal(sampled_pca_layout(data, metric=metric, sample=2000), got)


def test_projection_takes_rows_too_large_for_float32_squares_and_refuses_inf():
    data = _clustered(5000)
    axes = SampledAxes.fit(data[sample_rows(5000, 1000)], metric="cosine")
    huge = data.copy()
    huge[17] *= 1e25  # finite, but its squared norm overflows float32
    got = axes.project(huge)
    np.testing.assert_allclose(got[17], axes.project(data[17:18])[0], rtol=1e-5, atol=1e-6)
    huge[18, 2] = np.inf
    with pytest.raises(InvalidInputError, match="NaN or inf"):
        axes.project(huge)


def test_reduction_on_sampled_axes_keeps_the_exact_components():
    """A large layout's PCA (axes of a sample, every row projected) against the exact one."""
    data = _clustered(30_000, dim=64)
    sampled = reduce_vectors(data, "euclidean", 10, sample=3000)
    exact = principal_components(data, 10)[0]
    assert sampled.shape == (30_000, 10) and sampled.dtype == np.float32
    # the 8 clusters span 7 axes of near-equal variance, which a sample may rotate among
    # themselves: what must hold is the subspace, i.e. as much of the variance kept (0.1 %)
    assert sampled.var(axis=0).sum() >= 0.999 * exact.var(axis=0).sum()
    assert sampled[:, :7].var(axis=0).sum() >= 0.999 * exact[:, :7].var(axis=0).sum()
    # no sample bigger than the data: the exact reduction itself
    small = data[:2000]
    np.testing.assert_array_equal(
        reduce_vectors(small, "euclidean", 10, sample=3000), principal_components(small, 10)[0]
    )


def test_cosine_reduction_on_sampled_axes_is_the_pca_of_the_unit_rows():
    """Without a normalised copy (scores of raw rows, scaled): the same as normalising the
    rows first and projecting them, centred, on the sample's axes (an SVD oracle)."""
    data = _clustered(12_000, dim=48) * np.random.default_rng(5).uniform(0.5, 3.0, (12_000, 1))
    reduced = reduce_vectors(data, "cosine", 6, sample=2000)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    fitted = unit[sample_rows(len(data), 2000)].astype(np.float64)
    mean = fitted.mean(axis=0)
    _, _, axes = np.linalg.svd(fitted - mean, full_matrices=False)
    oracle = (unit - mean) @ axes[:6].T
    # an SVD's signs are arbitrary: compare each component up to its sign
    signs = np.sign((oracle * reduced).sum(axis=0))
    assert reduced.dtype == np.float32 and reduced.shape == (12_000, 6)
    np.testing.assert_allclose(reduced, oracle * signs, atol=2e-5)
