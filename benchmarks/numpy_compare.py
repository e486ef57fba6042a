"""The plain-numpy peer of ``embver compare`` (benchmarks/bench_cli.py runs both).

Given two .npy files of the same items' vectors (rows paired, dimensions may
differ), computes with numpy alone, exactly:

- the 10-NN overlap per item under cosine similarity (neighbours exclude the
  item itself), its mean;
- linear CKA of the unit-normalised, centred vectors;
- the orthogonal Procrustes angle between them (as embver reports it: the
  arccos of the nuclear norm of XᵀY over the Frobenius norms, after padding the
  smaller dimension with zeros), from one SVD.

    python benchmarks/numpy_compare.py a.npy b.npy [--k 10]

Prints one JSON object. It is the arithmetic a user could write in a few lines,
so its fresh-process wall time is the floor ``embver compare`` is measured against.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

_BLOCK = 2048


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, float32 (n, d)."""
    data = np.asarray(vectors, dtype=np.float32)
    return data / np.maximum(np.linalg.norm(data, axis=1, keepdims=True), 1e-12)


def knn_cosine(data: np.ndarray, k: int) -> np.ndarray:
    """Exact k nearest other rows of unit ``data`` (n, d) by cosine: int array (n, k)."""
    n = data.shape[0]
    found = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _BLOCK):
        scores = data[start : start + _BLOCK] @ data.T
        rows = np.arange(start, min(start + _BLOCK, n))
        scores[rows - start, rows] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        found[rows] = top
    return found


def knn_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Mean over items of |kNN_a ∩ kNN_b| / k."""
    nb_a, nb_b = knn_cosine(a, k), knn_cosine(b, k)
    shared = [
        np.intersect1d(x, y, assume_unique=True).size for x, y in zip(nb_a, nb_b, strict=True)
    ]
    return float(np.mean(shared) / k)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of centred x (n, p) and y (n, q): ‖XᵀY‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)."""
    x = x.astype(np.float64) - x.mean(axis=0)
    y = y.astype(np.float64) - y.mean(axis=0)
    cross = np.linalg.norm(x.T @ y) ** 2
    return float(cross / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def procrustes_angle(x: np.ndarray, y: np.ndarray) -> float:
    """Angle (radians) between centred x and y after the best rotation of x onto y."""
    x = x.astype(np.float64) - x.mean(axis=0)
    y = y.astype(np.float64) - y.mean(axis=0)
    nuclear = np.linalg.svd(x.T @ y, compute_uv=False).sum()
    cosine = nuclear / (np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    a, b = unit(np.load(args.old)), unit(np.load(args.new))
    out = {
        "n": int(a.shape[0]),
        f"overlap_at_{args.k}": knn_overlap(a, b, args.k),
        "cka": linear_cka(a, b),
        "procrustes_angle": procrustes_angle(a, b),
    }
    out["seconds"] = round(time.perf_counter() - started, 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
