"""Artifacts (projections, fitted maps, composite definitions) are content-hashed:
damage is an IntegrityError on read and a problem in verify, never a decoder's crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import embver
from embver.composite.definition import DEFINITION_KIND
from embver.errors import IntegrityError
from embver.project.api import PROJECTION_KIND
from embver.store import schema
from embver.store.maintenance import verify

N, D = 60, 8


@pytest.fixture
def version(store):
    recipe = embver.Recipe(architecture="a", extraction="mean", weights="w", dim=D)
    vectors = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    return store.space("s").register(vectors, ids=[f"i{n}" for n in range(N)], recipe=recipe)


def _payload_file(store, kind: str) -> Path:
    (artifact,) = store.artifacts.find(kind)
    return Path(store.data_path(artifact.data_uri))


def _flagged(store) -> list[str]:
    return [problem["ref"] for problem in verify(store).problems]


def test_a_damaged_projection_is_an_integrity_error_not_bad_zip_file(store, version):
    first = store.project(version.ref, method="pca")
    assert verify(store).artifacts == len(store.artifacts.all()) >= 1
    path = _payload_file(store, PROJECTION_KIND)
    original = path.read_bytes()
    for position in (0, 1, len(original) // 2, len(original) - 1):
        damaged = bytearray(original)
        damaged[position] ^= 0x20
        path.write_bytes(bytes(damaged))
        with pytest.raises(IntegrityError, match="projection/.*content hash") as info:
            store.project(version.ref, method="pca")
        assert "\n" not in str(info.value)
        assert _flagged(store) == [f"artifact {PROJECTION_KIND}/{first.key}"]
    path.write_bytes(original)
    np.testing.assert_array_equal(store.project(version.ref, method="pca").coords, first.coords)
    assert verify(store).ok


def test_a_missing_payload_is_an_integrity_error(store, version):
    store.project(version.ref, method="pca")
    _payload_file(store, PROJECTION_KIND).unlink()
    with pytest.raises(IntegrityError, match="payload .* is missing"):
        store.project(version.ref, method="pca")
    assert len(_flagged(store)) == 1


def test_changed_meta_of_an_artifact_without_payload_is_refused(store):
    """A composite definition is all meta: a changed catalog row is refused when read."""
    store.artifacts.put(DEFINITION_KIND, "c", meta={"components": [{"name": "x", "pin": "1.0.0"}]})
    assert store.artifacts.get(DEFINITION_KIND, "c").meta["components"][0]["pin"] == "1.0.0"
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(schema.artifacts).values(meta={"components": [{"name": "x", "pin": "2"}]})
        )
    with pytest.raises(IntegrityError, match=f"artifact {DEFINITION_KIND}/c does not match"):
        store.artifacts.get(DEFINITION_KIND, "c")
    with pytest.raises(IntegrityError):
        store.artifacts.find(DEFINITION_KIND)
    assert _flagged(store) == [f"artifact {DEFINITION_KIND}/c"]


def test_artifacts_from_before_hashing_are_read_unchecked(store):
    store.artifacts.put("fit", "f", b"\x00\x01", meta={"n": 1})
    with store.engine.begin() as connection:
        connection.execute(sa.update(schema.artifacts).values(content_hash=None))
    assert store.artifacts.get("fit", "f").payload == b"\x00\x01"
    report = verify(store)
    assert report.ok and report.artifacts == 0
