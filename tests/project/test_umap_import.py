"""A layout imports neither umap-learn nor pynndescent; the tests' umap-learn reference
(tests/project/umap_oracle.py) still reaches the real pynndescent when it needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LAYOUT = """
import sys
import numpy as np
from embver.project.layout import umap_layout

points = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
layout = umap_layout(points, dims=2, seed=0, n_epochs=20)
print("layout", layout.shape, bool(np.isfinite(layout).all()))
print("umap loaded:", "umap" in sys.modules, "pynndescent loaded:", "pynndescent" in sys.modules)
"""

ORACLE = """
import sys
from umap_oracle import import_umap
import_umap()
print("pynndescent loaded:", "pynndescent" in sys.modules)
import umap.umap_
print("lookup:", "euclidean" in umap.umap_.pynn_named_distances)
import pynndescent
print("real:", pynndescent.NNDescent.__module__)
"""


def _run(probe: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    return done.stdout.splitlines()


def test_a_layout_imports_neither_umap_nor_pynndescent():
    assert _run(LAYOUT) == [
        "layout (60, 2) True",
        "umap loaded: False pynndescent loaded: False",
    ]


def test_the_reference_umap_is_imported_without_pynndescent_and_still_finds_it():
    assert _run(ORACLE) == [
        "pynndescent loaded: False",
        "lookup: True",
        "real: pynndescent.pynndescent_",
    ]
