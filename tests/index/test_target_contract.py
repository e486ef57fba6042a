"""Every Target backend against the same contract, readers' view checked with its own client."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from rows import cosine_top_k, make_batch

from embver.errors import IndexTargetError
from embver.index.base import open_target, row_hash

DIM = 16


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"item-{i:04d}" for i in range(start, start + n)]


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return _ids(120), rng.normal(size=(120, DIM)).astype(np.float32)


def _scanned(target, table: str) -> dict[str, tuple[str, str, np.ndarray]]:
    rows = {}
    for batch in target.scan(
        table, ["id", "vector", "embver_version", "embver_content_hash"], batch_size=50
    ):
        assert len(batch) <= 50
        vectors = np.asarray(batch.column("vector").to_pylist(), dtype=np.float32)
        for i, row_id in enumerate(batch.column("id").to_pylist()):
            rows[row_id] = (
                batch.column("embver_version")[i].as_py(),
                batch.column("embver_content_hash")[i].as_py(),
                vectors[i],
            )
    return rows


def test_a_fresh_target_holds_nothing(case):
    with open_target(case.url) as target:
        assert target.reader_table() is None
        assert target.tables() == []
        assert target.foreign() is None
        assert target.next_table() == f"{target.reader}__embver_1"
    assert case.reader_ids() == set()


def test_create_is_idempotent_and_refuses_another_dimension(case):
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, ["text"])
        target.create(table, DIM, ["text"])
        assert target.dimension(table) == DIM
        assert target.tables() == [table]
        with pytest.raises(IndexTargetError, match="dimension"):
            target.create(table, DIM + 8, ["text"])
        assert target.dimension(table) == DIM
        assert target.dimension(f"{target.reader}__embver_9") is None


def test_upsert_count_scan_and_readers_after_switch(case, data):
    ids, vectors = data
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, ["text"])
        target.upsert(table, make_batch(ids[:100], vectors[:100], fields={"text": ids[:100]}))
        assert target.count(table) == 100
        assert case.reader_ids() == set()  # not switched yet: readers see nothing
        target.switch(table)
        assert target.reader_table() == table
        assert case.reader_ids() == set(ids[:100])
        assert case.reader_versions() == {"1.0.0": 100}

        # overlapping upsert: 50 replaced under a new version, 20 new
        changed = vectors[50:120] + 0.5
        batch = make_batch(ids[50:120], changed, version="1.0.1", fields={"text": ids[50:120]})
        target.upsert(table, batch)
        target.flush()
        assert target.count(table) == 120
        assert case.reader_versions() == {"1.0.0": 50, "1.0.1": 70}
        scanned = _scanned(target, table)
        assert set(scanned) == set(ids)
        for i, row_id in enumerate(ids):
            version, digest, vector = scanned[row_id]
            expected = vectors[i] if i < 50 else changed[i - 50]
            assert version == ("1.0.0" if i < 50 else "1.0.1")
            assert digest == row_hash(expected)
            if case.metric != "cosine" or case.scheme != "faiss":
                np.testing.assert_allclose(vector, expected, rtol=1e-6)

        target.upsert(table, batch)  # idempotent
        assert target.count(table) == 120


def test_search_finds_what_brute_force_finds(case, data):
    ids, vectors = data
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, [])
        target.upsert(table, make_batch(ids, vectors))
        target.switch(table)
        rng = np.random.default_rng(3)
        for row in (5, 77):
            query = vectors[row] + rng.normal(scale=0.01, size=DIM).astype(np.float32)
            expected = cosine_top_k(ids, vectors, query, 10)
            for found in (target.search(None, query, 10), case.reader_search(query, 10)):
                assert found[0] == ids[row]
                assert len(set(found) & set(expected)) >= 9
            assert target.search(table, query, 3)[0] == ids[row]


def test_delete_removes_only_those_ids(case, data):
    ids, vectors = data
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, [])
        target.upsert(table, make_batch(ids, vectors))
        target.switch(table)
        target.delete(table, [*ids[:10], "not-there"])
        target.flush()
        assert target.count(table) == 110
        assert case.reader_ids() == set(ids[10:])


def test_switch_moves_readers_to_another_table_and_drop_keeps_the_readers_one(case, data):
    ids, vectors = data
    with open_target(case.url) as target:
        old = target.next_table()
        target.create(old, DIM, ["text"])
        target.upsert(old, make_batch(ids, vectors, fields={"text": ids}))
        target.switch(old)
        new = target.next_table()
        assert new == f"{target.reader}__embver_2"
        shuffled = np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32)
        target.create(new, 8, [])  # another dimension: a MAJOR change
        target.upsert(new, make_batch(ids[:60], shuffled, version="2.0.0"))
        assert case.reader_versions() == {"1.0.0": 120}
        target.switch(new)
        assert target.reader_table() == new
        assert target.tables() == [old, new]
        assert case.reader_versions() == {"2.0.0": 60}
        assert case.reader_search(shuffled[3], 1) == [ids[3]]
        with pytest.raises(IndexTargetError):
            target.drop(new)
        target.switch(old)  # and back (a rollback)
        assert case.reader_versions() == {"1.0.0": 120}
        target.drop(new)
        assert target.tables() == [old]
        assert target.foreign() is None


def test_scan_of_an_empty_table_yields_no_rows(case):
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, [])
        batches = list(target.scan(table, ["id", "embver_content_hash"], batch_size=10))
        assert sum(len(b) for b in batches) == 0
        assert all(isinstance(b, pa.RecordBatch) for b in batches)


def test_insert_adds_new_rows_and_a_later_upsert_still_replaces_by_id(case, data):
    ids, vectors = data
    with open_target(case.url) as target:
        table = target.next_table()
        target.create(table, DIM, [])
        target.insert(table, make_batch(ids[:60], vectors[:60]))
        target.insert(table, make_batch(ids[60:], vectors[60:]))
        target.upsert(table, make_batch(ids[:10], vectors[:10] + 1.0, version="1.0.1"))
        target.flush()
        assert target.count(table) == 120
        target.switch(table)
    assert case.reader_ids() == set(ids)
    assert case.reader_versions() == {"1.0.0": 110, "1.0.1": 10}
