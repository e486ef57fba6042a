"""Streaming a version (``Version.iter_batches``) and its item fields (``Store.item_fields``):
the same rows as the full load, in batches, each segment re-hashed; damage is a real
flipped byte in a Lance file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embver
from embver.errors import IntegrityError, InvalidInputError

DIM = 16


def _vectors(seed: int, rows: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)


@pytest.fixture
def version(store):
    """300 rows with texts, then 50 appended with labels: two segments, two data files."""
    recipe = embver.Recipe(architecture="a", extraction="mean", weights="w", dim=DIM)
    space = store.space("s")
    ids = [f"item-{i}" for i in range(350)]
    space.register(
        _vectors(1, 300), ids=ids[:300], recipe=recipe, texts=[f"text {i}" for i in range(300)]
    )
    space.register(_vectors(2, 50), ids=ids[300:], recipe=recipe, labels=["b"] * 50)
    found = store.get("s@1.0.0")
    assert [s.rows for s in found.segments] == [300, 50]
    return found


def _rows(batches) -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    parts = []
    for batch in batches:
        ids += batch.column("id").to_pylist()
        parts.append(batch.column("vector").flatten().to_numpy().reshape(len(batch), DIM))
    return ids, np.concatenate(parts)


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
@pytest.mark.parametrize("check_ahead", [False, True])
def test_batches_are_the_registered_rows_in_order_and_none_spans_two_segments(
    version, batch_size, check_ahead
):
    batches = list(version.iter_batches(batch_size, check_ahead=check_ahead))
    ids, vectors = _rows(batches)
    assert ids == [f"item-{i}" for i in range(350)]
    np.testing.assert_array_equal(vectors, np.concatenate([_vectors(1, 300), _vectors(2, 50)]))
    sizes = [len(b) for b in batches]
    assert max(sizes) <= batch_size
    assert 300 in np.cumsum(sizes)  # a batch ends where the appended segment starts


def test_ids_only(version):
    batches = list(version.iter_batches(100, columns=["id"]))
    assert [b.schema.names for b in batches] == [["id"]] * 4
    assert [i for b in batches for i in b.column("id").to_pylist()] == version.ids


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size 0: give a positive number of rows"),
        ({"batch_size": 10, "columns": ["vector"]}, r"columns \['vector'\]: stream"),
    ],
)
def test_bad_parameters_are_refused(version, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        list(version.iter_batches(**kwargs))


def _flip_vector_byte(version, vectors: np.ndarray, row: int) -> None:
    """Flip one bit of row ``row`` of ``vectors`` where it lies in the version's Lance files."""
    payload = vectors.tobytes()
    for path in sorted(Path(version.data_uri).glob("data/*.lance")):
        data = bytearray(path.read_bytes())
        offset = bytes(data).find(payload[:64])
        if offset >= 0:
            data[offset + row * DIM * 4 + 5] ^= 0x10
            path.write_bytes(bytes(data))
            return
    raise AssertionError("vectors are stored uncompressed, so their bytes are in a file")


def _yielded_until_error(version, batch_size: int, check_ahead: bool) -> tuple[int, str]:
    rows = 0
    with pytest.raises(IntegrityError) as caught:
        for batch in version.iter_batches(batch_size, check_ahead=check_ahead):
            rows += len(batch)
    return rows, str(caught.value)


def test_a_flipped_byte_in_the_appended_segment_raises_before_its_last_batch(version):
    _flip_vector_byte(version, _vectors(2, 50), row=1)
    rows, message = _yielded_until_error(version, 16, check_ahead=False)
    # segment 0 whole, then 16 + 16 + 16 of segment 1; its last batch (2 rows) is withheld
    assert rows == 348
    assert "segment 1 (rows 300-349) hash mismatch" in message and "\n" not in message
    rows, message = _yielded_until_error(version, 16, check_ahead=True)
    assert rows == 300  # checked ahead: nothing of the damaged segment is yielded
    assert "segment 1 (rows 300-349) hash mismatch" in message


def test_check_ahead_yields_nothing_of_a_damaged_first_segment(version):
    _flip_vector_byte(version, _vectors(1, 300), row=299)
    assert _yielded_until_error(version, 64, check_ahead=True)[0] == 0
    rows, message = _yielded_until_error(version, 64, check_ahead=False)
    assert rows == 256 and "segment 0 (rows 0-299) hash mismatch" in message


def test_item_fields_are_the_items_columns_read_segment_by_segment(store, version):
    fields = store.item_fields("s", ["text", "label"])
    assert fields.schema.names == ["id", "text", "label"]
    assert fields.column("id").to_pylist() == [f"item-{i}" for i in range(350)]
    assert fields.column("text").to_pylist() == [f"text {i}" for i in range(300)] + [None] * 50
    assert fields.column("label").to_pylist() == [None] * 300 + ["b"] * 50
    wanted = store.item_fields("s", ["text"], ids=version.iter_batches(5).__next__().column("id"))
    assert wanted.to_pylist() == [{"id": f"item-{i}", "text": f"text {i}"} for i in range(5)]


def test_a_flipped_byte_in_the_item_table_raises(store, version):
    row = store._space_row("s")
    root = Path(store._items_uri("s"))
    (first,) = (root / p for p in row["items_segments"][0]["files"] if p.startswith("data/"))
    data = bytearray(first.read_bytes())
    data[data.find(b"text 150")] ^= 0x01
    first.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"item table .*segment 0 \(rows 0-299\) hash"):
        store.item_fields("s", ["label"])
