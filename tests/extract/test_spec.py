"""The extraction spec: parsing, validation, defaults and canonical form (pure, no torch)."""

from __future__ import annotations

import pytest

from embver.errors import InvalidInputError
from embver.extract.spec import Extraction, parse_layers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1", (-1,)),
        ("-4:", (-4, -3, -2, -1)),
        ("2:5", (2, 3, 4)),
        ("-2,-1", (-2, -1)),
        (3, (3,)),
        ((0, -1), (0, -1)),
    ],
)
def test_parse_layers(text, expected):
    assert parse_layers(text) == expected


@pytest.mark.parametrize("bad", ["", "a", "5:2", "1:x", True, (), (1.5,), 1.5])
def test_parse_layers_refuses(bad):
    with pytest.raises(InvalidInputError, match="layers"):
        parse_layers(bad)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("pooling", "avg", "pooling"),
        ("pooling", "pooler+mean", "cannot be combined"),
        ("pooling", "mean+mean", "repeats"),
        ("layer_combine", "sum", "layer_combine"),
        ("normalize", "yes", "normalize"),
        ("max_length", 0, "max_length"),
        ("max_length", True, "max_length"),
        ("prefix", 3, "prefix"),
    ],
)
def test_extraction_refuses_bad_fields(field, value, match):
    with pytest.raises(InvalidInputError, match=match):
        Extraction(**{field: value})


def test_pooling_spellings_are_canonical():
    assert Extraction(pooling="weightedmean").pooling == "weighted-mean"
    assert Extraction(pooling=("CLS", "mean_sqrt_len")).pooling == "cls+mean-sqrt-len"
    assert Extraction(pooling="cls+mean").modes == ("cls", "mean")


def test_resolution_takes_model_defaults_then_embvers():
    model = Extraction(pooling="cls", normalize=True, max_length=128)
    resolved = Extraction(layers="-2:").resolved(model)
    assert resolved == Extraction(
        pooling="cls", layers=(-2, -1), normalize=True, max_length=128, prefix=""
    )
    assert Extraction().resolved().to_spec() == {
        "pooling": "mean",
        "layers": [-1],
        "layer_combine": None,
        "normalize": False,
        "max_length": None,
        "prefix": "",
    }


def test_layer_combine_matters_only_for_several_layers():
    one = Extraction(layers=-1, layer_combine="concat").resolved()
    assert one.fingerprint() == Extraction(layers=-1).resolved().fingerprint()
    several = Extraction(layers="-2:", layer_combine="concat").resolved()
    assert several.fingerprint() != Extraction(layers="-2:").resolved().fingerprint()


def test_coerce():
    assert Extraction.coerce("cls") == Extraction(pooling="cls")
    assert Extraction.coerce({"pooling": "max"}) == Extraction(pooling="max")
    assert Extraction.coerce(None) == Extraction()
    with pytest.raises(InvalidInputError, match="unknown extraction field"):
        Extraction.coerce({"pool": "max"})


def test_exported_from_embver():
    import embver

    assert embver.Extraction is Extraction
