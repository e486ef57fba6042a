"""gc and the checkpoints interrupted embedding runs leave in ``<store>/work/embed/``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from embver.extract.runner import Checkpoint
from embver.store import gc


def _checkpoint(store, name: str, age_seconds: float) -> Path:
    folder = Path(store.location.root) / "work" / "embed" / name
    checkpoint = Checkpoint(folder, {"recipe": name, "count": 4})
    checkpoint.commit(np.arange(2), np.ones((2, 3), np.float32))
    then = time.time() - age_seconds
    for path in folder.rglob("*"):
        os.utime(path, (then, then))
    return folder


def test_gc_removes_only_checkpoints_older_than_the_work_grace(store):
    old = _checkpoint(store, "s-old", age_seconds=8 * 24 * 3600)
    recent = _checkpoint(store, "s-recent", age_seconds=3600)

    preview = gc(store, dry_run=True)
    assert preview.removed == ["work/embed/s-old"]
    assert old.is_dir()

    report = gc(store)
    assert report.removed == ["work/embed/s-old"]
    assert not old.exists() and recent.is_dir()
    # a recent checkpoint still resumes
    loaded, done = Checkpoint(recent, {"recipe": "s-recent", "count": 4}).load(4)
    assert loaded is not None and done.sum() == 2


def test_work_grace_is_configurable(store):
    folder = _checkpoint(store, "s-hour", age_seconds=2 * 3600)
    assert gc(store, work_grace_seconds=24 * 3600).removed == []
    assert gc(store, work_grace_seconds=3600).removed == ["work/embed/s-hour"]
    assert not folder.exists()
