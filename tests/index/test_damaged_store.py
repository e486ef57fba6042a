"""A version whose Lance data is damaged (a real flipped byte) fails mid-stream while it is
published or migrated, and readers stay on the old complete table (checked with each
backend's own client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from embver.errors import IntegrityError
from embver.index import index_status, open_target
from embver.index import migrate_index as migrate
from embver.index import publish_version as publish

BATCH = 64


def _flip_vector_byte(version, row: int) -> None:
    """Flip one bit of row ``row``'s vector where it lies in the version's Lance file."""
    vectors = version.vectors()
    payload = vectors.tobytes()
    (path,) = Path(version.data_uri).glob("data/*.lance")
    data = bytearray(path.read_bytes())
    offset = bytes(data).find(payload[:64])
    assert offset >= 0, "vectors are stored uncompressed"
    data[offset + row * vectors.shape[1] * 4 + 2] ^= 0x08
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def damaged(versions):
    """This module's copy of the store with 1.0.1 (drop-in of 1.0.0) and 2.0.0 (MAJOR)
    damaged in their last rows; 1.0.0 intact."""
    for version in (versions.v101, versions.v200):
        _flip_vector_byte(version, row=290)
        with pytest.raises(IntegrityError):
            version.vectors()
    assert versions.v100.vectors().shape == (300, 16)  # intact: it still loads
    return versions


def _readers_on_the_intact_index(case, versions) -> None:
    assert case.reader_versions() == {"1.0.0": 300}
    assert case.reader_ids() == set(versions.ids)
    assert case.reader_search(versions.v100.vectors()[11], 1) == [versions.ids[11]]


def test_a_damaged_drop_in_patch_never_reaches_the_table_readers_see(case, damaged):
    store = damaged.store
    publish(store, damaged.v100, case.url, batch=BATCH)
    with pytest.raises(IntegrityError, match=r"segment 0 \(rows 0-299\) hash mismatch") as err:
        migrate(store, case.url, damaged.v101, batch=BATCH)  # in place: checked ahead
    assert "\n" not in str(err.value) and "embver verify" in str(err.value)
    _readers_on_the_intact_index(case, damaged)


def test_a_damaged_version_fails_mid_backfill_and_readers_keep_the_old_table(case, damaged):
    store = damaged.store
    publish(store, damaged.v100, case.url, batch=BATCH)
    with pytest.raises(IntegrityError, match=r"segment 0 \(rows 0-299\) hash mismatch"):
        migrate(store, case.url, damaged.v200, batch=BATCH, allow_downtime=True)
    _readers_on_the_intact_index(case, damaged)
    with open_target(case.url) as target:
        shadow = target.tables()[-1]
        assert shadow != target.reader_table()
        written = target.count(shadow)
    assert 0 < written < 300  # streamed batches reached the shadow table, never the readers
    status = index_status(store, case.url)
    assert status.matches and status.job["kind"] == "migrate"
