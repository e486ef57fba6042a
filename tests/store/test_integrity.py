"""Integrity: verify catches every damaged byte, truncated or swapped file; reads catch
missing or truncated data. All damage is done to the real files on disk."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

import embver
from embver.errors import IntegrityError
from embver.store.maintenance import verify

DIM = 16


def _vectors(seed: int, rows: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)


def _register(store, architecture: str, seed: int, first: int, rows: int):
    recipe = embver.Recipe(architecture=architecture, extraction="mean", weights="w", dim=DIM)
    ids = [f"item-{i}" for i in range(first, first + rows)]
    return store.space("s").register(_vectors(seed, rows), ids=ids, recipe=recipe)


@pytest.fixture
def versions(store):
    """1.0.0 (300 rows, then 50 appended: two data files), 2.0.0 and 3.0.0 (300 rows each)."""
    _register(store, "a", 1, 0, 300)
    _register(store, "a", 2, 300, 50)  # same recipe: appended to 1.0.0
    _register(store, "b", 3, 0, 300)
    _register(store, "c", 4, 0, 300)
    found = store.versions("s")
    assert [v.count for v in found] == [350, 300, 300]
    assert verify(store).ok
    return found


def _data_files(version) -> list[Path]:
    return sorted(Path(version.data_uri).glob("data/*.lance"))


def _recorded_files(version) -> list[Path]:
    return [Path(version.data_uri) / p for s in version.segments for p in sorted(s.files)]


def _flagged(store) -> set[str]:
    return {problem["ref"] for problem in verify(store).problems}


def _positions(size: int, rng: random.Random) -> list[int]:
    """Both ends, the middle, and random bytes in between."""
    return sorted({0, 1, size // 2, size - 2, size - 1, *rng.sample(range(size), min(size, 12))})


def test_every_file_a_version_reads_is_recorded(versions):
    for version in versions:
        recorded = set(_recorded_files(version))
        assert set(_data_files(version)) <= recorded
        assert any(p.parent.name == "_versions" for p in recorded)  # the manifests
    assert len(_data_files(versions[0])) == 2


def test_each_data_file_hashed_while_the_next_is_written_is_recorded_and_checked(
    store, monkeypatch
):
    from embver.store import vectors as vector_data

    # a new data file every 100 rows: 450 rows in five files, 250 appended in three more
    monkeypatch.setattr(vector_data, "_FILE_VECTOR_BYTES", 100 * DIM * 4)
    _register(store, "a", 1, 0, 450)
    version = _register(store, "a", 2, 450, 250)
    assert [len([p for p in s.files if p.startswith("data/")]) for s in version.segments] == [5, 3]
    assert set(_data_files(version)) <= set(_recorded_files(version))
    assert verify(store).ok
    expected = np.concatenate([_vectors(1, 450), _vectors(2, 250)])
    assert np.array_equal(store.get(version.ref).vectors(), expected)
    for path in _data_files(version):
        original = path.read_bytes()
        damaged = bytearray(original)
        damaged[len(original) // 2] ^= 1
        path.write_bytes(bytes(damaged))
        assert _flagged(store) == {version.ref}, path.name
        path.write_bytes(original)
    assert verify(store).ok


def test_verify_detects_flipped_bytes_in_every_file(store, versions):
    rng = random.Random(0)
    checked = 0
    for version in versions:
        for path in _recorded_files(version):
            original = path.read_bytes()
            for position in _positions(len(original), rng):
                damaged = bytearray(original)
                damaged[position] ^= 1 << rng.randrange(8)
                path.write_bytes(bytes(damaged))
                assert _flagged(store) == {version.ref}, f"{path.name} byte {position}"
                checked += 1
            path.write_bytes(original)
    assert checked > 100
    assert verify(store).ok


def test_a_flipped_vector_byte_is_caught_by_the_content_hash_on_verify_and_read(store, versions):
    """Without the file hashes (a catalog written before they existed) the content hash
    still catches a flipped byte in the vector payload, in verify and on every read."""
    version = versions[1]
    segments = [{"rows": s.rows, "hash": s.hash} for s in version.segments]
    with store.engine.begin() as connection:
        connection.execute(
            embver.store.schema.versions.update()
            .where(embver.store.schema.versions.c.id == version.id)
            .values(segments=segments)
        )
    path = _data_files(version)[0]
    data = bytearray(path.read_bytes())
    payload = _vectors(3, 300).tobytes()
    offset = bytes(data).find(payload[:64])
    assert offset >= 0, "vectors are stored uncompressed"
    data[offset + 1000] ^= 0x40
    path.write_bytes(bytes(data))
    problems = verify(store).problems
    assert [p["ref"] for p in problems] == [version.ref]
    assert "hash mismatch" in problems[0]["problem"]
    with pytest.raises(IntegrityError, match="content hash.*segment 0 .*hash mismatch"):
        store.get(version.ref).vectors()


@pytest.mark.parametrize("keep", [0.5, -1])
def test_verify_and_reads_detect_a_truncated_data_file(store, versions, keep):
    for version in versions:
        path = _data_files(version)[-1]
        original = path.read_bytes()
        cut = int(len(original) * keep) if keep > 0 else len(original) + keep
        path.write_bytes(original[:cut])
        assert _flagged(store) == {version.ref}
        with pytest.raises(IntegrityError):
            store.get(version.ref).vectors()
        path.write_bytes(original)
    assert verify(store).ok


def test_verify_detects_data_files_swapped_between_versions(store, versions):
    b, c = (_data_files(v)[0] for v in versions[1:])
    b_bytes, c_bytes = b.read_bytes(), c.read_bytes()
    b.write_bytes(c_bytes)
    c.write_bytes(b_bytes)
    assert _flagged(store) == {versions[1].ref, versions[2].ref}


def test_verify_detects_a_dataset_swapped_between_versions(store, versions):
    """Whole datasets exchanged (same shape, same Lance versions): only hashes can tell."""
    b, c = (Path(v.data_uri) for v in versions[1:])
    shutil.move(b, b.with_suffix(".tmp"))
    shutil.move(c, b)
    shutil.move(b.with_suffix(".tmp"), c)
    assert _flagged(store) == {versions[1].ref, versions[2].ref}


def test_reads_detect_a_missing_dataset(store, versions):
    shutil.rmtree(versions[1].data_uri)
    with pytest.raises(IntegrityError, match="cannot be opened"):
        store.get(versions[1].ref).vectors()
    assert _flagged(store) == {versions[1].ref}
    np.testing.assert_array_equal(store.get(versions[2].ref).vectors(), _vectors(4, 300))


def test_reads_detect_a_missing_data_file(store, versions):
    _data_files(versions[0])[1].unlink()  # the appended segment
    with pytest.raises(IntegrityError):
        store.get(versions[0].ref).vectors()
    assert _flagged(store) == {versions[0].ref}


def test_reads_detect_a_dataset_cut_back_to_fewer_rows(store, versions):
    """The dataset replaced by a valid Lance dataset with the first 250 rows only."""
    version = versions[1]
    table = version.to_arrow()
    shutil.rmtree(version.data_uri)
    embver.store.vectors.write_dataset(version.data_uri, table.slice(0, 250))
    with pytest.raises(IntegrityError, match="250 rows"):
        store.get(version.ref).vectors()
    assert _flagged(store) == {version.ref}


def test_reads_of_a_damaged_manifest_give_the_data_or_integrity_error(store, versions):
    """Lance tolerates many flipped manifest bytes and panics on others; a read either
    returns the registered vectors or raises IntegrityError, never anything else."""
    version = versions[2]
    manifest = next(p for p in _recorded_files(version) if p.parent.name == "_versions")
    original = manifest.read_bytes()
    rng = random.Random(1)
    outcomes = {"same": 0, "refused": 0}
    for position in rng.sample(range(len(original)), min(len(original), 80)):
        damaged = bytearray(original)
        damaged[position] ^= 0x10
        manifest.write_bytes(bytes(damaged))
        try:
            read = store.get(version.ref).vectors()
        except IntegrityError:
            outcomes["refused"] += 1
        else:
            np.testing.assert_array_equal(read, _vectors(4, 300))
            outcomes["same"] += 1
        assert _flagged(store) == {version.ref}
    manifest.write_bytes(original)
    assert outcomes["refused"] > 0 and verify(store).ok


def test_loaded_vectors_are_writable_and_writes_never_reach_the_store(store, versions):
    """vectors() hands over Lance's decoded buffer without a copy; it must be private."""
    for version in versions:
        loaded = store.get(version.ref).vectors()
        assert loaded.flags.writeable
        expected = loaded.copy()
        loaded *= 2.0
        np.testing.assert_array_equal(store.get(version.ref).vectors(), expected)
    assert verify(store).ok


