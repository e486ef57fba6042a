"""embver's Spearman rho against scipy.stats.spearmanr, ties and all."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from embver.compare.structure import (
    average_ranks,
    pairwise_spearman,
    spearman,
    spearman_and_chance,
    spearman_chance,
)


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


@pytest.mark.parametrize(("metric_x", "metric_y"), [("cosine", "cosine"), ("l2", "dot")])
@pytest.mark.parametrize("pairs", [500, 10_000])
def test_spearman_and_chance_at_once_are_the_two_figures_bit_for_bit(metric_x, metric_y, pairs):
    """The structure step's one pass: rho and its permutation null as computed apart, with
    sampled pairs (500 of 4 950) and every pair (10 000 budget)."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(100, 12))
    y = x @ rng.normal(size=(12, 9)) + rng.normal(size=(100, 9))
    args = {"pairs": pairs, "metric_x": metric_x, "metric_y": metric_y, "seed": 4}
    rho, used, chance = spearman_and_chance(x, y, **args)
    assert (rho, used) == pairwise_spearman(x, y, **args)
    assert chance == spearman_chance(x, y, **args)
    assert used == min(pairs, 4950) and rho > 0.3 and abs(chance) < 0.2
