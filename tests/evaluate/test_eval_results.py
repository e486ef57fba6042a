"""Figures and paired differences: statistics, sentences, JSON, and what cannot be paired."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from embver.errors import InvalidInputError
from embver.evaluate import label_purity, paired_difference
from embver.evaluate.results import macro_f1, make_figure


def test_macro_f1_is_sklearns_including_classes_never_predicted():
    rng = np.random.default_rng(0)
    for _ in range(20):
        true, predicted = rng.integers(0, 6, 80), rng.integers(0, 5, 80)
        assert macro_f1(true, predicted) == pytest.approx(
            f1_score(true, predicted, average="macro"), abs=1e-12
        )


def test_a_figure_serialises_without_its_per_unit_scores(clustered):
    vectors, ids, labels = clustered
    found = label_purity(vectors, ids, labels, k=5)
    data = json.loads(json.dumps(found.to_dict()))
    assert data["headline"] == "label-purity"
    assert set(data["figures"][0]) == {
        "task", "name", "value", "low", "high", "chance", "units", "unit_kind", "aggregate",
        "params",
    }  # fmt: skip
    assert found.sentence().startswith("label-purity: label-purity 0.")
    assert "over 500 items (chance 0." in found.sentence()


def test_a_paired_difference_pairs_the_units_by_id_not_by_position():
    ids = [f"u{i}" for i in range(200)]
    rng = np.random.default_rng(1)
    a_scores = rng.random(200)
    b_scores = a_scores + 0.05
    params = {"k": 1}
    a = make_figure("t", "score", a_scores, ids, params, chance=0.0)
    order = rng.permutation(200)[:150]  # B holds 150 of the units, shuffled
    b = make_figure("t", "score", b_scores[order], [ids[i] for i in order], params, chance=0.0)
    difference = paired_difference(a, b)
    assert difference.units == 150
    assert difference.difference == pytest.approx(0.05)
    assert difference.low == pytest.approx(0.05) and difference.high == pytest.approx(0.05)
    assert difference.sentence("old", "new") == "new is better on score (+0.050 [+0.050, +0.050])"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "other"}, "cannot pair t/score with t/other"),
        (
            {"params": {"k": 2}},
            r"score was measured with different parameters \({'k': 1} and {'k': 2}\)",
        ),
        ({"ids": [f"v{i}" for i in range(10)]}, "the two score figures share no items"),
    ],
)
def test_figures_that_cannot_be_paired_are_refused(change, message):
    ids = [f"u{i}" for i in range(10)]
    a = make_figure("t", "score", np.ones(10), ids, {"k": 1}, chance=0.0)
    b = make_figure(
        "t",
        change.get("name", "score"),
        np.ones(10),
        change.get("ids", ids),
        change.get("params", {"k": 1}),
        chance=0.0,
    )
    with pytest.raises(InvalidInputError, match=message):
        paired_difference(a, b)
