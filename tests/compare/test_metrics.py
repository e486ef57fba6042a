"""Every metric against an independent implementation or a closed-form case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.preprocessing import normalize

from embver.compare.neighbourhood import chance_overlap, overlap_scores
from embver.compare.structure import (
    linear_cka,
    pairwise_spearman,
    procrustes_distance,
)
from embver.compare.trust import continuity, trustworthiness
from embver.neighbors import knn


@pytest.fixture
def kornblith():
    """The example of the google-research representation-similarity notebook."""
    np.random.seed(1337)
    x = np.random.randn(100, 10)
    y = np.random.randn(100, 10) + x
    return x, y


def rotated_scaled(x: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """x padded to ``dim`` columns, rotated, scaled by 3.5 and shifted."""
    padded = np.hstack([x, np.zeros((x.shape[0], dim - x.shape[1]))])
    return 3.5 * padded @ ortho_group.rvs(dim, random_state=seed) + 7.0


def test_linear_cka_matches_the_notebook(kornblith):
    x, y = kornblith
    assert linear_cka(x, y) == pytest.approx(0.55761, abs=5e-6)
    assert linear_cka(x, y, debiased=True) == pytest.approx(0.51346, abs=5e-6)


def test_cka_streams_over_row_blocks(kornblith):
    from embver.compare.structure import centred_moments, linear_cka_from_moments

    x, y = kornblith
    for debiased in (False, True):
        whole = linear_cka_from_moments(centred_moments(x, y, block=1000), debiased=debiased)
        blocks = linear_cka_from_moments(centred_moments(x, y, block=7), debiased=debiased)
        assert blocks == pytest.approx(whole, abs=1e-12)


def test_rotated_scaled_copy_is_identical_in_every_figure():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 12))
    y = rotated_scaled(x, 20)  # a different dimension on purpose
    assert linear_cka(x, y) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, y, debiased=True) == pytest.approx(1.0, abs=1e-9)
    assert procrustes_distance(x, y) == pytest.approx(0.0, abs=1e-5)
    # neighbour sets are invariant under rotation + scale + shift for the L2 metric
    old = knn(x, 10, metric="l2")
    new = knn(y, 10, metric="l2")
    overlap, jaccard = overlap_scores(old, new, 10)
    assert overlap.min() == 1.0 and jaccard.min() == 1.0


def test_independent_gaussians_sit_at_chance():
    rng = np.random.default_rng(2)
    n, k = 2000, 10
    x = rng.normal(size=(n, 32))
    y = rng.normal(size=(n, 32))
    assert abs(linear_cka(x, y, debiased=True)) < 0.01
    overlap, _ = overlap_scores(knn(x, k), knn(y, k), k)
    chance = chance_overlap(k, n)
    # mean of n per-item overlaps; its standard error is ~sqrt(chance/k/n) ≈ 5e-4
    assert abs(overlap.mean() - chance) < 0.003
    rho, _ = pairwise_spearman(x, y, pairs=20_000)
    assert abs(rho) < 0.03


def brute_force_neighbours(x: np.ndarray, k: int, metric: str) -> np.ndarray:
    if metric == "cosine":
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        distance = -(unit @ unit.T)
    elif metric == "dot":
        distance = -(x @ x.T)
    else:
        distance = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    return np.argsort(distance, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_overlap_equals_brute_force_numpy(metric):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 16))
    y = x + 0.7 * rng.normal(size=x.shape)
    k = 15
    brute_x = brute_force_neighbours(x, k, metric)
    brute_y = brute_force_neighbours(y, k, metric)
    assert np.array_equal(knn(x, k, metric=metric), brute_x)
    shared = np.array([len(set(a) & set(b)) for a, b in zip(brute_x, brute_y, strict=True)])
    overlap, jaccard = overlap_scores(knn(x, k, metric=metric), knn(y, k, metric=metric), k)
    np.testing.assert_allclose(overlap, shared / k, rtol=0, atol=1e-12)
    np.testing.assert_allclose(jaccard, shared / (2 * k - shared), rtol=0, atol=1e-12)


def test_sampled_queries_get_exact_neighbours_against_all_items():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 8))
    queries = np.array([3, 99, 250, 499])
    full = knn(x, 12, metric="l2")
    assert np.array_equal(knn(x, 12, query_ids=queries, metric="l2"), full[queries])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_trustworthiness_equals_scikit_learn(metric):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(350, 20))
    y = x[:, :6] + 0.4 * rng.normal(size=(350, 6))
    # scikit-learn always finds the embedded neighbours by Euclidean distance
    embedded = normalize(y) if metric == "cosine" else y
    for k in (5, 12):
        expected = sklearn_trustworthiness(x, embedded, n_neighbors=k, metric=metric)
        ours = trustworthiness(x, y, k=k, metric_x=metric, metric_y=metric)
        assert ours == pytest.approx(expected, abs=1e-9)
    expected_continuity = sklearn_trustworthiness(y, x, n_neighbors=7)
    assert continuity(x, y, k=7) == pytest.approx(expected_continuity, abs=1e-9)


def test_trustworthiness_ranks_tied_distances_as_a_stable_sort():
    # On a grid many distances tie; the rank of a tied neighbour is its place in a stable
    # argsort of the row (the definition, computed here directly), not an arbitrary order.
    rng = np.random.default_rng(11)
    x = rng.integers(0, 3, size=(120, 3)).astype(np.float64)
    y = x[:, :2] + 1e-3 * rng.normal(size=(120, 2))
    k, n = 5, 120
    dist_x = np.linalg.norm(x[:, None] - x[None], axis=2)
    dist_y = np.linalg.norm(y[:, None] - y[None], axis=2)
    np.fill_diagonal(dist_x, np.inf)
    np.fill_diagonal(dist_y, np.inf)
    ranks = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        ranks[i, np.argsort(dist_x[i], kind="stable")] = np.arange(1, n + 1)
    embedded = np.argsort(dist_y, axis=1, kind="stable")[:, :k]
    penalty = np.maximum(np.take_along_axis(ranks, embedded, axis=1) - k, 0).sum()
    expected = 1.0 - 2.0 * penalty / (n * k * (2.0 * n - 3.0 * k - 1.0))
    assert trustworthiness(x, y, k=k) == pytest.approx(expected, abs=1e-12)
    assert penalty > 0


def test_pairwise_spearman_of_a_monotone_change_is_one():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 10))
    rho, pairs = pairwise_spearman(x, 2.0 * x, pairs=5000)
    assert rho == pytest.approx(1.0, abs=1e-12) and pairs == 5000


def test_trustworthiness_of_random_neighbours_sits_at_its_chance_level():
    from embver.compare.trust import chance_trustworthiness

    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(800, 10)), rng.normal(size=(800, 10))
    assert trustworthiness(x, y, k=10) == pytest.approx(chance_trustworthiness(800, 10), abs=0.01)


def test_float32_input_gives_the_float64_cka_closely(kornblith):
    x, y = kornblith
    for debiased in (False, True):
        low = linear_cka(x.astype(np.float32), y.astype(np.float32), debiased=debiased)
        assert low == pytest.approx(linear_cka(x, y, debiased=debiased), abs=1e-5)


def test_pairwise_spearman_uses_every_distinct_pair_when_they_are_fewer_than_asked():
    from scipy.stats import spearmanr

    from embver.compare.structure import pair_similarities

    rng = np.random.default_rng(8)
    n = 30
    x, y = rng.normal(size=(n, 6)), rng.normal(size=(n, 6))
    rho, pairs = pairwise_spearman(x, y, pairs=100_000)
    assert pairs == n * (n - 1) // 2
    i, j = np.triu_indices(n, k=1)
    expected = spearmanr(pair_similarities(x, i, j, "cosine"), pair_similarities(y, i, j, "cosine"))
    assert rho == expected.statistic  # exact: the same pairs, the same ranks


def test_sampled_pairs_are_distinct_and_cover_distinct_items():
    from embver.compare.structure import sample_pairs

    rng = np.random.default_rng(9)
    n, count = 400, 50_000  # 79,800 distinct pairs exist; with replacement ~13,000 repeat
    i, j = sample_pairs(n, count, rng)
    assert i.size == count and np.all(i < j) and np.all(j < n)
    assert np.unique(i * n + j).size == count
    everything = sample_pairs(n, n * (n - 1) // 2, rng)
    assert np.unique(everything[0] * n + everything[1]).size == n * (n - 1) // 2


def test_spearman_reports_the_true_pair_count_and_its_interval():
    from embver.compare.comparison import compare_arrays

    rng = np.random.default_rng(10)
    x = rng.normal(size=(60, 8))
    report = compare_arrays(x, x + 0.3 * rng.normal(size=x.shape), k=5, clusters=False,
                            migration=False)  # fmt: skip
    spearman = report.structure["spearman"]
    assert spearman["pairs"] == 60 * 59 // 2 and spearman["exhaustive"] is True
    from embver.compare.stats import fisher_interval

    assert spearman["ci"] == list(fisher_interval(spearman["rho"], 60 * 59 // 2))
    assert abs(spearman["chance"]) < 0.1 and "over 1770 pairs (all)" in report.to_text()


@pytest.mark.parametrize("metrics", [("cosine", "cosine"), ("l2", "dot"), ("dot", "l2")])
def test_trust_and_continuity_in_one_pass_are_the_two_measures_apart(metrics):
    from embver.compare.trust import trust_and_continuity

    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 12)).astype(np.float32)  # more rows than one block (256)
    y = (x @ rng.normal(size=(12, 6)) + 0.5 * rng.normal(size=(600, 6))).astype(np.float32)
    mx, my = metrics
    both = trust_and_continuity(x, y, k=7, metric_x=mx, metric_y=my)
    # continuity: trustworthiness with the roles swapped, computed on its own
    apart = (
        trustworthiness(x, y, k=7, metric_x=mx, metric_y=my),
        trustworthiness(y, x, k=7, metric_x=my, metric_y=mx),
    )
    assert both == apart and both[0] != both[1]


def test_continuity_is_scikit_learns_trustworthiness_with_the_roles_swapped():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(500, 10)).astype(np.float32)
    y = (x[:, :4] + 0.3 * rng.normal(size=(500, 4))).astype(np.float32)
    expected = sklearn_trustworthiness(y, x, n_neighbors=6)
    assert continuity(x, y, k=6) == pytest.approx(expected, abs=1e-12)
