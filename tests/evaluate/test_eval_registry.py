"""Tasks by name: run_task runs the built-ins as their functions, adds more, refuses the rest."""

from __future__ import annotations

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.evaluate import TASKS, Evaluation, knn_accuracy, register_task, run_task, sts


def test_the_built_in_tasks_are_listed_by_name():
    assert list(TASKS)[:6] == [
        "knn-accuracy", "label-purity", "cluster-agreement", "linear-probe", "retrieval", "sts",
    ]  # fmt: skip


def test_run_task_gives_what_the_task_function_gives(clustered):
    vectors, ids, labels = clustered
    by_name = run_task("knn-accuracy", vectors, ids, labels=labels, k=5, folds=4, seed=2)
    direct = knn_accuracy(vectors, ids, labels, k=5, folds=4, seed=2)
    assert [f.to_dict() for f in by_name.figures] == [f.to_dict() for f in direct.figures]
    pairs = [(ids[i], ids[i + 1], float(i % 7)) for i in range(50)]
    assert (
        run_task("sts", vectors, ids, pairs=pairs).headline.value
        == sts(vectors, ids, pairs).headline.value
    )


def test_retrieval_runs_by_name_with_its_queries(clustered):
    vectors, ids, _ = clustered
    qrels = {"q0": {ids[0]: 1}, "q1": {ids[1]: 1}}
    found = run_task(
        "retrieval", vectors, ids, qrels=qrels, queries=(vectors[:2], ["q0", "q1"]), k=1
    )
    assert found.figure("recall@1").value == 1.0  # each query is its own item


def test_an_unknown_task_is_refused_with_the_choices(clustered):
    vectors, ids, _ = clustered
    with pytest.raises(
        InvalidInputError, match=r"unknown task 'x'; choose one of: knn-accuracy, label-purity, "
    ):
        run_task("x", vectors, ids)


def test_a_labelled_task_without_labels_says_what_to_do(clustered):
    vectors, ids, _ = clustered
    message = (
        "task 'knn-accuracy' needs labels; register the items with labels=… or choose retrieval/sts"
    )
    with pytest.raises(InvalidInputError, match=f"^{message}"):
        run_task("knn-accuracy", vectors, ids)


def test_retrieval_without_qrels_names_both_inputs(clustered):
    vectors, ids, _ = clustered
    with pytest.raises(
        InvalidInputError,
        match="task 'retrieval' needs qrels and queries; register the items with qrels=…, queries",
    ):
        run_task("retrieval", vectors, ids)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 0}, "k=0 must be a positive integer"),
        ({"folds": 60}, r"folds=60 exceeds the smallest class \('class-4' has 50 items\)"),
        (
            {"kk": 3},
            "task 'knn-accuracy' has no parameter 'kk'; its parameters are: k, folds, metric, seed",
        ),
    ],
)
def test_bad_parameters_are_refused(clustered, params, message):
    vectors, ids, labels = clustered
    with pytest.raises(InvalidInputError, match=message):
        run_task("knn-accuracy", vectors, ids, labels=labels, **params)


def test_a_registered_task_returning_numbers_becomes_figures(clustered):
    vectors, ids, _ = clustered

    def mean_norm(vectors, ids, inputs, scale=1.0):
        return {"mean-norm": scale * float(np.linalg.norm(vectors, axis=1).mean())}

    register_task("mean-norm", mean_norm)
    found = run_task("mean-norm", vectors, ids, scale=2.0)
    assert isinstance(found, Evaluation) and "mean-norm" in TASKS
    expected = 2.0 * np.linalg.norm(vectors.astype(np.float64), axis=1).mean()
    assert found.headline.value == pytest.approx(expected, rel=1e-6)
    assert np.isnan(found.headline.low) and found.headline.units == 0
    with pytest.raises(InvalidInputError, match="task 'mean-norm' is already registered"):
        register_task("mean-norm", mean_norm)


def test_a_registered_task_needing_labels_is_refused_without_them(clustered):
    vectors, ids, labels = clustered

    def purity_of_first(vectors, ids, inputs):
        return knn_accuracy(vectors, ids, inputs.labels, k=3)

    register_task("first-knn", purity_of_first, needs=("labels",))
    assert run_task("first-knn", vectors, ids, labels=labels).headline.name == "knn-accuracy"
    with pytest.raises(InvalidInputError, match="task 'first-knn' needs labels"):
        run_task("first-knn", vectors, ids)
