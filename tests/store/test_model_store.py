"""Kept models in the store: content-addressed, stored once, re-hashed, collected.

Small real folders stand for models here (the store keeps files, it never loads them);
tests/extract/test_kept_models.py keeps and loads a real one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

# the moto S3 server fixtures of the object-storage tests
from test_object_storage import BUCKET, prefix, s3_env, s3_server, s3_store  # noqa: F401

import embver
from embver.errors import IntegrityError, InvalidInputError
from embver.store import schema
from embver.store.maintenance import gc, verify
from embver.store.models import ModelFiles

FILES = {"config.json": b'{"hidden_size": 4}', "model.safetensors": bytes(range(256)) * 400}


@pytest.fixture
def model_dir(tmp_path) -> Path:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    for name, payload in FILES.items():
        (folder / name).write_bytes(payload)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode": "mean"}')
    return folder


def _recipe(extraction: str) -> embver.Recipe:
    return embver.Recipe(architecture="a", extraction=extraction, weights="w", dim=4)


def _register(store, model_dir, extraction="mean", space="s"):
    vectors = np.random.default_rng(len(extraction)).normal(size=(5, 4)).astype(np.float32)
    return store.space(space).register(
        vectors, ids=list("abcde"), recipe=_recipe(extraction),
        model_files=ModelFiles("sentence-transformers", model_dir),
    )  # fmt: skip


def _model_bytes_on_disk(store) -> int:
    root = Path(store.location.data_uri) / "models"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_versions_sharing_a_model_store_it_once(store, model_dir):
    versions = [_register(store, model_dir, f"extraction-{i}") for i in range(5)]
    versions.append(_register(store, model_dir, "other-space", space="t"))
    assert len({v.model_digest for v in versions}) == 1 and versions[0].model_digest
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    assert _model_bytes_on_disk(store) == size == versions[0].model["bytes"] == 102_442
    with store.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(schema.models)).scalar() == 1
        )
    folder = store._model_folder(versions[0].model_digest)
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert verify(store).models == 1 and verify(store).ok


def test_a_version_without_a_model_stays_valid(store):
    version = store.space("s").register(np.eye(4, dtype=np.float32), ids=list("abcd"),
                                        recipe=_recipe("mean"))  # fmt: skip
    assert version.model_digest is None and version.to_dict()["model"] is None
    assert verify(store).ok


def test_a_damaged_byte_is_reported_by_verify_and_refused_on_load(store, model_dir):
    version = _register(store, model_dir)
    weights = Path(store.location.data_uri) / "models" / version.model_digest / "model.safetensors"
    payload = bytearray(weights.read_bytes())
    payload[1234] ^= 0x01
    weights.write_bytes(bytes(payload))
    report = verify(store)
    assert not report.ok
    assert report.problems == [{
        "ref": f"model {version.model_digest[:12]}",
        "problem": f"model {version.model_digest} is damaged: model.safetensors does not "
        "match its digest",
    }]  # fmt: skip
    with pytest.raises(IntegrityError, match=r"is damaged: model.safetensors \(content differs\)"):
        store._model_folder(version.model_digest)
    # loading re-hashes while it reads: what the loader made of damaged files is dropped,
    # and a loader that failed on the damage is reported as the damage
    loaded = []
    with pytest.raises(IntegrityError, match=r"is damaged: model.safetensors \(content differs\)"):
        store._load_model(version.model_digest, lambda folder: loaded.append(folder) or "model")
    assert len(loaded) == 1

    def failing(folder):
        raise ValueError("header too large")

    with pytest.raises(IntegrityError, match="is damaged"):
        store._load_model(version.model_digest, failing)
    weights.write_bytes(
        bytes(payload[:1234]) + bytes([payload[1234] ^ 0x01]) + bytes(payload[1235:])
    )
    assert (
        store._load_model(version.model_digest, lambda folder: folder.name) == version.model_digest
    )
    with pytest.raises(
        ValueError, match="header too large"
    ):  # intact files: the loader's own error
        store._load_model(version.model_digest, failing)


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
import numpy as np
import embver
from embver.store.models import ModelFiles
from embver.store.store import Store

written = []
original = Store._write_bytes

def write_then_die(self, relative, payload):
    if relative.startswith("models/") and len(written) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-model: two files of three are written
    written.append(relative)
    original(self, relative, payload)

Store._write_bytes = write_then_die
store = embver.open(sys.argv[1])
recipe = embver.Recipe(architecture="a", extraction="killed", weights="w", dim=4)
files = ModelFiles("sentence-transformers", Path(sys.argv[2]))
store.space("s").register(np.eye(4, dtype=np.float32), ids=list("abcd"), recipe=recipe,
                          model_files=files)
"""


