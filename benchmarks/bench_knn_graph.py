"""The UMAP k-NN graph above 20k points: faiss IVF against brute force, time and recall.

Same data as bench_project.py (synthetic vectors with the real embeddings' spectrum,
unit-normalised, PCA to 50 dimensions as the UMAP path does), k = 15 counting the
point itself. Recall@k is the share of the brute-force neighbours the IVF graph finds.

    python benchmarks/bench_knn_graph.py [--n 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from embver.neighbors import knn
from embver.project.layout import prepare_vectors, reduce_dimensions
from embver.project.neighbors import _ivf_knn

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=15)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_data import real_embeddings, synthetic_like

    real, _ = real_embeddings()
    points = reduce_dimensions(prepare_vectors(synthetic_like(real, args.n, seed=0)), 50)
    others = args.k - 1
    start = time.perf_counter()
    exact = knn(points, others, metric="l2", prepared=True)
    brute = time.perf_counter() - start
    start = time.perf_counter()
    found = _ivf_knn(points, others)
    ivf = time.perf_counter() - start
    recall = np.mean([len(set(a) & set(b)) / others for a, b in zip(found, exact, strict=True)])
    print(f"{args.n} points × 50 dims, k = {args.k}")
    print(f"brute force (faiss)  {brute:6.2f} s")
    print(f"IVF (4·√n lists, 32 probed) {ivf:6.2f} s   {ivf / brute:.2f}× brute force")
    print(f"recall@{args.k}: {recall:.4f}")


if __name__ == "__main__":
    main()
