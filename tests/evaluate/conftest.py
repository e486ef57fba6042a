"""The BBC fixture of tests/project, loaded from its file so its vectors' cache is shared."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "project_conftest", Path(__file__).parents[1] / "project" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_project = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _project  # dataclasses look their module up there
_spec.loader.exec_module(_project)

bbc = _project.bbc
perturbed = _project.perturbed


@pytest.fixture(scope="module")
def clustered():
    """500 vectors (24 dims) around 5 centres of unequal sizes, with labels and ids."""
    rng = np.random.default_rng(7)
    sizes = [160, 120, 100, 70, 50]
    centres = rng.normal(size=(5, 24))
    codes = np.repeat(np.arange(5), sizes)
    vectors = (0.5 * centres[codes] + rng.normal(size=(codes.size, 24))).astype(np.float32)
    order = rng.permutation(codes.size)
    labels = [f"class-{c}" for c in codes[order]]
    ids = [f"item-{i:04d}" for i in range(codes.size)]
    return vectors[order], ids, labels