def _id_region(path: Path, ids: list[str]) -> tuple[int, int]:
    """Where the id strings lie in a data file: from the first id's bytes to the last's."""
    data = path.read_bytes()
    first, last = data.find(ids[0].encode()), data.find(ids[-1].encode())
    assert 0 <= first < last, "ids are stored as plain bytes"
    return first, last + len(ids[-1])


def _reads(store, ref: str) -> dict[str, object]:
    """Every way to read a version's ids or vectors, by name, as plain Python data."""
    return {
        "ids": lambda: store.get(ref).ids,
        "items": lambda: store.get(ref).items()["id"].tolist(),
        "vectors": lambda: store.get(ref).vectors().tolist(),
        "to_arrow": lambda: store.get(ref).to_arrow().column("id").to_pylist(),
        "to_pandas": lambda: store.get(ref).to_pandas()["id"].tolist(),
        "vectors_of_ids": lambda: store.get(ref).vectors(["item-7", "item-3"]).tolist(),
    }


def test_reads_of_a_flipped_id_byte_give_the_data_or_integrity_error(store, versions):
    """One flipped byte among the ids (and elsewhere in the file): every read returns the
    registered data or raises IntegrityError in one line, never a damaged id or an Arrow
    error (the issue: `v.ids` answered with the damaged id, compare died in ArrowInvalid)."""
    version = versions[1]
    path = _data_files(version)[0]
    expected = {name: read() for name, read in _reads(store, version.ref).items()}
    original = path.read_bytes()
    start, stop = _id_region(path, version.ids)
    rng = random.Random(2)
    positions = sorted(
        {start, start + 1, stop - 1, *rng.sample(range(start, stop), 24)}
        | set(rng.sample(range(len(original)), 16))
    )
    outcomes = {"same": 0, "refused": 0}
    for position in positions:
        damaged = bytearray(original)
        damaged[position] ^= 0x04
        path.write_bytes(bytes(damaged))
        for name, read in _reads(store, version.ref).items():
            try:
                got = read()
            except IntegrityError as exc:
                assert "\n" not in str(exc), f"{name} at byte {position}: {exc}"
                outcomes["refused"] += 1
            else:
                assert got == expected[name], f"{name} at byte {position} read damaged data"
                outcomes["same"] += 1
    path.write_bytes(original)
    assert outcomes["refused"] >= 6 * 24
    assert verify(store).ok


