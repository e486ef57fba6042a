"""Drift: MMD against a direct implementation, permutation p-values, PSI closed form."""

from __future__ import annotations

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.project.drift import (
    centroid_shift,
    measure_drift,
    mmd2_unbiased,
    population_stability,
    rbf_kernel,
)


def _mmd2_loops(x, y, bandwidth):
    k = lambda a, b: np.exp(-((a - b) ** 2).sum() / (2 * bandwidth**2))  # noqa: E731
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_unbiased_mmd_matches_direct_sums():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 3)), rng.standard_normal((9, 3)) + 0.5
    kernel = rbf_kernel(np.concatenate([x, y]), bandwidth=1.3)
    assert mmd2_unbiased(kernel, 12) == pytest.approx(_mmd2_loops(x, y, 1.3), rel=1e-10)


def test_same_distribution_is_not_flagged(bbc):
    rows = np.random.default_rng(0).permutation(len(bbc.ids))
    report = measure_drift(bbc.vectors[rows[:150]], bbc.vectors[rows[150:]], permutations=200)
    assert report.mmd_p_value > 0.05
    assert report.centroid_shift < 0.3


def test_a_new_topic_is_flagged(bbc):
    topic = np.asarray(bbc.labels)
    reference = bbc.vectors[topic != "topic-4"][:120]
    current = bbc.vectors[topic == "topic-4"]
    report = measure_drift(reference, current, permutations=200)
    assert report.mmd_p_value < 0.01
    assert report.centroid_shift > 0.3


def test_psi_closed_form():
    reference = np.array([0] * 50 + [1] * 50)
    current = np.array([0] * 80 + [1] * 20)
    psi, shares = population_stability(reference, current)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi == pytest.approx(expected)
    assert shares["0"] == {"reference": 0.5, "current": 0.8}


def test_psi_levels_in_report():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 4))
    same = measure_drift(
        data[:100], data[100:], np.zeros(100, int), np.zeros(100, int), "euclidean"
    )
    assert same.psi == pytest.approx(0.0) and same.psi_level == "stable"
    moved = measure_drift(
        data[:100],
        data[100:],
        np.array([0] * 90 + [1] * 10),
        np.array([0] * 30 + [1] * 70),
        metric="euclidean",
        permutations=20,
    )
    assert moved.psi_level == "significant"


def test_centroid_shift_closed_form():
    reference = np.array([[1.0, 0.0], [-1.0, 0.0]])
    current = reference + np.array([0.0, 2.0])
    distance, shift, _ = centroid_shift(reference, current)
    assert distance == pytest.approx(2.0) and shift == pytest.approx(2.0)


def test_a_single_item_is_refused():
    with pytest.raises(InvalidInputError, match="at least 2|>= 2"):
        measure_drift(np.ones((1, 3)), np.ones((5, 3)))
