"""The UI's quick layout: PCA axes fitted on a sample, every row projected onto them."""

from __future__ import annotations

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.project.layout import pca_layout, sampled_pca_layout


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
