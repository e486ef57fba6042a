"""Registering a PATCH of wide vectors: the README's example (100 items × 2048 dims).

A PATCH is judged at registration (``patch_verdict`` → ``fit_migration``). With
fewer items than dimensions the maps are fitted in the dual (n × n) form; this
prints the time of ``register`` for the PATCH and the time of one Procrustes and
one ridge fit in the primal (d × d) and the dual form on the same data.

    python benchmarks/bench_verdict.py [--n 100] [--dim 2048]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import embver
from embver.compare.maps import fit_procrustes, fit_ridge


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def register_patch(n: int, dim: int) -> tuple[float, float, str]:
    """Wall and CPU seconds to register the README's PATCH over its parent, and the verdict."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = embver.init(str(Path(tmp) / "bench"))
        space = store.space("stop-signs")
        ids = [f"img-{i}" for i in range(n)]
        recipe = embver.Recipe(
            architecture="resnet50", extraction="avgpool", weights="run-5", dim=dim
        )
        space.register(rng.random((n, dim)), ids=ids, recipe=recipe)
        patch = embver.Recipe(
            architecture="resnet50", extraction="avgpool", weights="run-6", dim=dim
        )
        start, cpu = time.perf_counter(), time.process_time()
        version = space.register(rng.random((n, dim)), ids=ids, recipe=patch)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        return elapsed, cpu, str((version.verdict or {}).get("label"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--dim", type=int, default=2048)
    args = parser.parse_args()
    shape = f"{args.n} × {args.dim}"
    # the first registration also imports the comparison engine (scikit-learn, faiss);
    # CPU seconds read the true cost on a busy machine (all threads of this process)
    for state in ("cold", "warm"):
        elapsed, cpu, label = register_patch(args.n, args.dim)
        print(
            f"register PATCH {shape} ({state}): {elapsed:6.2f} s wall, {cpu:6.2f} s CPU "
            f"(verdict {label})"
        )
    rng = np.random.default_rng(1)
    x, y = rng.random((args.n, args.dim)), rng.random((args.n, args.dim))
    for name, fit in (("procrustes", fit_procrustes), ("ridge", fit_ridge)):
        primal = seconds(lambda fit=fit: fit(x, y, dual=False))
        dual = seconds(lambda fit=fit: fit(x, y, dual=True))
        ratio = primal / dual
        print(f"{name:<10} primal {primal:6.2f} s   dual {dual:6.3f} s   primal/dual {ratio:6.1f}×")


if __name__ == "__main__":
    main()