def test_a_kill_during_the_model_write_leaves_no_catalog_row_referencing_it(
    store, model_dir, tmp_path
):
    kept = _register(store, model_dir, "kept")
    other = tmp_path / "other"
    other.mkdir()
    for name, payload in FILES.items():
        (other / name).write_bytes(payload + b"!")
    (other / "extra.json").write_text("{}")
    store.close()
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(store.location.root), str(other)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == -9, result.stderr
    reopened = embver.open(store.location.root)
    with reopened.engine.connect() as connection:
        digests = [row[0] for row in connection.execute(sa.select(schema.models.c.digest))]
    assert digests == [kept.model_digest]
    assert [v.model_digest for v in reopened.versions("s")] == [kept.model_digest]
    models_root = Path(reopened.location.data_uri) / "models"
    assert len(list(models_root.iterdir())) == 2  # the half model's folder is an orphan
    assert verify(reopened).ok
    removed = gc(reopened, grace_seconds=0).removed
    assert len(removed) == 1 and removed[0].startswith("models/")
    assert [p.name for p in models_root.iterdir()] == [kept.model_digest]
    assert verify(reopened).ok


def test_gc_removes_models_no_version_names_and_keeps_the_rest(store, model_dir, tmp_path):
    used = _register(store, model_dir)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "config.json").write_text('{"lonely": true}')
    digest = store._keep_model(ModelFiles("huggingface", lonely))
    assert gc(store, grace_seconds=3600).removed == []  # young: a writer may be committing
    report = gc(store, grace_seconds=0)
    assert sorted(report.removed) == sorted([f"model {digest}", f"models/{digest}"])
    assert store._model(digest) is None and store._model(used.model_digest) is not None
    assert (store._model_folder(used.model_digest) / "config.json").exists()
    assert gc(store, grace_seconds=0).removed == []


def test_bad_input_with_a_model_leaves_the_store_unchanged(store, model_dir, store_snapshot):
    _register(store, model_dir)
    before = store_snapshot(store)
    with pytest.raises(InvalidInputError) as info:
        store.space("s").register(
            np.ones((3, 5), np.float32), ids=list("xyz"), recipe=_recipe("wide"),
            model_files=ModelFiles("sentence-transformers", model_dir.parent / "missing"),
        )  # fmt: skip
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidInputError, match="model kind 'onnx' is unknown"):
        ModelFiles("onnx", model_dir)
    assert store_snapshot(store) == before


def test_models_on_object_storage_are_copied_and_re_hashed(s3_store, s3_env, prefix, model_dir):  # noqa: F811
    version = _register(s3_store, model_dir)
    keys = [k for k in s3_env.keys(f"{prefix}/models/") if not k.endswith("/")]  # no folders
    assert keys == sorted(f"{prefix}/models/{version.model_digest}/{name}"
                          for name in ["1_Pooling/config.json", *FILES])  # fmt: skip
    folder = s3_store._model_folder(version.model_digest)
    assert folder.is_relative_to(Path(s3_store.location.root) / "cache")
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    key = f"{prefix}/models/{version.model_digest}/model.safetensors"
    s3_env.client.put_object(Bucket=BUCKET, Key=key, Body=b"broken")
    assert [p["ref"] for p in verify(s3_store).problems] == [f"model {version.model_digest[:12]}"]
    import shutil

    shutil.rmtree(folder)
    with pytest.raises(IntegrityError, match="missing or truncated"):
        s3_store._model_folder(version.model_digest)
