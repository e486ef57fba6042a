"""Clusters: purity on labelled real text, c-TF-IDF terms and summaries on closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest

from embver.project.cluster import (
    class_tfidf_terms,
    cluster_names,
    cluster_purity,
    cluster_vectors,
    summarize_clusters,
)


def test_clusters_of_real_news_follow_topics(bbc):
    clusters = cluster_vectors(bbc.vectors, seed=0)
    assert clusters.dtype == np.int32 and clusters.shape == (len(bbc.ids),)
    assert 3 <= clusters.max() + 1 <= 12
    assert (clusters >= 0).mean() >= 0.7
    assert cluster_purity(clusters, bbc.labels) >= 0.9


@pytest.mark.parametrize("seed", [1, 2])
def test_purity_holds_across_seeds(bbc, seed):
    clusters = cluster_vectors(bbc.vectors, seed=seed)
    assert clusters.max() + 1 >= 4
    assert cluster_purity(clusters, bbc.labels) >= 0.9


def test_clustering_is_reproducible(bbc):
    from sklearn.metrics import adjusted_rand_score

    # the layout is bit-for-bit reproducible; fast_hdbscan's parallel tree build can
    # still flip the odd boundary point between runs, so agreement is asserted, not identity
    first, second = cluster_vectors(bbc.vectors, seed=1), cluster_vectors(bbc.vectors, seed=1)
    assert adjusted_rand_score(first, second) >= 0.98


def test_clusters_are_numbered_largest_first(bbc):
    clusters = cluster_vectors(bbc.vectors, seed=0)
    sizes = np.bincount(clusters[clusters >= 0])
    assert list(sizes) == sorted(sizes, reverse=True)


def test_summaries_of_real_news(bbc):
    clusters = cluster_vectors(bbc.vectors, seed=0)
    summaries = summarize_clusters(
        clusters, bbc.vectors, bbc.ids, texts=bbc.texts, labels=bbc.labels
    )
    assert len(summaries) == clusters.max() + 1
    for s in summaries:
        members = [bbc.ids[i] for i in np.flatnonzero(clusters == s.cluster)]
        assert s.size == len(members)
        assert set(s.representatives) <= set(members) and len(s.representatives) == 3
        assert 0 < s.purity <= 1 and s.majority_label.startswith("topic-")
        assert len(s.top_terms) == 8


def test_class_tfidf_picks_the_words_that_set_a_cluster_apart():
    texts = [
        "apple banana shared",
        "banana apple shared",
        "cherry grape shared",
        "grape cherry shared",
    ]
    terms = class_tfidf_terms(np.array([0, 0, 1, 1]), texts, n_terms=2)
    assert set(terms[0]) == {"apple", "banana"}
    assert set(terms[1]) == {"cherry", "grape"}


def test_purity_closed_form():
    clusters = np.array([0, 0, 0, 1, 1, -1])
    labels = ["a", "a", "b", "b", "b", "a"]
    assert cluster_purity(clusters, labels) == (2 + 2) / 5


def test_too_few_items_are_all_noise():
    assert (cluster_vectors(np.eye(12, dtype=np.float32)) == -1).all()


def test_cluster_names_are_the_summaries_top_terms_else_label_else_number():
    """The UI's legend names and the report's come from one function (embver ui, report)."""
    clusters = np.array([0, 0, 1, 1, 2, 2, -1])
    texts = ["river boat", "boat fish river", "oven bread", "bread flour oven", None, None, "x"]
    labels = ["water", "water", "food", "food", "misc", "misc", None]
    vectors = np.eye(7, dtype=np.float32)
    summaries = summarize_clusters(clusters, vectors, [str(i) for i in range(7)], texts, labels)
    names = cluster_names(clusters, texts, labels)
    for s in summaries[:2]:
        assert names[s.cluster] == f"{s.cluster}: " + ", ".join(s.top_terms[:3])
    assert names[2] == "2: misc"  # no words of its own: the majority label
    assert names[-1] == "noise"
    assert cluster_names(clusters)[1] == "cluster 1"  # neither texts nor labels
