"""Label tasks against scikit-learn and hand loops, on synthetic and real (BBC) vectors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from embver.errors import InvalidInputError
from embver.evaluate import (
    cluster_agreement,
    knn_accuracy,
    label_purity,
    linear_probe,
    paired_difference,
    per_label,
)
from embver.evaluate.labels import purity_chance, training_neighbours, vote
from embver.neighbors import knn, normalize_rows

SKLEARN_METRIC = {"cosine": "cosine", "l2": "euclidean"}


@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize(("k", "folds", "seed"), [(10, 5, 0), (7, 3, 11)])
def test_knn_accuracy_is_sklearns_cross_validated_score(clustered, metric, k, folds, seed):
    vectors, ids, labels = clustered
    found = knn_accuracy(vectors, ids, labels, k=k, folds=folds, metric=metric, seed=seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = KNeighborsClassifier(
        k, weights="uniform", algorithm="brute", metric=SKLEARN_METRIC[metric]
    )
    per_fold = cross_val_score(model, vectors, labels, cv=cv)
    predicted = cross_val_predict(model, vectors, labels, cv=cv)
    correct = found.figure("knn-accuracy").per_unit
    # the figure pools the items; cross_val_score averages folds, which differ in size here
    folds_of = [test for _, test in cv.split(vectors, labels)]
    assert [correct[test].mean() for test in folds_of] == pytest.approx(per_fold, abs=1e-12)
    assert found.figure("knn-accuracy").value == pytest.approx(
        np.mean(predicted == np.array(labels)), abs=1e-12
    )
    assert found.figure("macro-f1").value == pytest.approx(
        f1_score(labels, predicted, average="macro"), abs=1e-12
    )
    assert (correct == (predicted == np.array(labels))).all()


def test_a_tied_vote_goes_to_the_first_label_as_in_sklearn():
    # one query, two neighbours: the nearer is class "b", the farther class "a"
    train = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    query = np.array([[1.0, 0.3]], dtype=np.float32)
    model = KNeighborsClassifier(2, algorithm="brute", metric="cosine").fit(train, ["b", "a"])
    assert model.predict(query)[0] == "a"
    assert vote(np.array([1, 0]), np.array([[0, 1]]), 2).tolist() == [0]


def test_rows_short_of_training_neighbours_are_searched_again_exactly(clustered):
    vectors, _, labels = clustered
    prepared = normalize_rows(vectors)
    # folds that follow the classes put most of an item's neighbours in its own fold
    fold = np.array([int(label[-1]) % 3 for label in labels])
    found = training_neighbours(prepared, fold, 10, "cosine")
    for f in range(3):
        rows, train = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        exact = train[knn(prepared[train], 10, queries=prepared[rows], prepared=True)]
        assert (found[rows] == exact).all()


def test_label_purity_is_the_hand_counted_share(clustered):
    vectors, ids, labels = clustered
    found = label_purity(vectors, ids, labels, k=8)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit.astype(np.float64) @ unit.T.astype(np.float64)
    shares = []
    for i in range(len(ids)):
        order = [j for j in np.argsort(-similarity[i], kind="stable") if j != i][:8]
        shares.append(sum(labels[j] == labels[i] for j in order) / 8)
    assert found.headline.value == pytest.approx(np.mean(shares), abs=1e-12)
    assert found.headline.low < found.headline.value < found.headline.high


def test_purity_chance_is_the_mean_purity_of_shuffled_labels(clustered):
    vectors, ids, labels = clustered
    counts = np.unique(labels, return_counts=True)[1]
    rng = np.random.default_rng(3)
    shuffled = [
        label_purity(vectors, ids, list(rng.permutation(labels)), k=10).headline.value
        for _ in range(40)
    ]
    assert purity_chance(counts) == pytest.approx(np.mean(shuffled), abs=0.005)
    n = counts.sum()
    assert purity_chance(counts) == pytest.approx(sum(c / n * (c - 1) / (n - 1) for c in counts))


def test_cluster_agreement_is_sklearns_nmi_and_ari_of_the_same_clusters(clustered):
    vectors, ids, labels = clustered
    found = cluster_agreement(vectors, ids, labels, seed=2)
    clusters = KMeans(n_clusters=5, n_init=10, random_state=2).fit_predict(normalize_rows(vectors))
    assert found.figure("nmi").value == pytest.approx(
        normalized_mutual_info_score(labels, clusters), abs=1e-12
    )
    assert found.figure("ari").value == pytest.approx(
        adjusted_rand_score(labels, clusters), abs=1e-12
    )
    assert found.figure("ari").chance == 0.0
    assert 0.0 < found.figure("nmi").chance < 0.05 < found.figure("nmi").low


def test_hdbscan_clusters_are_scored_the_same_way(clustered):
    vectors, ids, labels = clustered
    found = cluster_agreement(vectors, ids, labels, method="hdbscan")
    clusters = HDBSCAN(copy=True).fit_predict(normalize_rows(vectors))
    assert found.figure("ari").value == pytest.approx(
        adjusted_rand_score(labels, clusters), abs=1e-12
    )


def test_linear_probe_is_the_cross_validated_logistic_regression(clustered):
    from sklearn.linear_model import LogisticRegression

    vectors, ids, labels = clustered
    found = linear_probe(vectors, ids, labels, folds=4, seed=5)
    cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=5)
    predicted = cross_val_predict(
        LogisticRegression(max_iter=1000), normalize_rows(vectors), labels, cv=cv
    )
    assert found.headline.value == pytest.approx(np.mean(predicted == np.array(labels)), abs=1e-12)
    assert found.headline.chance == pytest.approx(160 / 500)


def test_per_label_breaks_purity_and_kept_neighbours_down_by_label(clustered):
    vectors, ids, labels = clustered
    noisy = vectors + np.random.default_rng(1).normal(scale=2.0, size=vectors.shape).astype(
        np.float32
    )
    same = per_label(vectors, vectors, ids, labels, k=5)
    assert all(row.change == 0.0 and row.overlap == 1.0 for row in same)
    rows = per_label(vectors, noisy, ids, labels, k=5)
    assert [row.change for row in rows] == sorted(row.change for row in rows)
    assert sum(row.count for row in rows) == 500
    near_a, near_b = knn(vectors, 5), knn(noisy, 5)
    codes = np.array(labels)
    for row in rows:
        mask = codes == row.label
        hand_b = np.mean([(codes[near_b[i]] == row.label).mean() for i in np.flatnonzero(mask)])
        kept = np.mean([len(set(near_a[i]) & set(near_b[i])) / 5 for i in np.flatnonzero(mask)])
        assert row.purity_b == pytest.approx(hand_b)
        assert row.overlap == pytest.approx(kept)
    assert all(row.change < 0 for row in rows)


def test_bbc_topics_are_found_far_above_chance(bbc):
    found = knn_accuracy(bbc.vectors, bbc.ids, bbc.labels)
    accuracy = found.figure("knn-accuracy")
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    model = KNeighborsClassifier(10, algorithm="brute", metric="cosine")
    # five folds of 60: the pooled accuracy is cross_val_score's mean
    expected = cross_val_score(model, bbc.vectors, bbc.labels, cv=cv).mean()
    assert accuracy.value == pytest.approx(expected, abs=1e-12)
    assert 0.18 < accuracy.chance < 0.22  # five balanced topics
    assert accuracy.low > accuracy.chance + 0.5
    assert found.figure("macro-f1").low > 0.7


def test_bbc_with_shuffled_topics_scores_at_chance(bbc):
    covered = 0
    for seed in range(5):
        shuffled = list(np.random.default_rng(seed).permutation(bbc.labels))
        accuracy = knn_accuracy(bbc.vectors, bbc.ids, shuffled, seed=seed).figure("knn-accuracy")
        covered += accuracy.low <= accuracy.chance <= accuracy.high
    assert covered >= 4  # a 95 % interval misses now and then, not often


def test_bbc_against_heavy_noise_is_a_significant_loss(bbc, perturbed):
    clean = knn_accuracy(bbc.vectors, bbc.ids, bbc.labels).figure("knn-accuracy")
    noisy = knn_accuracy(perturbed(bbc.vectors, 2.0), bbc.ids, bbc.labels).figure("knn-accuracy")
    difference = paired_difference(clean, noisy)
    assert difference.significant and difference.difference < 0 and difference.high < 0
    assert difference.sentence("clean", "noisy").startswith("clean is better on knn-accuracy (-0.")
    same = paired_difference(clean, clean)
    assert not same.significant and same.difference == 0.0
    assert same.sentence().startswith("no significant difference on knn-accuracy")


def test_bbc_per_label_macro_f1_difference_is_significant(bbc, perturbed):
    clean = knn_accuracy(bbc.vectors, bbc.ids, bbc.labels).figure("macro-f1")
    noisy = knn_accuracy(perturbed(bbc.vectors, 2.0), bbc.ids, bbc.labels).figure("macro-f1")
    difference = paired_difference(clean, noisy, rounds=500)
    assert difference.difference == pytest.approx(noisy.value - clean.value)
    assert difference.significant and difference.high < 0


def test_folds_beyond_the_smallest_class_are_refused(clustered):
    vectors, ids, labels = clustered
    labels = list(labels)
    rare = [i for i, label in enumerate(labels) if label == "class-4"][3:]
    for i in rare:
        labels[i] = "class-3"
    with pytest.raises(
        InvalidInputError,
        match=r"folds=5 exceeds the smallest class \('class-4' has 3 items\); use folds <= 3",
    ):
        knn_accuracy(vectors, ids, labels)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda v, i, y: knn_accuracy(v, i, y, k=0), "k=0 must be a positive integer"),
        (
            lambda v, i, y: knn_accuracy(v, i, y, folds=1),
            "folds=1 must be an integer of at least 2",
        ),
        (lambda v, i, y: label_purity(v, i, y[:-1]), "labels has 499 entries for 500 vectors"),
        (lambda v, i, y: label_purity(v, i[:-1] + i[:1], y), "ids repeats 'item-0000'"),
        (lambda v, i, y: label_purity(v, i, ["x"] * 500), "labels name a single class"),
        (lambda v, i, y: label_purity(v, i, y, k=500), "k=500 exceeds the 499 other items"),
        (lambda v, i, y: cluster_agreement(v, i, y, method="dbscan"), "method='dbscan' is unknown"),
        (
            lambda v, i, y: knn_accuracy(v, i, y, metric="hamming"),
            "metric='hamming' is not supported",
        ),
        (
            lambda v, i, y: per_label(v, v[:-1], i, y),
            "vectors_a has 500 rows but vectors_b has 499",
        ),
    ],
)
def test_bad_inputs_are_refused_with_one_line(clustered, call, message):
    vectors, ids, labels = clustered
    with pytest.raises(InvalidInputError, match=message) as raised:
        call(vectors, list(ids), list(labels))
    assert "\n" not in str(raised.value)
