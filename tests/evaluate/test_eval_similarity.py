"""STS: Spearman of similarity with gold against scipy, its bootstrap, and the pairs files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from embver.compare.stats import fisher_interval
from embver.errors import InvalidInputError
from embver.evaluate import paired_difference, read_pairs, sts


@pytest.fixture(scope="module")
def scored():
    """200 vectors and 300 pairs whose gold score follows their cosine, with noise."""
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(200, 12)).astype(np.float32)
    ids = [f"s{i}" for i in range(200)]
    a, b = rng.integers(0, 200, 300), rng.integers(0, 200, 300)
    wide = vectors.astype(np.float64)
    unit = wide / np.linalg.norm(wide, axis=1, keepdims=True)
    cosine = np.einsum("ij,ij->i", unit[a], unit[b])
    gold = cosine + rng.normal(scale=0.15, size=300)
    pairs = [(ids[i], ids[j], float(g)) for i, j, g in zip(a, b, gold, strict=True)]
    return vectors, ids, pairs, cosine


def test_sts_is_scipys_spearman_of_cosine_with_gold(scored):
    vectors, ids, pairs, cosine = scored
    found = sts(vectors, ids, pairs)
    figure = found.headline
    gold = [p[2] for p in pairs]
    assert figure.value == pytest.approx(spearmanr(figure.per_unit, gold).statistic, abs=1e-12)
    # float32 vectors: two pairs within 1e-7 of each other may swap ranks
    assert figure.value == pytest.approx(spearmanr(cosine, gold).statistic, abs=1e-5)
    assert figure.aggregate == "spearman" and figure.chance == 0.0 and figure.units == 300
    assert figure.per_unit == pytest.approx(cosine, abs=1e-6)
    assert figure.low < figure.value < figure.high
    # the bootstrap agrees with the Fieller-Hartley-Pearson approximation to within a third
    fisher_low, fisher_high = fisher_interval(figure.value, 300)
    assert (figure.high - figure.low) == pytest.approx(fisher_high - fisher_low, rel=0.33)


def test_a_noisier_version_loses_spearman_significantly(scored):
    vectors, ids, pairs, _ = scored
    noisy = vectors + np.random.default_rng(3).normal(scale=1.5, size=vectors.shape).astype(
        np.float32
    )
    clean_figure, noisy_figure = sts(vectors, ids, pairs).headline, sts(noisy, ids, pairs).headline
    difference = paired_difference(clean_figure, noisy_figure, rounds=500)
    assert difference.difference == pytest.approx(noisy_figure.value - clean_figure.value)
    assert difference.significant and difference.high < 0
    assert not paired_difference(clean_figure, clean_figure, rounds=200).significant


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pairs.tsv", "id_a\tid_b\tscore\na\tb\t0.5\nb\tc\t4\n"),
        ("pairs.csv", "a,b,0.5\nb,c,4\n"),
        (
            "pairs.jsonl",
            json.dumps({"id_a": "a", "id_b": "b", "score": 0.5})
            + "\n"
            + json.dumps({"id_a": "b", "id_b": "c", "score": 4})
            + "\n",
        ),
    ],
)
def test_pairs_files_read_to_the_same_pairs(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert read_pairs(path) == [("a", "b", 0.5), ("b", "c", 4.0)]


def test_a_pairs_line_without_a_score_is_refused(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\t0.5\nb\tc\n")
    with pytest.raises(InvalidInputError, match="pairs.tsv line 2: expected 3 fields"):
        read_pairs(path)


def test_pairs_of_unknown_ids_are_refused(scored):
    vectors, ids, pairs, _ = scored
    with pytest.raises(
        InvalidInputError, match=r"pairs name 1 unknown ids: 'nobody'; register those items"
    ):
        sts(vectors, ids, [*pairs, ("s1", "nobody", 1.0)])
