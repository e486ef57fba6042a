"""Benchmark of the latency a user feels: fresh-process ``embver compare`` and start-up.

For each size (default 3,000 and 400 items, 384 dims) it generates two synthetic
versions of the same items (one clustered latent structure seen through two
different nonlinear maps, as ``bench_compare.py``), registers them in a fresh
store and saves them as ``a.npy`` / ``b.npy``; then, each in a fresh process,
wall clock, median of ``--repeats`` runs:

- ``python -m embver.cli compare A B --json`` (what the ``embver`` script runs);
- the peer: ``python benchmarks/numpy_compare.py a.npy b.npy`` (exact 10-NN
  overlap, linear CKA and orthogonal Procrustes in plain numpy);
- the library peer: ``python benchmarks/library_compare.py a.npy b.npy`` (every figure
  the compare prints, with the same sizes, seeds and resamples, from scikit-learn, SciPy
  and umap-learn: what a user stitching them together runs; ``--no-library-peer`` skips);
- the import floor: a fresh ``python -c "import numpy, lance, ..."`` of the libraries the
  compare's figures need (FLOOR_MODULES), whatever computes them: its ratio to the numpy
  peer is the least any compare that computes them from a fresh process can score;

and prints the ratios with each step's share of the compare (the step timings
of ``--json``, the rest being start-up: interpreter, imports, opening the store,
reading the vectors) beside the library peer's own steps. Start-up itself: the wall
time of ``embver compare --help`` and the heavy modules (torch, FastAPI, umap, numba,
...) that ``--help`` and the compare import, from ``python -X importtime``.

``--baseline SRC`` also times the compare with the package at ``SRC`` (the ``src/``
folder of another checkout, e.g. main before a change), interleaved run by run with
the current one so that both see the same load on a shared machine.

``--cold`` runs one compare first with an empty numba cache (``NUMBA_CACHE_DIR``
pointed at a new empty folder, as after a fresh install) and reports that first
run's time; the warm repeats then reuse that cache.

    python benchmarks/bench_cli.py [--sizes 3000,400] [--repeats 5] [--cold] [--baseline SRC]

Goals (issue 16): compare ≤ 2.5× the numpy peer at 3,000 items, ≤ 2× at 400;
``compare --help`` ≤ 0.5 s without torch/FastAPI/umap/numba; first run ≤ 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: modules a start-up path should not pay for unless it needs them
HEAVY = (
    "torch",
    "transformers",
    "fastapi",
    "umap",
    "pynndescent",
    "numba",
    "fast_hdbscan",
    "sklearn",
    "scipy",
    "lance",
    "pyarrow",
    "sqlalchemy",
    "faiss",
    "pandas",
    "numpy",
)


def make_versions(n: int, dim: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """Two float32 (n, dim) views of one clustered latent structure."""
    sys.path.insert(0, str(HERE))
    from bench_compare import latent, version

    z = latent(n, seed, clusters=max(8, n // 60))
    return version(z, dim, seed + 1), version(z, dim, seed + 2)


#: what the figures of a compare need loaded, whatever computes them: the store's engines
#: (Lance, SQLAlchemy), exact k-NN (faiss), the layout optimiser (numba), the spectral start
#: (SciPy's sparse eigensolver) and HDBSCAN with the cluster scores (scikit-learn)
FLOOR_MODULES = (
    "numpy", "lance", "sqlalchemy", "faiss", "numba", "scipy.sparse.linalg", "sklearn.cluster",
    "sklearn.metrics",
)  # fmt: skip
IMPORT_FLOOR = [sys.executable, "-c", "import " + ", ".join(FLOOR_MODULES)]


def build_store(folder: Path, n: int, dim: int) -> tuple[str, str]:
    """A store in ``folder`` holding both versions; a.npy / b.npy beside it. Refs (A, B)."""
    import numpy as np

    import embver

    old, new = make_versions(n, dim)
    ids = [f"item-{i:06d}" for i in range(n)]
    np.save(folder / "a.npy", old)
    np.save(folder / "b.npy", new)
    with embver.init(folder / "project") as store:
        space = store.space("bench")
        recipe = embver.Recipe(architecture="arch-a", extraction="mean", weights="w1", dim=dim)
        other = embver.Recipe(architecture="arch-b", extraction="mean", weights="w2", dim=dim)
        a = space.register(old, ids=ids, recipe=recipe)
        b = space.register(new, ids=ids, recipe=other, parent=a)
        return a.ref, b.ref


def timed_run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of a fresh process and its stdout; fails loudly when it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds, done.stdout


def embver_command(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "embver.cli", "--store", str(folder / "project"), *args]


def heavy_imports(command: list[str], env: dict[str, str]) -> tuple[list[str], float]:
    """Top-level heavy packages ``command`` imports, and their cumulative import seconds."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        top = name.split(".")[0]
        if top in HEAVY and name == top and cumulative.isdigit():
            found[top] = int(cumulative) / 1e6
    return sorted(found, key=lambda m: -found[m]), sum(found.values())


