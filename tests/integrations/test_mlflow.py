"""embver.integrations.mlflow against a real MLflow server, read back with MlflowClient."""

from __future__ import annotations

import dataclasses

import pytest

import embver
from embver.integrations import mlflow as tracking

mlflow = pytest.importorskip("mlflow")

#: one server per worker is started by the session fixture: with ``--dist loadgroup`` these
#: tests share one worker and so one server
pytestmark = pytest.mark.xdist_group("mlflow-server")


@pytest.fixture
def client(mlflow_server):
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(mlflow_server)
    yield MlflowClient(mlflow_server)
    while mlflow.active_run():
        mlflow.end_run()


def test_log_version_records_params_metrics_and_the_link_back(client, tracked):
    store, _, v2, _ = tracked
    evaluation = store.evaluate(v2, "knn-accuracy")
    with mlflow.start_run() as run:
        assert tracking.log_version(v2) == run.info.run_id
    data = client.get_run(run.info.run_id).data
    assert data.tags["embver.ref"] == "pets@1.0.1"
    assert data.tags["embver.verdict"] == v2.verdict["label"]
    assert data.params["embver.bump"] == "patch" and data.params["embver.parent"] == "1.0.0"
    assert data.params["embver.recipe.weights"] == "w2"
    assert data.params["embver.recipe.context.hyperparameters.lr"] == "0.001"
    headline = evaluation.headline
    name = "embver.eval.knn-accuracy.knn-accuracy"
    assert data.metrics[name] == pytest.approx(headline.value)
    assert data.metrics[f"{name}.chance"] == pytest.approx(headline.chance)
    assert data.metrics[f"{name}.low"] <= headline.value <= data.metrics[f"{name}.high"]
    measured = {k: v for k, v in v2.verdict["figures"].items() if isinstance(v, float)}
    assert measured
    for name, value in measured.items():
        assert data.metrics[f"embver.verdict.{name}"] == pytest.approx(value)


def test_log_comparison_logs_figures_and_the_html_report(client, tracked):
    store, v1, v2, _ = tracked
    comparison = store.compare(v1, v2, k=10, clusters=False, migration=False)
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
    tracking.log_comparison(comparison, run_id=run.info.run_id)
    data = client.get_run(run.info.run_id).data
    overlap = comparison.neighbourhood["10"]
    assert data.metrics["embver.compare.k-NN_overlap_k_10_mean"] == pytest.approx(
        overlap["overlap"]["mean"]
    )
    assert data.metrics["embver.compare.k-NN_overlap_k_10_mean.chance"] == pytest.approx(
        overlap["chance_overlap"]
    )
    assert data.tags["embver.compare.old"] == "pets@1.0.0"
    (listed,) = client.list_artifacts(run.info.run_id, "embver")
    assert listed.path == "embver/embver-report-pets@1.0.0-pets@1.0.1.html"
    folder = client.download_artifacts(run.info.run_id, listed.path)
    with open(folder, encoding="utf-8") as report:
        markup = report.read()
    assert markup.startswith("<!doctype html>") or markup.lstrip().lower().startswith("<!doctype")
    assert "pets@1.0.0 → pets@1.0.1" in markup


def test_register_with_a_run_records_it_both_ways(client, tracked):
    store, _, _, x = tracked
    run = client.create_run(client.get_experiment_by_name("Default").experiment_id)
    recipe = embver.Recipe(architecture="arch", extraction="mean", weights="w3", dim=16)
    version = store.space("pets").register(
        x * 1.01, ids=[f"item-{i:03d}" for i in range(len(x))], recipe=recipe,
        parent="1.0.0", mlflow_run=run.info.run_id,
    )  # fmt: skip
    assert store.get(version.ref).recipe.context.runs == {"mlflow": run.info.run_id}
    assert client.get_run(run.info.run_id).data.tags["embver.ref"] == version.ref


def test_without_a_run_the_call_is_refused_naming_the_fix(tracked):
    _, _, v2, _ = tracked
    while mlflow.active_run():
        mlflow.end_run()
    with pytest.raises(embver.InvalidInputError, match="mlflow.start_run"):
        tracking.log_version(v2)
    with pytest.raises(embver.InvalidInputError, match="run id"):
        tracked[0].space("pets").register(
            tracked[3], ids=[f"item-{i:03d}" for i in range(len(tracked[3]))],
            recipe=dataclasses.replace(v2.recipe, weights="w9"), mlflow_run="",
        )  # fmt: skip
