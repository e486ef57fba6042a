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

    The engine is disposed first so SQLite checkpoints its WAL into the main file.
    """
    import hashlib
    from pathlib import Path

    store.engine.dispose()
    root = Path(store.location.root)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm")
    }


@pytest.fixture
def store_snapshot():
    """A function returning a byte-level snapshot of a store's folder."""
    return _snapshot
