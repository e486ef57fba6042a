"""The LanceDB target's record of the ids it wrote (sorted 64-bit hashes, not a set of str)."""

from __future__ import annotations

import pytest

pytest.importorskip("lancedb")

from embver.index.lancedb import WrittenIds


def test_written_ids_say_exactly_which_batches_are_new():
    written = WrittenIds()
    assert written.isdisjoint([f"id-{i}" for i in range(10)])  # nothing written yet
    for start in range(0, 5000, 1000):  # batches in no sorted order of their hashes
        batch = [f"id-{i}" for i in range(start, start + 1000)]
        assert written.isdisjoint(batch)
        written.update(batch)
    assert len(written) == 5000
    assert not written.isdisjoint(["id-4999"])  # each written id is found
    assert not written.isdisjoint(["new-1", "id-0", "new-2"])
    assert all(not written.isdisjoint([f"id-{i}"]) for i in range(0, 5000, 7))
    assert written.isdisjoint([f"new-{i}" for i in range(5000)])  # 64-bit: no collision here
    assert written.isdisjoint([])