def test_ids_of_segments_without_an_ids_hash_are_checked_by_a_full_read(store, versions):
    """A catalog written before ids hashes were recorded: `ids` reads the whole table
    and checks it against the segment hash, so a flipped id byte is still refused."""
    version = versions[2]
    segments = [{"rows": s.rows, "hash": s.hash, "files": s.files} for s in version.segments]
    with store.engine.begin() as connection:
        connection.execute(
            embver.store.schema.versions.update()
            .where(embver.store.schema.versions.c.id == version.id)
            .values(segments=segments)
        )
    assert store.get(version.ref).ids == version.ids
    path = _data_files(version)[0]
    start, _ = _id_region(path, version.ids)
    data = bytearray(path.read_bytes())
    data[start + 3] ^= 0x01  # a letter of the first id
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="hash mismatch"):
        _ = store.get(version.ref).ids


def _item_files(store) -> list[Path]:
    root = Path(store._items_uri("s"))
    row = store._space_row("s")
    return [root / path for segment in row["items_segments"] for path in sorted(segment["files"])]


def _items_or_refused(store) -> str:
    """'same' when both item reads return the registered rows, 'refused' on IntegrityError."""
    try:
        frames = [store.items("s"), store.get("s@2.0.0").items()]
    except IntegrityError as exc:
        assert "\n" not in str(exc)
        return "refused"
    assert [frame["id"].tolist() for frame in frames] == [
        [f"item-{i}" for i in range(350)],
        [f"item-{i}" for i in range(300)],
    ]
    return "same"


def test_the_item_table_is_hashed_and_every_flipped_byte_is_caught(store, versions):
    files = _item_files(store)
    assert any(p.parent.name == "data" for p in files) and verify(store).item_tables == 1
    rng = random.Random(3)
    outcomes = {"same": 0, "refused": 0}
    for path in files:
        original = path.read_bytes()
        for position in _positions(len(original), rng):
            damaged = bytearray(original)
            damaged[position] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(damaged))
            assert _flagged(store) == {"s (item table)"}, f"{path.name} byte {position}"
            outcomes[_items_or_refused(store)] += 1
        path.write_bytes(original)
    assert outcomes["refused"] > 0
    assert verify(store).ok


def test_a_deleted_item_table_is_refused_on_read_and_flagged(store, versions):
    shutil.rmtree(store._items_uri("s"))
    with pytest.raises(IntegrityError, match="item table .* cannot be opened"):
        store.items("s")
    with pytest.raises(IntegrityError):
        store.get("s@1.0.0").items()
    assert _flagged(store) == {"s (item table)"}


