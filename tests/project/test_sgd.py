"""The parallel, seeded UMAP optimiser: thread count never changes the result, and
its layouts are as trustworthy as umap-learn's own on the same graph."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from embver.project.layout import umap_layout


@pytest.fixture
def threads():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


def test_layout_is_identical_on_one_thread_and_on_all(bbc, threads):
    numba.set_num_threads(1)
    one = umap_layout(bbc.vectors, seed=5)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    many = umap_layout(bbc.vectors, seed=5)
    np.testing.assert_array_equal(one, many)


def test_another_seed_gives_another_layout(bbc):
    assert not np.array_equal(umap_layout(bbc.vectors, seed=1), umap_layout(bbc.vectors, seed=2))


def test_as_trustworthy_as_umap_learn(bbc):
    """umap-learn's own optimiser, seeded, with its defaults: the independent reference."""
    import umap

    ours = umap_layout(bbc.vectors, seed=0)
    theirs = umap.UMAP(metric="cosine", random_state=0, n_jobs=1).fit_transform(bbc.vectors)
    t_ours = trustworthiness(bbc.vectors, ours, n_neighbors=10, metric="cosine")
    t_theirs = trustworthiness(bbc.vectors, theirs, n_neighbors=10, metric="cosine")
    assert t_ours >= t_theirs - 0.01
