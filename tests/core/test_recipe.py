import json

import pytest
import yaml

from embver.core import Context, Recipe, canonical_json, fingerprint
from embver.errors import RecipeError


def test_equal_recipes_hash_equal_regardless_of_key_order_and_float_spelling():
    a = yaml.safe_load("""
architecture: bert
extraction: mean
weights: w1
dim: 384
context: {hyperparameters: {lr: 0.001, epochs: 3, decay: 1.0}, author: ana}
""")
    b = json.loads(
        '{"context": {"author": "ana", '
        '"hyperparameters": {"epochs": 3.0, "decay": 1, "lr": 1e-3}}, '
        '"dim": 384, "weights": "w1", "extraction": "mean", "architecture": "bert"}'
    )
    assert Recipe.from_dict(a).hash == Recipe.from_dict(b).hash
    assert Recipe.from_dict(a).to_json() == Recipe.from_dict(b).to_json()


def test_context_does_not_change_identity_but_changes_hash():
    base = Recipe(architecture="a", extraction="e", weights="w", dim=4)
    noted = base.with_context(notes="retrained on Monday")
    assert base.identity_hash == noted.identity_hash
    assert base.hash != noted.hash


def test_round_trip_through_dict():
    recipe = Recipe(
        architecture="a",
        extraction="e",
        weights="w",
        dim=4,
        dtype="float16",
        metric="l2",
        specs={"extraction": {"pooling": "mean"}},
        context=Context(training_data="s3://x", hyperparameters={"lr": 0.1}, metrics={"acc": 0.9}),
    )
    assert Recipe.from_dict(json.loads(recipe.to_json())) == recipe


def test_canonical_json_is_sorted_and_compact():
    assert canonical_json({"b": 1.0, "a": [1, 2.5]}) == '{"a":[1,2.5],"b":1}'


def test_fingerprint_is_stable_and_prefixed():
    assert fingerprint({"x": 1}, "arch") == fingerprint({"x": 1.0}, "arch")
    assert fingerprint({"x": 1}, "arch").startswith("arch:")
    assert fingerprint({"x": 1}) != fingerprint({"x": 2})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dim": 0}, "dim"),
        ({"dim": -3}, "dim"),
        ({"dim": 2.5}, "dim"),
        ({"dim": True}, "dim"),
        ({"dtype": "int8"}, "dtype"),
        ({"metric": "manhattan"}, "metric"),
        ({"architecture": ""}, "architecture"),
        ({"weights": None}, "weights"),
        ({"specs": {"x": float("nan")}}, "not finite"),
        ({"specs": {"x": object()}}, "not JSON"),
    ],
)
def test_bad_recipes(changes, message):
    fields = {"architecture": "a", "extraction": "e", "weights": "w", "dim": 4, **changes}
    with pytest.raises(RecipeError, match=message):
        Recipe(**fields)


def test_from_dict_refuses_unknown_and_missing_fields():
    with pytest.raises(RecipeError, match="unknown recipe field"):
        Recipe.from_dict(
            {"architecture": "a", "extraction": "e", "weights": "w", "dim": 4, "colour": "red"}
        )
    with pytest.raises(RecipeError, match="missing"):
        Recipe.from_dict({"architecture": "a", "dim": 4})
    with pytest.raises(RecipeError, match="unknown context"):
        Recipe.from_dict(
            {"architecture": "a", "extraction": "e", "weights": "w", "dim": 4, "context": {"x": 1}}
        )
