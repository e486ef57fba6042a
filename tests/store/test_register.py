"""Registering, reading back, appending, aliases, lineage and discovery on a real store."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import embver
from embver.errors import StoreError, StoreNotFoundError

D = 16


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)).astype(np.float32), [f"id-{i}" for i in range(n)]


def test_register_and_read_back_exactly(store, recipe):
    x, ids = _data()
    v = store.space("stop-signs").register(x, ids=ids, recipe=recipe, labels=["a"] * 50, texts=ids)
    assert v.ref == "stop-signs@1.0.0" and v.bump == embver.Bump.MAJOR
    got = store.get("stop-signs@1.0.0")
    assert got.ids == ids
    np.testing.assert_array_equal(got.vectors(), x)
    np.testing.assert_array_equal(got.vectors(ids=["id-7", "id-3"]), x[[7, 3]])
    assert got.recipe == recipe
    frame = got.to_pandas()
    assert list(frame.columns) == ["id", "vector"] and len(frame) == 50
    table = got.to_arrow()
    assert table.schema.field("vector").type == pa.list_(pa.float32(), D)
    items = store.items("stop-signs")
    assert items["label"].tolist() == ["a"] * 50 and items["text"].tolist() == ids


@pytest.mark.parametrize("kind", ["pandas", "arrow", "polars", "lists"])
def test_register_from_frames_and_lists(store, recipe, kind):
    x, ids = _data(10)
    if kind == "pandas":
        data, kwargs = pd.DataFrame({"id": ids, "vector": list(x)}), {}
    elif kind == "arrow":
        data = pa.table(
            {"id": ids, "vector": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), D)}
        )
        kwargs = {}
    elif kind == "polars":
        data, kwargs = pl.DataFrame({"id": ids, "vector": x.tolist()}), {}
    else:
        data, kwargs = x.tolist(), {"ids": ids}
    v = store.space("s").register(data, recipe=recipe, **kwargs)
    np.testing.assert_allclose(v.vectors(), x, rtol=0, atol=0)


def test_float16_recipe_stores_float16(store, recipe):
    x, ids = _data()
    v = store.space("s").register(x, ids=ids, recipe=replace(recipe, dtype="float16"))
    assert v.to_arrow().schema.field("vector").type == pa.list_(pa.float16(), D)
    np.testing.assert_array_equal(v.vectors(), x.astype(np.float16))


def test_story_numbering_and_branches(store, recipe):
    x, ids = _data()
    space = store.space("stop-signs")
    v100 = space.register(x, ids=ids, recipe=recipe)
    v110 = space.register(x + 1, ids=ids, recipe=replace(recipe, extraction="cls"))
    v111 = space.register(x + 2, ids=ids, recipe=replace(recipe, extraction="cls", weights="w2"))
    v101 = space.register(x + 3, ids=ids, recipe=replace(recipe, weights="w3"), parent="1.0.0")
    v120 = space.register(x + 4, ids=ids, recipe=replace(recipe, extraction="max"), parent="1.0.0")
    v112 = space.register(
        x + 5, ids=ids, recipe=replace(recipe, extraction="cls", weights="w4"), parent="1.1.0"
    )
    v200 = space.register(x[:, :8], ids=ids, recipe=replace(recipe, architecture="b", dim=8))
    numbers = [str(v.number) for v in (v100, v110, v111, v101, v120, v112, v200)]
    assert numbers == ["1.0.0", "1.1.0", "1.1.1", "1.0.1", "1.2.0", "1.1.2", "2.0.0"]
    assert v112.parent == v110 and v101.parent == v100
    assert v110.reasons == ["extraction changed: mean → cls ⇒ MINOR"]
    assert store.get("stop-signs@1.1").number == v112.number
    assert store.get("stop-signs@latest").number == v200.number
    assert store.get("stop-signs@1").number == v120.number
    assert [e["ref"] for e in store.edges(v111)] == ["stop-signs@1.1.0"]


def test_same_recipe_appends_new_items_and_keeps_hash_chain(store, recipe):
    x, ids = _data(60)
    space = store.space("s")
    first = space.register(x[:40], ids=ids[:40], recipe=recipe)
    again = space.register(x[20:60], ids=ids[20:60], recipe=recipe.with_context(notes="batch 2"))
    assert again.appended and again.number == first.number
    assert again.count == 60 and len(again.segments) == 2
    assert again.content_hash != first.content_hash
    np.testing.assert_array_equal(store.get("s@1.0.0").vectors(ids=ids), x)
    assert len(store.versions("s")) == 1
    same = space.register(x[:10], ids=ids[:10], recipe=recipe)
    assert same.appended and same.count == 60
    assert embver.store.verify(store).ok


def test_aliases_move_with_history(store, recipe):
    x, ids = _data()
    space = store.space("s")
    space.register(x, ids=ids, recipe=recipe)
    space.register(x + 1, ids=ids, recipe=replace(recipe, weights="w2"))
    store.set_alias("s", "best", "1.0.1", reason="looked better", actor="ana")
    store.set_alias("s", "best", "1.0.0", reason="it was worse", actor="ana")
    assert str(store.get("s@best").number) == "1.0.0"
    assert store.aliases("s") == {"best": "1.0.0"}
    history = store.alias_history("s", "best")
    assert [(h["from"], h["to"], h["reason"]) for h in history] == [
        (None, "1.0.1", "looked better"),
        ("1.0.1", "1.0.0", "it was worse"),
    ]
    store.remove_alias("s", "best", reason="done")
    assert store.aliases("s") == {}
    assert store.alias_history("s")[-1]["to"] is None


def test_discovery_order(tmp_path, monkeypatch):
    a = embver.init(tmp_path / "a")
    b = embver.init(tmp_path / "b")
    nested = tmp_path / "a" / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    monkeypatch.delenv("EMBVER_STORE", raising=False)
    assert embver.open().location.root == a.location.root
    monkeypatch.setenv("EMBVER_STORE", str(tmp_path / "b"))
    assert embver.open().location.root == b.location.root
    assert embver.open(tmp_path / "a").location.root == a.location.root
    monkeypatch.setenv("EMBVER_STORE", str(tmp_path / "nowhere"))
    with pytest.raises(StoreNotFoundError, match="nowhere"):
        embver.open()
    monkeypatch.delenv("EMBVER_STORE")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreNotFoundError, match="embver init"):
        embver.open()
    with pytest.raises(StoreError, match="already exists"):
        embver.init(tmp_path / "a")


def test_reopened_store_sees_everything(tmp_path, recipe):
    x, ids = _data()
    with embver.init(tmp_path) as s:
        s.space("s").register(x, ids=ids, recipe=recipe)
        s.set_alias("s", "prod", "1.0.0")
    with embver.open(tmp_path) as s:
        np.testing.assert_array_equal(s.get("s@prod").vectors(), x)


def test_artifacts_round_trip(store):
    store.artifacts.put("projection", "k1", b"\x00\x01", {"method": "umap"}, versions=[1])
    found = store.artifacts.get("projection", "k1")
    assert found.payload == b"\x00\x01" and found.meta == {"method": "umap"}
    store.artifacts.put("projection", "k1", b"\x02", {"method": "pca"})
    assert store.artifacts.get("projection", "k1").payload == b"\x02"
    assert store.artifacts.get("projection", "missing") is None
    assert [a.key for a in store.artifacts.find("projection")] == ["k1"]


def test_export_round_trip(store, recipe, tmp_path):
    import pyarrow.parquet as pq

    from embver.store.export import export_version

    x, ids = _data()
    v = store.space("s").register(x, ids=ids, recipe=recipe)
    export_version(v, tmp_path / "out.parquet")
    export_version(v, tmp_path / "out.npy")
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == ids
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), x)
    assert (tmp_path / "out.ids.txt").read_text().split() == ids


def test_same_recipe_registered_meanwhile_appends_instead_of_a_second_version(
    store, recipe, monkeypatch
):
    # Simulates the race window: the identity check before writing sees nothing because
    # the other writer commits between that check and our catalog transaction.
    x, ids = _data(40)
    space = store.space("s")
    space.register(x[:20], ids=ids[:20], recipe=recipe)
    monkeypatch.setattr(type(store), "_find_identity", lambda self, space, identity: None)
    again = space.register(x[10:], ids=ids[10:], recipe=recipe)
    assert again.appended and again.count == 40
    assert [str(v.number) for v in store.versions("s")] == ["1.0.0"]
    np.testing.assert_array_equal(store.get("s@1.0.0").vectors(ids=ids), x)
