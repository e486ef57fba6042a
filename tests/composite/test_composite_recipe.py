"""Composite recipes: the fingerprints make the core bump rules give the composite rules."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest

from embver.core import Bump, derive_bump
from embver.core.composite import (
    ComponentEntry,
    composite_bump_reasons,
    composite_recipe,
    derive_composite_bump,
    swap_component,
)
from embver.errors import RecipeError

TITLE = ComponentEntry("title", "title", "production", "1.0.0", "bert-6l", "mean", "w1", 384)
PHOTO = ComponentEntry("photo", "photo", "2.1.0", "2.1.0", "cnn", "avg", "w1", 1280)
CONCAT = {"kind": "concat", "normalize": ["l2", "l2"], "weights": [1.0, 0.5]}


def product(
    title=TITLE, photo=PHOTO, combiner=CONCAT, missing="drop", fitted=None, metric="cosine"
):
    dim = title.dim + photo.dim if combiner["kind"] == "concat" else 64
    return composite_recipe(
        [title, photo], combiner, dim, missing=missing, metric=metric, fitted=fitted
    )


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (product(title=replace(TITLE, version="1.0.1", weights="w2")), Bump.PATCH),
        (product(title=replace(TITLE, version="1.1.0", extraction="cls")), Bump.MINOR),
        (product(title=replace(TITLE, version="1.1.0", dtype="float16")), Bump.MINOR),
        (product(title=replace(TITLE, version="2.0.0", architecture="bert-3l")), Bump.MAJOR),
        (product(title=replace(TITLE, version="2.0.0", metric="dot")), Bump.MAJOR),
        (product(combiner={**CONCAT, "weights": [1.0, 0.25]}), Bump.MINOR),
        (product(missing="zero"), Bump.MINOR),
        (product(metric="l2"), Bump.MAJOR),
        (product(title=replace(TITLE, pin="best")), Bump.NONE),  # the pin is not the function
        (product(), Bump.NONE),
    ],
)
def test_composite_bump_is_the_largest_change(child, expected):
    parent = product()
    assert derive_composite_bump(parent, child) == expected
    assert derive_bump(parent, child) == expected


def test_refitting_a_projection_with_the_same_combiner_is_a_patch():
    projection = {
        "kind": "projection",
        "normalize": ["l2", "l2"],
        "weights": [1, 1],
        "dim": 64,
        "method": "pca",
    }
    parent, child = (
        product(combiner=projection, fitted="fit:a"),
        product(combiner=projection, fitted="fit:b"),
    )
    assert derive_composite_bump(parent, child) == derive_bump(parent, child) == Bump.PATCH
    assert composite_bump_reasons(parent, child) == ["fitted combiner parameters ⇒ PATCH"]


def test_changing_the_component_list_is_major():
    parent = product()
    child = composite_recipe([TITLE], {"kind": "concat", "normalize": ["l2"], "weights": [1]}, 384)
    assert derive_composite_bump(parent, child) == derive_bump(parent, child) == Bump.MAJOR


def test_reasons_name_the_component_and_versions():
    child = product(title=replace(TITLE, version="1.1.0", extraction="cls", weights="w2"))
    assert composite_bump_reasons(product(), child) == ["title title@1.0.0 → title@1.1.0 ⇒ MINOR"]


def _variants(entry: ComponentEntry) -> list[ComponentEntry]:
    return [
        entry,
        replace(entry, weights="w9"),
        replace(entry, extraction="x9"),
        replace(entry, extraction="x9", weights="w9"),
        replace(entry, architecture="a9"),
        replace(entry, dim=entry.dim + 1),
        replace(entry, metric="l2"),
        replace(entry, dtype="float16"),
    ]


def test_the_dedicated_rule_agrees_with_the_core_rule_on_every_combination():
    """Every pair of component changes × combiner/policy/fit changes: both derivations agree."""
    combiners = [CONCAT, {**CONCAT, "weights": [1.0, 1.0]}]
    cases = list(
        itertools.product(
            _variants(TITLE), _variants(PHOTO), combiners, ["drop", "zero"], [None, "fit:b"]
        )
    )
    parent = product()
    seen = set()
    for title, photo, combiner, missing, fitted in cases:
        child = product(title, photo, combiner, missing, fitted)
        core, dedicated = derive_bump(parent, child), derive_composite_bump(parent, child)
        assert core == dedicated, (title, photo, combiner, missing, fitted)
        expected = max(
            derive_bump(TITLE.as_recipe(), title.as_recipe()),
            derive_bump(PHOTO.as_recipe(), photo.as_recipe()),
            Bump.MINOR if (combiner != CONCAT or missing != "drop") else Bump.NONE,
            Bump.PATCH if fitted else Bump.NONE,
        )
        assert dedicated == expected
        seen.add(dedicated)
    assert seen == set(Bump)
    assert len(cases) == 8 * 8 * 2 * 2 * 2


def test_random_chains_agree_between_consecutive_versions():
    rng = random.Random(0)
    recipe = product()
    for _ in range(200):
        title = rng.choice(_variants(TITLE))
        photo = rng.choice(_variants(PHOTO))
        child = product(
            title,
            photo,
            rng.choice([CONCAT, {**CONCAT, "weights": [2, 1]}]),
            rng.choice(["drop", "error"]),
        )
        assert derive_composite_bump(recipe, child) == derive_bump(recipe, child)
        recipe = child


def test_swapping_a_component_keeps_name_and_pin_and_follows_concat_width():
    wider = replace(TITLE, version="2.0.0", architecture="bert-l", dim=768, pin="ignored")
    swapped = swap_component(product(), "title", wider, None)
    entry = swapped.specs["composite"]["components"][0]
    assert (entry["name"], entry["pin"], entry["version"], swapped.dim) == (
        "title",
        "production",
        "2.0.0",
        768 + 1280,
    )


def test_identity_ignores_resolved_numbers_but_records_them():
    renumbered = product(title=replace(TITLE, version="9.9.9"))
    assert renumbered.identity_hash == product().identity_hash
    assert renumbered.specs["composite"]["components"][0]["version"] == "9.9.9"


def test_a_composite_needs_components():
    with pytest.raises(RecipeError, match="at least one component"):
        composite_recipe([], CONCAT, 4)
