"""embver's Spearman rho against scipy.stats.spearmanr, ties and all."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from embver.compare.structure import average_ranks, spearman


@pytest.mark.parametrize("ties", [False, True])
def test_spearman_matches_scipy(ties):
    rng = np.random.default_rng(3)
    x = rng.normal(size=5000)
    y = 0.4 * x + rng.normal(size=5000)
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_average_ranks_match_scipy():
    values = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values))
    assert average_ranks(values).tolist() == [5.0, 1.5, 5.0, 3.0, 5.0, 1.5]
