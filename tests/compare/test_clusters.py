"""Cluster agreement and the split / merged / new / vanished contingency."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from embver.compare.clusters import NOISE, compare_clusterings, permutation_null


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


def test_events_that_reseeding_alone_produces_are_left_within_the_floor():
    old = np.repeat([0, 1, 2], 60)
    new = np.array([0] * 25 + [3] * 35 + [1] * 120)  # 0 splits in two, 1 and 2 merge
    # reclustered with another seed, the old version is the same and the new one
    # puts the two halves of 0 back together but keeps 1 and 2 merged
    new_again = np.array([5] * 60 + [6] * 120)
    raw = compare_clusterings(old, new)
    assert raw.split == {0: [0, 3]} and raw.merged == {1: [1, 2]} and raw.floor is None
    result = compare_clusterings(old, new, old_again=old.copy(), new_again=new_again)
    assert result.split == {} and result.within_floor["split"] == 1
    assert result.merged == {1: [1, 2]} and result.within_floor["merged"] == 0
    assert result.floor["ari_old"] == pytest.approx(1.0)
    assert result.floor["ari_new"] == pytest.approx(adjusted_rand_score(new, new_again))
    assert result.floor["split_by_reseeding"] == 0 and result.floor["merged_by_reseeding"] == 1


def test_reproducible_clusters_use_jaccard_over_all_items():
    from embver.compare.clusters import reproducible_clusters

    labels = np.array([0] * 10 + [1] * 10 + [2] * 10)
    again = np.array([0] * 10 + [1] * 4 + [-1] * 6 + [3] * 5 + [4] * 5)
    # cluster 0: 10/10; cluster 1: 4/10 (noise counts in the union); cluster 2: 5/10
    assert reproducible_clusters(labels, again) == {0, 2}


def test_chance_agreement_is_measured_by_permutation():
    rng = np.random.default_rng(0)
    old = rng.integers(0, 3, size=300)
    result = compare_clusterings(old, rng.integers(0, 3, size=300))
    # two unrelated labelings sit at their chance level, which is not a constant
    assert abs(result.ari - result.chance_ari) < 0.02 and abs(result.chance_ari) < 0.01
    assert 0 < result.chance_ari_p95 < 0.03 and result.ari < result.chance_ari_p95 + 0.01


def blobs(
    n: int = 360, clusters: int = 6, seed: int = 0, spread: float = 6.0, widths: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """n points (16-d) around ``clusters`` centres, of equal or of uneven widths; and labels."""
    rng = np.random.default_rng(seed)
    centres = spread * rng.normal(size=(clusters, 16))
    labels = rng.integers(0, clusters, size=n)
    width = rng.uniform(0.5, 1.5, size=clusters) if widths else np.ones(clusters)
    return centres[labels] + width[labels, None] * rng.normal(size=(n, 16)), labels


def test_an_exact_rotation_changes_no_cluster_beyond_the_floor():
    from scipy.stats import ortho_group

    from embver.compare.comparison import compare_arrays

    # touching clusters of uneven width: a rotation with a reseed moves a few items (the
    # floor's ARI is below 1: 0.988 here), which a reseed alone does not; the floor must
    # include it, and the rotated version must not be reported beyond it
    x, _ = blobs(400, 8, spread=1.2, widths=True)
    y = x @ ortho_group.rvs(16, random_state=3)
    report = compare_arrays(x, y, k=10, migration=False)
    c = report.clusters
    assert c["floor"]["ari"] < 1.0
    assert f"agreement over {c['clustered_in_both']} of 400 items" in report.to_text()
    assert not (c["split"] or c["merged"] or c["new"] or c["vanished"])
    assert not c["floor"]["beyond"] and c["ari"] >= c["floor"]["ari"]
    assert c["ari"] > c["chance_ari_p95"] > 0 and c["n_items"] == 400
    # the agreement covers the items clustered in both; the noise shares are beside it
    assert c["clustered_in_both"] >= (1 - c["noise_old"] - c["noise_new"]) * 400


def test_two_clusters_merged_by_construction_are_reported_beyond_the_floor():
    from embver.compare.comparison import compare_arrays

    x, labels = blobs()
    y = x.copy()
    centre_0 = x[labels == 0].mean(axis=0)
    y[labels == 1] += centre_0 - x[labels == 1].mean(axis=0)  # cluster 1 moves onto cluster 0
    report = compare_arrays(x, y, k=10, migration=False)
    c = report.clusters
    assert len(c["merged"]) == 1 and len(next(iter(c["merged"].values()))) == 2
    assert c["n_clusters_old"] == c["n_clusters_new"] + 1
    text = report.to_text()
    assert "beyond the floor: split 0   merged 1" in text and "noise" in text


@pytest.mark.parametrize("sizes", [(25, 30), (2, 3), (1, 4)])
def test_the_permutation_null_is_scikit_learns_scores_of_the_same_shuffles(sizes):
    # the null reuses what a shuffle cannot change (entropies, expected mutual information);
    # its mean and percentile must be those of scikit-learn's own scores of the same shuffles
    rng = np.random.default_rng(3)
    old = rng.integers(0, sizes[0], 900)
    new = rng.integers(0, sizes[1], 900)
    old[::17] = NOISE
    null = permutation_null(old, new, permutations=40, seed=5)
    both = (old != NOISE) & (new != NOISE)
    a, b = old[both], new[both]
    shuffle = np.random.default_rng(5)
    aris, amis = [], []
    for _ in range(40):
        shuffled = shuffle.permutation(b)
        aris.append(adjusted_rand_score(a, shuffled))
        amis.append(adjusted_mutual_info_score(a, shuffled))
    assert null == {
        "ari": float(np.mean(aris)),
        "ari_p95": float(np.percentile(aris, 95)),
        "ami": float(np.mean(amis)),
        "ami_p95": float(np.percentile(amis, 95)),
    }


def test_the_four_clusterings_finish_in_the_background_as_if_run_in_turn():
    from threadpoolctl import threadpool_limits

    from embver.compare.clusters import cluster_again, start_four
    from embver.project.cluster import cluster_vectors

    x, _ = blobs(400, 8, spread=1.2, widths=True)
    y = x + 0.3 * np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    running = start_four(x, y, seed=3)
    # the caller's own BLAS work beside them, under another thread limit (as migration does)
    with threadpool_limits(limits=1, user_api="blas"):
        product = float(np.sum(x.astype(np.float64).T @ y))
    labels = running.result()
    in_turn = (
        cluster_vectors(x, seed=3),
        cluster_vectors(y, seed=3),
        cluster_again(x, seed=3),
        cluster_again(y, seed=3),
    )
    for background, alone in zip(labels, in_turn, strict=True):
        assert background.dtype == np.int64 and np.array_equal(background, alone)
    assert len(set(labels[0].tolist()) - {NOISE}) >= 2  # the clusterings found clusters
    assert np.isfinite(product)


def test_cancel_drops_the_background_clusterings_not_yet_started():
    from embver.compare.clusters import start_four

    x, _ = blobs(400, 8)
    running = start_four(x, x.copy())
    jobs = running._jobs
    deadline = time.monotonic() + 60
    while not all(job.running() or job.done() for job in jobs[:2]):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    running.cancel()  # two run (two threads, each ~0.2 s of work), two wait: those are dropped
    assert [job.cancelled() for job in jobs] == [False, False, True, True]
    assert all(job.result(timeout=120).shape == (400,) for job in jobs[:2])


def test_a_step_failing_beside_the_background_clusterings_fails_the_compare(monkeypatch):
    import embver.compare.comparison as comparison

    def fails(*args, **kwargs):  # a fault injected into the step after structure
        raise RuntimeError("same_space failed")

    monkeypatch.setattr(comparison, "_same_space", fails)
    x, _ = blobs(400, 8)
    with pytest.raises(RuntimeError, match="same_space failed"):
        comparison.compare_arrays(x, x.copy(), k=10, migration=False)