def bench_size(
    n: int,
    dim: int,
    repeats: int,
    cold: bool,
    env: dict[str, str],
    baseline: str | None,
    library_peer: bool = True,
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        folder = Path(tmp)
        ref_a, ref_b = build_store(folder, n, dim)
        compare = embver_command(folder, "compare", ref_a, ref_b, "--json")
        peer = [
            sys.executable,
            str(HERE / "numpy_compare.py"),
            str(folder / "a.npy"),
            str(folder / "b.npy"),
        ]
        library = [peer[0], str(HERE / "library_compare.py"), *peer[2:]]
        codes = {"embver": env}
        if baseline:
            codes = {"baseline": {**env, "PYTHONPATH": baseline}, **codes}
        if cold:
            for label, code_env in codes.items():
                empty = tempfile.mkdtemp(prefix="numba-cold-", dir=tmp)
                first, _ = timed_run(compare, {**code_env, "NUMBA_CACHE_DIR": empty})
                print(
                    f"{n:>6} items  {label} first run, empty numba cache: "
                    f"{first:6.2f} s (goal ≤ 10 s)"
                )
        runs: dict[str, list[float]] = {label: [] for label in codes}
        steps: dict[str, list[dict[str, float]]] = {label: [] for label in codes}
        peer_runs = []
        library_runs = []
        floor_runs = []
        for _ in range(repeats):
            for label, code_env in codes.items():
                seconds, out = timed_run(compare, code_env)
                runs[label].append(seconds)
                steps[label].append(json.loads(out)["timings"])
            peer_runs.append(timed_run(peer, env))
            floor_runs.append(timed_run(IMPORT_FLOOR, env)[0])
            if library_peer:
                library_runs.append(timed_run(library, env))
        for label in codes:
            _print_size(
                n, label, runs[label], steps[label], [s for s, _ in peer_runs], peer_runs[-1][1]
            )
            if library_runs:
                wall = statistics.median(runs[label])
                other = statistics.median(s for s, _ in library_runs)
                print(
                    f"         library peer {other:6.2f} s   ratio {wall / other:5.2f}×   "
                    f"({library_runs[-1][1].strip()})"
                )
        floor, peer_wall = statistics.median(floor_runs), statistics.median(s for s, _ in peer_runs)
        print(
            f"         import floor {floor:5.2f} s = {floor / peer_wall:4.1f}× the numpy peer "
            f"(a fresh process importing only what the figures need: {', '.join(FLOOR_MODULES)})"
        )


def _print_size(
    n: int,
    label: str,
    embver_runs: list[float],
    step_runs: list[dict[str, float]],
    peer_runs: list[float],
    peer_out: str,
) -> None:
    wall, peer = statistics.median(embver_runs), statistics.median(peer_runs)
    goal = 2.5 if n >= 3000 else 2.0
    print(
        f"{n:>6} items  {label} compare {wall:6.2f} s   numpy peer {peer:5.2f} s   "
        f"ratio {wall / peer:5.2f}× (goal ≤ {goal}×)"
    )
    steps = {name: statistics.median(r.get(name, 0.0) for r in step_runs) for name in step_runs[0]}
    for name, seconds in steps.items():
        print(f"         {name:<14} {seconds:6.2f} s  {100 * seconds / wall:5.1f}%")
    rest = wall - sum(steps.values())
    print(f"         {'start-up+I/O':<14} {rest:6.2f} s  {100 * rest / wall:5.1f}%")
    print(f"         peer says {peer_out.strip()}")


def bench_startup(repeats: int, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        command = embver_command(Path(tmp), "compare", "--help")
        timed_run(command, env)  # the first run writes the bytecode caches
        runs = [timed_run(command, env)[0] for _ in range(repeats)]
        bare = [timed_run([sys.executable, "-c", "pass"], env)[0] for _ in range(repeats)]
        heavy, seconds = heavy_imports(command, env)
        print(
            f"embver compare --help  {statistics.median(runs):5.2f} s (goal ≤ 0.5 s; bare "
            f"python {statistics.median(bare):4.2f} s); heavy imports: "
            f"{', '.join(heavy) or 'none'} ({seconds:.2f} s)"
        )


def bench_compare_imports(n: int, dim: int, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        folder = Path(tmp)
        ref_a, ref_b = build_store(folder, n, dim)
        for label, extra in (("compare", ()), ("compare --no-clusters", ("--no-clusters",))):
            command = embver_command(folder, "compare", ref_a, ref_b, "--json", *extra)
            heavy, seconds = heavy_imports(command, env)
            print(f"{label:<22} imports {', '.join(heavy)} ({seconds:.2f} s cumulative)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="3000,400", help="Item counts, comma list.")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="Also time a first run, cache empty.")
    parser.add_argument("--baseline", default=None, help="src/ of another checkout to time too.")
    parser.add_argument(
        "--no-library-peer", action="store_true", help="Skip library_compare.py (slow)."
    )
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.repeats} repeats")
    bench_startup(args.repeats, env)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for n in sizes:
        bench_size(
            n, args.dim, args.repeats, args.cold, env, args.baseline, not args.no_library_peer
        )
    bench_compare_imports(sizes[-1], args.dim, env)


if __name__ == "__main__":
    main()
