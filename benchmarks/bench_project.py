"""Benchmark: embver's UMAP path against umap-learn's defaults, time and trustworthiness.

Each run happens in a fresh Python process, so the time includes imports and
numba compilation (from its on-disk cache, warmed by one throwaway run of each
side first): that is the time to first projection a user waits for. Reported:

- wall: seconds of the fresh process from start to layout in hand
- fit: seconds of the layout call alone
- cpu: user+sys seconds of the process (all threads)
- T@10: trustworthiness (k=10, scikit-learn, cosine in the original space) on a
  fixed random sample of 2,000 items, the same sample for both sides

Data: real all-MiniLM-L6-v2 embeddings of BBC News sentences (see bench_data.py),
and Gaussian clusters with the real embeddings' covariance spectrum for sizes
the corpus cannot reach. umap-learn runs with default parameters on the
unit-normalised vectors (Euclidean on the unit sphere ranks as cosine does).

Usage::

    python benchmarks/bench_project.py --sizes 10000 50000 100000 --out results.json

Goal (issue 5): embver's time <= 0.5x umap-learn's at T@10 >= umap-learn's - 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLE = 2000

CHILD = r"""
import sys, time, json, resource
started = time.perf_counter()
import numpy as np
side, data_path, out_path = sys.argv[1:4]
data = np.load(data_path)
t0 = time.perf_counter()
if side == "embver":
    from embver.project.layout import umap_layout
    layout = umap_layout(data, dims=2, seed=0)
else:
    import umap
    layout = umap.UMAP().fit_transform(data)
fit = time.perf_counter() - t0
wall = time.perf_counter() - started
np.save(out_path, np.asarray(layout, dtype=np.float32))
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "fit": fit, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def run_side(side: str, data_path: Path, workdir: Path) -> tuple[dict[str, float], np.ndarray]:
    """Run one side in a fresh process; its timings and the layout (n, 2)."""
    out = workdir / f"{side}.npy"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, side, str(data_path), str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    timings["process"] = time.perf_counter() - started
    return timings, np.load(out)


def trust_on_sample(data: np.ndarray, layout: np.ndarray, rows: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(data[rows], layout[rows], n_neighbors=10, metric="cosine"))


def datasets(sizes: list[int]) -> list[tuple[str, np.ndarray]]:
    """(name, unit-normalised float32 vectors) for each requested size."""
    sys.path.insert(0, str(HERE))
    from bench_data import real_embeddings, synthetic_like

    real, _ = real_embeddings()
    out = []
    for n in sizes:
        if n <= len(real):
            rows = np.random.default_rng(0).permutation(len(real))[:n]
            name, vectors = f"real-minilm-bbc-{n // 1000}k", real[rows]
        else:
            name, vectors = f"synthetic-spectrum-{n // 1000}k", synthetic_like(real, n, seed=0)
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        out.append((name, vectors.astype(np.float32)))
    return out


def warm_caches(workdir: Path) -> None:
    """One throwaway run per side so numba's on-disk caches exist for both."""
    rng = np.random.default_rng(0)
    path = workdir / "warm.npy"
    np.save(path, rng.standard_normal((2000, 384)).astype(np.float32))
    for side in ("embver", "umap"):
        run_side(side, path, workdir)


def bench(sizes: list[int], sides: list[str]) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        warm_caches(workdir)
        for name, vectors in datasets(sizes):
            path = workdir / "data.npy"
            np.save(path, vectors)
            rows = np.random.default_rng(1).choice(
                len(vectors), min(SAMPLE, len(vectors)), replace=False
            )
            row: dict[str, object] = {"data": name, "n": len(vectors), "dim": vectors.shape[1]}
            for side in sides:
                timings, layout = run_side(side, path, workdir)
                row[side] = {
                    **{k: round(v, 2) for k, v in timings.items()},
                    "trust10": round(trust_on_sample(vectors, layout, rows), 4),
                }
                print(json.dumps({"data": name, "side": side, **row[side]}), flush=True)
            if "embver" in row and "umap" in row:
                e, u = row["embver"], row["umap"]
                assert isinstance(e, dict) and isinstance(u, dict)
                row["time_ratio_wall"] = round(e["wall"] / u["wall"], 3)
                row["time_ratio_cpu"] = round(e["cpu"] / u["cpu"], 3)
                row["trust_delta"] = round(e["trust10"] - u["trust10"], 4)
                row["goal_met"] = row["time_ratio_wall"] <= 0.5 and row["trust_delta"] >= -0.01
            results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--sides", nargs="+", default=["embver", "umap"])
    parser.add_argument("--out", default=None, help="Write the results as JSON here.")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}", flush=True)
    results = bench(args.sizes, args.sides)
    print(
        f"{'data':<26}{'n':>8}  {'embver wall/fit/cpu':>22}  {'umap wall/fit/cpu':>22}  "
        f"{'T@10 e/u':>14}  {'ratio wall/cpu':>15}  goal"
    )
    for r in results:
        e, u = r.get("embver", {}), r.get("umap", {})
        print(
            f"{r['data']:<26}{r['n']:>8}  "
            f"{e.get('wall', '-')!s:>7}/{e.get('fit', '-')!s:>6}/{e.get('cpu', '-')!s:>7}  "
            f"{u.get('wall', '-')!s:>7}/{u.get('fit', '-')!s:>6}/{u.get('cpu', '-')!s:>7}  "
            f"{e.get('trust10', '-')!s:>6}/{u.get('trust10', '-')!s:<7}  "
            f"{r.get('time_ratio_wall', '-')!s:>6}/{r.get('time_ratio_cpu', '-')!s:<7}  "
            f"{r.get('goal_met', '-')}"
        )
    print(f"load average after: {os.getloadavg()}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    _ = resource
    main()
