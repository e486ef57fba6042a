"""Register and load 1M × 384 float32 vectors with ids, against np.save / np.load.

Both sides write to and read from the same disk in the same run (a temporary
folder under ``--dir``), alternately, ``--repeat`` times, each round to new
files; the medians and their ratios are printed, with the best rounds beside
them (on a busy machine the best round is the least disturbed one), and the
ratio of CPU seconds (all threads), which other tenants disturb far less.

``lance`` is Lance alone writing the same table with the store's settings (file
format, no compression, batch size, rows per data file): the floor under ``register``.
``lance read`` is Lance alone reading it back into what ``load`` returns, one contiguous (n, d)
array: each round times the two honest Lance paths to it and keeps the faster
(``to_table(batch_size=rows)``, one chunk viewed without a copy, and
``to_table()`` with its chunks copied into one array), the floor under ``load``,
which also checks the content hash. ``lance table`` (context) is
``lance.dataset(uri).to_table()`` alone: Lance's chunked Arrow table, no array.
The goals are ratios to the Lance floors (register ≤ 1.2×, load ≤ 1.3×); the
ratios to np.save / np.load are context.

Registration includes everything a user waits for: input checks, the Lance
write, the content hash and the per-file hashes, the item table and the catalog
commit. Loading is ``store.get(ref).vectors()``, which checks the content hash.

    python benchmarks/bench_store.py                 # 1M × 384, 3 repeats
    python benchmarks/bench_store.py --rows 200000   # quicker
    python benchmarks/bench_store.py --profile       # cProfile of one register + load
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

import embver
from embver.store import vectors as vector_data

#: ours / Lance alone, same table, same run
GOALS = {"register": 1.2, "load": 1.3}


CPU: dict[str, list[float]] = {}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


FAULTS: dict[str, list[int]] = {}


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(function, *args, name: str = "", **kwargs):
    """Wall seconds of the call (returned) and its CPU seconds (kept in CPU[name]).

    Dirty pages are flushed first (untimed): otherwise whichever side writes once
    the kernel's dirty-page threshold is crossed waits for the disk on the other's
    behalf (20% of RAM here, crossed in the second round of 1M × 384).
    """
    os.sync()
    cpu, faults, start = _cpu_seconds(), _faults(), time.perf_counter()
    result = function(*args, **kwargs)
    CPU.setdefault(name, []).append(_cpu_seconds() - cpu)
    FAULTS.setdefault(name, []).append(_faults() - faults)
    return time.perf_counter() - start, result


def _register(store, rows: int, dim: int, vectors, ids, index: int):
    recipe = embver.Recipe(architecture=f"bench-{index}", extraction="mean", weights="w", dim=dim)
    return store.space("bench").register(vectors, ids=ids, recipe=recipe)


def _load(store, ref: str) -> np.ndarray:
    return store.get(ref).vectors()


def _lance_table(uri: str) -> int:
    import lance

    return int(lance.dataset(uri).to_table().num_rows)


def _lance_one_chunk(uri: str) -> np.ndarray:
    import lance

    dataset = lance.dataset(uri)
    table = dataset.to_table(batch_size=dataset.count_rows())
    return vector_data.vectors_of(table)


def _lance_chunks_copied(uri: str) -> np.ndarray:
    import lance

    column = lance.dataset(uri).to_table().column("vector")
    out = np.empty((len(column), column.type.list_size), np.float32)
    start = 0
    for chunk in column.chunks:
        out[start : start + len(chunk)] = chunk.flatten().to_numpy().reshape(len(chunk), -1)
        start += len(chunk)
    return out


def _prefault(gib: float) -> None:
    """Touch and free ``gib`` GiB so that neither side pays the first touch of memory.

    On a virtual machine the first touch of a guest page can cost more than
    the copy into it (here ~3 s per GiB), and it would fall on whichever side
    happens to allocate first. A round holds up to ~8× the vectors' size at once
    (the input, both loaded copies, decode buffers and the round's page cache),
    so that much is touched up front.
    """
    if gib > 0:
        block = np.ones(int(gib * 2**30), dtype=np.uint8)
        del block


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return 0


def _warm_up(store) -> None:
    """One small registration and load, so that lazy imports are not timed."""
    recipe = embver.Recipe(architecture="warm-up", extraction="mean", weights="w", dim=8)
    ids = [str(i) for i in range(100)]
    version = store.space("warm-up").register(np.ones((100, 8), np.float32), ids=ids, recipe=recipe)
    _load(store, version.ref)


def run(rows: int, dim: int, repeat: int, folder: Path, profile: bool) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((rows, dim), dtype=np.float32)
    _prefault(min(8 * vectors.nbytes, _available_bytes() * 0.7) / 2**30)
    ids = [f"item-{i:08d}" for i in range(rows)]
    _warm_up(embver.init(folder / "warm-up"))
    timings: dict[str, list[float]] = {
        "np.save": [],
        "register": [],
        "lance": [],
        "np.load": [],
        "load": [],
        "lance read": [],
        "lance table": [],
    }
    table = vector_data.to_table(pa.array(ids), vectors, "float32")
    for index in range(repeat):
        # Each round writes new files for every side into its own folder, removed at
        # the end of the round: the page cache does not grow round after round and
        # push later rounds onto memory the virtual machine has never touched.
        round_folder = folder / f"round-{index}"
        store = embver.init(round_folder / "project")
        npy = round_folder / "vectors.npy"
        timings["np.save"].append(_timed(np.save, npy, vectors, name="np.save")[0])
        seconds, version = _timed(_register, store, rows, dim, vectors, ids, index, name="register")
        timings["register"].append(seconds)
        # The floor under register: Lance writing the same table with the store's settings.
        scratch = str(round_folder / "lance-only.lance")
        timings["lance"].append(_timed(vector_data.write_dataset, scratch, table, name="lance")[0])
        # Each read is dropped before the next starts (none works beside another's
        # copy), and the readers take turns going first: under memory pressure the
        # second of two reads in a row pays for the first's pages.
        readers = {
            "np.load": functools.partial(np.load, npy),
            "load": functools.partial(_load, store, version.ref),
            "lance read _lance_one_chunk": functools.partial(_lance_one_chunk, scratch),
            "lance read _lance_chunks_copied": functools.partial(_lance_chunks_copied, scratch),
        }
        names = list(readers)
        for side in names[index % len(names) :] + names[: index % len(names)]:
            seconds, loaded = _timed(readers[side], name=side)
            assert np.array_equal(loaded, vectors), f"{side} returned different vectors"
            timings.setdefault(side, []).append(seconds)
            del loaded
        # The floor under load: the faster of Lance's two paths to the same array.
        fastest = min(
            ("lance read _lance_one_chunk", "lance read _lance_chunks_copied"),
            key=lambda side: timings[side][-1],
        )
        timings["lance read"].append(timings[fastest][-1])
        CPU.setdefault("lance read", []).append(CPU[fastest][-1])
        FAULTS.setdefault("lance read", []).append(FAULTS[fastest][-1])
        timings["lance table"].append(_timed(_lance_table, scratch, name="lance table")[0])
        if not (profile and index == repeat - 1):
            store.close()
            shutil.rmtree(round_folder)
    if profile:
        cProfile.runctx(
            "v = _register(store, rows, dim, vectors, ids, repeat); _load(store, v.ref)",
            globals(),
            {
                "store": store,
                "rows": rows,
                "dim": dim,
                "vectors": vectors,
                "ids": ids,
                "repeat": repeat,
            },
            str(folder / "profile"),
        )
        pstats.Stats(str(folder / "profile")).sort_stats("cumulative").print_stats(30)
    _report(rows, dim, repeat, timings)


def _report(rows: int, dim: int, repeat: int, timings: dict[str, list[float]]) -> None:
    median = {name: statistics.median(values) for name, values in timings.items()}
    size = rows * dim * 4 / 2**20
    print(f"{rows} × {dim} float32 ({size:.0f} MiB) with ids, median of {repeat}")
    for name, values in timings.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        cpu = statistics.median(CPU[name])
        faults = statistics.median(FAULTS[name])
        print(
            f"  {name:<10} {median[name]:6.2f} s   ({runs})   "
            f"CPU {cpu:.2f} s   {faults:,.0f} page faults"
        )
    best = {name: min(values) for name, values in timings.items()}
    for ours, peer in (
        ("register", "lance"),
        ("load", "lance read"),
        ("register", "np.save"),
        ("lance", "np.save"),
        ("load", "np.load"),
        ("lance read", "np.load"),
        ("load", "lance table"),
    ):
        ratio = median[ours] / median[peer]
        goal = GOALS.get(ours) if peer in ("lance", "lance read") else None
        verdict = "context" if goal is None else "ok" if ratio <= goal else f"over the {goal}× goal"
        cpu = statistics.median(CPU[ours]) / statistics.median(CPU[peer])
        print(
            f"  {ours} / {peer}: {ratio:.2f}× median ({verdict}), "
            f"{best[ours] / best[peer]:.2f}× best, {cpu:.2f}× in CPU seconds"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one round")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=options.dir, prefix="embver-bench-") as folder:
        run(options.rows, options.dim, options.repeat, Path(folder), options.profile)


if __name__ == "__main__":
    main()
