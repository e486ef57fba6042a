"""umap is imported without pynndescent (embver.project._umap_import), and umap-learn
still reaches the real pynndescent when it needs it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import numpy as np
from embver.project.layout import umap_layout

points = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
layout = umap_layout(points, dims=2, seed=0, n_epochs=20)
print("layout", layout.shape, bool(np.isfinite(layout).all()))
print("pynndescent loaded:", "pynndescent" in sys.modules)
import umap.umap_
print("lookup:", "euclidean" in umap.umap_.pynn_named_distances)
import pynndescent
print("real:", pynndescent.NNDescent.__module__)
"""


def test_a_layout_does_not_load_pynndescent_and_umap_still_finds_it():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "layout (60, 2) True",
        "pynndescent loaded: False",
        "lookup: True",
        "real: pynndescent.pynndescent_",
    ]
