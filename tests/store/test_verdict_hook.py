"""A PATCH over a parent that shares items gets a measured verdict; strict mode refuses breaking."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from embver.errors import VerdictError

N, D = 300, 16


def _base(store, recipe, rng):
    x = rng.normal(size=(N, D)).astype(np.float32)
    ids = [f"i{i}" for i in range(N)]
    store.space("s").register(x, ids=ids, recipe=recipe)
    return x, ids


def test_small_retrain_is_drop_in_and_recorded(store, recipe, rng):
    x, ids = _base(store, recipe, rng)
    v = store.space("s").register(
        x + 0.001 * rng.normal(size=x.shape), ids=ids, recipe=replace(recipe, weights="w2")
    )
    assert v.verdict["label"] == "drop-in"
    assert store.get("s@1.0.1").verdict == v.verdict


def test_rotated_retrain_needs_an_adapter(store, recipe, rng):
    x, ids = _base(store, recipe, rng)
    rotation, _ = np.linalg.qr(rng.normal(size=(D, D)))
    v = store.space("s").register(x @ rotation, ids=ids, recipe=replace(recipe, weights="w2"))
    assert v.verdict["label"] == "adapter"


def test_strict_mode_refuses_a_breaking_patch_and_changes_nothing(
    store, recipe, rng, store_snapshot
):
    _, ids = _base(store, recipe, rng)
    store.set_setting("strict", True)
    before = store_snapshot(store)
    unrelated = rng.normal(size=(N, D)).astype(np.float32)
    with pytest.raises(VerdictError, match="breaking"):
        store.space("s").register(unrelated, ids=ids, recipe=replace(recipe, weights="w2"))
    assert store_snapshot(store) == before
    store.set_setting("strict", False)
    v = store.space("s").register(unrelated, ids=ids, recipe=replace(recipe, weights="w2"))
    assert v.verdict["label"] == "breaking"


def test_minor_and_major_get_no_verdict(store, recipe, rng):
    x, ids = _base(store, recipe, rng)
    assert (
        store.space("s").register(x, ids=ids, recipe=replace(recipe, extraction="cls")).verdict
        is None
    )