def test_an_item_table_from_before_hashing_is_read_and_adopted_on_its_next_append(store):
    """A space migrated from revision 0001 has no recorded segments: its table reads
    unchecked, and the next append hashes it as it is, then checks it like any other."""
    _register(store, "a", 1, 0, 100)
    with store.engine.begin() as connection:
        connection.execute(
            embver.store.schema.spaces.update().values(
                items_lance_version=None, items_segments=None
            )
        )
    assert len(store.items("s")) == 100 and verify(store).item_tables == 0
    _register(store, "b", 2, 50, 100)  # 50 new ids
    row = store._space_row("s")
    assert [s["rows"] for s in row["items_segments"]] == [100, 50]
    assert len(store.items("s")) == 150 and verify(store).item_tables == 1


def test_an_item_table_no_catalog_row_records_is_replaced_by_the_first_write(store):
    """A first item write killed before the catalog recorded it leaves a table behind;
    the space's first accepted version replaces it rather than inheriting its rows."""
    import lance
    import pyarrow as pa

    from embver.store.inputs import item_table

    leftover = item_table(pa.array(["ghost"]), texts=["left by a killed writer"])
    lance.write_dataset(leftover, store._items_uri("s"))
    _register(store, "a", 1, 0, 20)
    assert store.items("s")["id"].tolist() == [f"item-{i}" for i in range(20)]
    assert verify(store).ok


def test_registering_into_a_space_whose_item_table_was_deleted_is_an_integrity_error(
    store, versions
):
    shutil.rmtree(store._items_uri("s"))
    with pytest.raises(IntegrityError, match="item table"):
        _register(store, "d", 5, 0, 10)


def test_a_flipped_byte_in_an_appended_segment_is_caught_on_load_naming_that_segment(
    store, versions
):
    """The load decodes every segment in one pass and re-hashes each against its own
    hash: damage to the appended rows' vectors names segment 1, not segment 0."""
    version = versions[0]
    segments = [{"rows": s.rows, "hash": s.hash} for s in version.segments]
    with store.engine.begin() as connection:  # no file hashes: only the content hash
        connection.execute(
            embver.store.schema.versions.update()
            .where(embver.store.schema.versions.c.id == version.id)
            .values(segments=segments)
        )
    appended = _vectors(2, 50).tobytes()
    (path,) = [p for p in _data_files(version) if p.read_bytes().find(appended[:64]) >= 0]
    data = bytearray(path.read_bytes())
    data[data.find(appended[:64]) + 200] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"segment 1 \(rows 300-349\) hash mismatch"):
        store.get(version.ref).vectors()
    # the other versions still load, exactly as registered
    np.testing.assert_array_equal(store.get(versions[1].ref).vectors(), _vectors(3, 300))


@pytest.mark.parametrize("rows", [1, 7, 300])
def test_register_then_load_returns_the_exact_vectors_in_order(store, rows):
    """One-batch decode: every row back bit for bit, ids in registration order."""
    version = _register(store, f"rows-{rows}", 10 + rows, 0, rows)
    loaded = store.get(version.ref)
    np.testing.assert_array_equal(loaded.vectors(), _vectors(10 + rows, rows))
    assert loaded.ids == [f"item-{i}" for i in range(rows)]
    picked = [f"item-{i}" for i in range(rows - 1, -1, -3)]
    np.testing.assert_array_equal(
        loaded.vectors(ids=picked), _vectors(10 + rows, rows)[rows - 1 :: -3]
    )


def test_peeked_rows_are_the_stored_rows_and_are_not_content_checked(store, versions):
    """``peek_rows`` (the UI's preview) reads some rows without the hash: a damaged row
    comes back as it is, while the checked read of the same version refuses it."""
    version = versions[1]
    rows = np.array([0, 5, 17, 299])
    np.testing.assert_array_equal(version.peek_rows(rows), version.vectors()[rows])
    path = _data_files(version)[0]
    data = bytearray(path.read_bytes())
    offset = bytes(data).find(_vectors(3, 300)[17].tobytes())
    assert offset >= 0, "vectors are stored uncompressed"
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    peeked = store.get(version.ref).peek_rows(rows)
    assert not np.array_equal(peeked[2], _vectors(3, 300)[17])
    with pytest.raises(IntegrityError, match="content hash"):
        store.get(version.ref).vectors()


def test_peeking_a_missing_or_cut_back_dataset_is_refused(store, versions):
    """What a peek can check, it does: the dataset is there, with the recorded rows."""
    version = versions[1]
    table = version.to_arrow()
    shutil.rmtree(version.data_uri)
    with pytest.raises(IntegrityError, match="cannot be opened"):
        store.get(version.ref).peek_rows(np.array([0, 1]))
    embver.store.vectors.write_dataset(version.data_uri, table.slice(0, 250))
    with pytest.raises(IntegrityError, match="300 rows the catalog expects"):
        store.get(version.ref).peek_rows(np.array([0, 1]))
