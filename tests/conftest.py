"""Shared fixtures: real stores in temporary folders, small real data."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import embver  # noqa: E402


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
