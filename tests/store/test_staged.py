"""A version staged chunk by chunk is the version registered at once; nothing reaches the
catalog before commit, and an interrupted staging goes on from the progress it recorded."""

from __future__ import annotations

import lance
import numpy as np
import pytest

import embver
from embver.errors import InvalidInputError, RecipeError
from embver.store import gc, verify

D = 16


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, D)).astype(np.float32)
    return vectors, [f"id-{i}" for i in range(n)], [f"text {i}" for i in range(n)]


def _stage_in_chunks(space, recipe, vectors, ids, texts, sizes):
    staged = space.stage(ids, recipe)
    start = 0
    for size in sizes:
        staged.write(vectors[start : start + size], texts=texts[start : start + size])
        start += size
    return staged


def test_staged_chunks_commit_to_the_version_registered_at_once(store, recipe, tmp_path):
    vectors, ids, texts = _data()
    staged = _stage_in_chunks(store.space("s"), recipe, vectors, ids, texts, (20, 20, 10))
    version = staged.commit()

    whole = (
        embver.init(tmp_path / "whole")
        .space("s")
        .register(vectors, ids=ids, recipe=recipe, texts=texts)
    )
    assert version.content_hash == whole.content_hash
    assert version.segments[0].ids == whole.segments[0].ids
    assert version.recipe == whole.recipe and str(version.number) == "1.0.0"
    assert version.ids == ids
    np.testing.assert_array_equal(version.vectors(), vectors)
    assert store.items("s")["text"].tolist() == texts
    assert len(lance.dataset(version.data_uri).get_fragments()) == 3  # three appends, one segment
    assert verify(store).ok
    assert gc(store, grace_seconds=0).removed == []  # every file it wrote is the version's


def test_nothing_reaches_the_catalog_before_commit(store, recipe):
    vectors, ids, texts = _data()
    staged = _stage_in_chunks(store.space("s"), recipe, vectors, ids, texts, (20, 20))
    assert store.space_names() == []
    with pytest.raises(InvalidInputError, match="has 40 of its 50 rows"):
        staged.commit()
    with pytest.raises(InvalidInputError, match="60 rows written to a staged version of 50"):
        staged.write(np.zeros((20, D), np.float32))
    assert store.space_names() == []
    data = staged.progress.data_rel
    swept = gc(store, grace_seconds=0).removed  # abandoned: orphans for gc
    assert sorted(swept) == [data.removesuffix(".lance") + ".items.lance", data]


def test_a_later_staging_goes_on_from_the_recorded_progress(store, recipe, tmp_path):
    vectors, ids, texts = _data()
    first = _stage_in_chunks(store.space("s"), recipe, vectors, ids, texts, (20,))
    recorded = first.progress
    first.write(vectors[20:30], texts=texts[20:30])  # written, but never recorded: undone
    again = store.space("s").stage(ids, recipe, progress=recorded)
    assert again.progress == recorded
    again.write(vectors[20:], texts=texts[20:])
    version = again.commit()
    whole = (
        embver.init(tmp_path / "whole")
        .space("s")
        .register(vectors, ids=ids, recipe=recipe, texts=texts)
    )
    assert version.content_hash == whole.content_hash
    assert store.items("s")["id"].tolist() == ids


def test_bad_rows_are_refused_before_the_catalog_changes(store, recipe):
    vectors, ids, _texts = _data()
    with pytest.raises(InvalidInputError, match="duplicate"):
        store.space("s").stage([*ids[:-1], ids[0]], recipe)
    staged = store.space("s").stage(ids, recipe)
    broken = vectors[:20].copy()
    broken[3, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or inf .* first at id 'id-3'"):
        staged.write(broken)
    with pytest.raises(InvalidInputError, match="dimension 8 but the recipe says dim=16"):
        staged.write(np.zeros((20, 8), np.float32))
    assert store.space_names() == []


def test_a_registered_recipe_is_appended_to_not_staged(store, recipe):
    vectors, ids, _texts = _data()
    store.space("s").register(vectors[:10], ids=ids[:10], recipe=recipe)
    with pytest.raises(RecipeError, match="registered as s@1.0.0 already"):
        store.space("s").stage(ids, recipe)
