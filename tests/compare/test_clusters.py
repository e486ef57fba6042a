"""Cluster agreement and the split / merged / new / vanished contingency."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from embver.compare.clusters import compare_clusterings


def test_relabelled_clusters_agree_perfectly():
    old = np.repeat([0, 1, 2], 50)
    new = np.repeat([7, 3, 5], 50)
    result = compare_clusterings(old, new)
    assert result.ari == pytest.approx(1.0) and result.ami == pytest.approx(1.0)
    assert not (result.split or result.merged or result.new or result.vanished)


def test_split_merge_new_and_vanished_are_found():
    old = [0] * 40 + [1] * 30 + [2] * 30 + [3] * 50
    new = [10] * 20 + [11] * 20 + [12] * 60  # 0 splits in two; 1 and 2 merge
    new += [13 + i % 10 for i in range(50)]  # 3 scatters, 10 % to each of ten clusters
    for small in range(4, 14):  # ten small clusters each give one item to a new cluster 23
        old += [small] * 10
        new += [23] + [26 + small] * 9
    old, new = np.array(old), np.array(new)
    result = compare_clusterings(old, new)
    assert result.split == {0: [10, 11]}
    assert result.merged == {12: [1, 2]}
    assert result.vanished == [3]
    assert result.new == [23]
    assert result.ari == pytest.approx(adjusted_rand_score(old, new))


def test_noise_is_left_out_of_the_agreement():
    old = np.array([0] * 30 + [1] * 30 + [-1] * 10)
    new = np.array([4] * 30 + [5] * 30 + [4] * 10)
    result = compare_clusterings(old, new)
    assert result.ari == pytest.approx(1.0)
    assert result.clustered_in_both == 60 and result.noise_old == pytest.approx(10 / 70)


def test_contingency_counts_items():
    old = np.array([0, 0, 1, 1, 1])
    new = np.array([0, 1, 1, 1, 1])
    assert compare_clusterings(old, new).contingency == [[1, 1], [0, 3]]
