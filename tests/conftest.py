"""Shared fixtures: real stores in temporary folders, small real data."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import embver


@pytest.fixture
def store(tmp_path):
    """A fresh store (SQLite catalog, local Lance data) in a temporary folder."""
    with embver.init(tmp_path / "project") as s:
        yield s


@pytest.fixture
def recipe():
    return embver.Recipe(architecture="arch-a", extraction="mean", weights="w1", dim=16)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_ids(n: int, prefix: str = "item") -> list[str]:
    return [f"{prefix}-{i:06d}" for i in range(n)]


def _snapshot(store) -> dict[str, str]:
    """sha256 of every file under the store's folder (SQLite's shared-memory index excluded).

    SQLite's write-ahead log is first checkpointed into the catalog file through a
    fresh connection, so the hash covers every committed row whatever connection
    (the CLI's, a test's) wrote it and whenever SQLite would have checkpointed.
    """
    import hashlib
    import sqlite3
    from pathlib import Path

    store.engine.dispose()
    root = Path(store.location.root)
    for db in root.rglob("*.db"):
        conn = sqlite3.connect(db)
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
        assert busy == 0, f"could not checkpoint {db}: another connection is writing"
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not path.name.endswith("-shm")
        and not (path.name.endswith("-wal") and path.stat().st_size == 0)
    }


@pytest.fixture
def store_snapshot():
    """A function returning a byte-level snapshot of a store's folder."""
    return _snapshot
