"""A small store whose versions have known verdicts against 1.0.0, built once per module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import embver

N, DIM = 300, 16


@dataclass
class Versions:
    store: embver.Store
    path: Path
    ids: list[str]
    v100: embver.Version  # base
    v101: embver.Version  # tiny noise: drop-in
    v102: embver.Version  # 1.0.1 rotated: adapter against 1.0.1
    v103: embver.Version  # shuffled rows: breaking against 1.0.1
    v200: embver.Version  # another extraction and dimension: MAJOR


def _recipe(weights: str, extraction: str = "mean", dim: int = DIM) -> embver.Recipe:
    return embver.Recipe(architecture="arch", extraction=extraction, weights=weights, dim=dim)


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def build_versions(root: Path) -> Versions:
    rng = np.random.default_rng(0)
    ids = [f"item-{i:04d}" for i in range(N)]
    base = rng.normal(size=(N, DIM)).astype(np.float32)
    store = embver.init(root)
    space = store.space("docs")
    v100 = space.register(
        base, ids=ids, recipe=_recipe("w1"),
        texts=[f"text {i}" for i in range(N)], labels=[f"label-{i % 3}" for i in range(N)],
    )  # fmt: skip
    noise = rng.normal(scale=0.01, size=(N, DIM)).astype(np.float32)
    v101 = space.register(base + noise, ids=ids, recipe=_recipe("w2"), parent=v100)
    # both PATCHes of 1.0.1, so each migration from 1.0.1 has a recorded verdict
    rotated = (base + noise) @ _rotation(DIM, 1)
    v102 = space.register(rotated, ids=ids, recipe=_recipe("w3"), parent=v101)
    v103 = space.register(rng.permutation(base), ids=ids, recipe=_recipe("w4"), parent=v101)
    small = _recipe("w1", extraction="cls", dim=8)
    v200 = space.register(base[:, :8].copy(), ids=ids, recipe=small, parent=v100)
    return Versions(store, root, ids, v100, v101, v102, v103, v200)


def open_versions(root: Path) -> Versions:
    """The versions of a store :func:`build_versions` made (or a copy of it)."""
    store = embver.open(root)
    get = store.get
    ids = get("docs@1.0.0").ids
    refs = ("1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0")
    return Versions(store, root, ids, *(get(f"docs@{r}") for r in refs))
