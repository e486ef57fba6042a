"""Worker processes for the crash and concurrency tests, and the data they write.

Run as a script (``python store_workers.py MODE ...``) so that every worker is a
real, separate process with its own catalog connection and Lance writer. A
worker prints ``ready`` once it has imported everything and opened the store,
so that a test can time its kill (or its start signal) against real work
rather than against interpreter start-up.

Vectors are a pure function of the recipe's weights and the item's number, so a
test can regenerate what any surviving version must contain and compare it
exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

import numpy as np

DIM = 32

# Lance warns on every fork of a process that imported it. The fork server below
# only imports lance, never runs it (no Lance runtime threads exist to be lost),
# and each forked worker starts Lance afresh: the warning does not apply.
warnings.filterwarnings("ignore", message="lance is not fork-safe")
WORKERS = Path(__file__)


def expected_vectors(weights: str, ids: list[str]) -> np.ndarray:
    """Deterministic vectors (len(ids), DIM) float32 for items named ``i<number>``."""
    numbers = np.array([int(i[1:]) for i in ids], dtype=np.float64)
    phase = int(hashlib.blake2b(weights.encode(), digest_size=4).hexdigest(), 16) % 1000
    columns = np.arange(1, DIM + 1, dtype=np.float64)
    return np.sin(numbers[:, None] * columns[None, :] * 1e-3 + phase).astype(np.float32)


def make_ids(first: int, count: int) -> list[str]:
    return [f"i{first + k}" for k in range(count)]


def recipe_dict(architecture: str, weights: str) -> dict[str, object]:
    return {"architecture": architecture, "extraction": "mean", "weights": weights, "dim": DIM}


def _ready(out: TextIO = sys.stdout) -> None:
    """Import what registration imports lazily, then tell the test we are ready."""
    import lance  # noqa: F401
    import pandas  # noqa: F401

    with contextlib.suppress(ImportError):  # the verdict (embver.compare) is optional here
        import embver.compare.verdict  # noqa: F401
    print("ready", file=out, flush=True)


def crash_loop(store_path: str, seed: int, out: TextIO = sys.stdout) -> None:
    """Register forever: new MAJOR versions, PATCHes of existing ones, appends to existing ones.

    Prints ``begin`` before each registration and ``created REF`` or
    ``appended REF`` after it, so a test can tell where its kill landed.
    """
    import embver

    store = embver.open(store_path)
    space = store.space("crash")
    rng = random.Random(seed)
    _ready(out)
    for iteration in range(10**6):
        versions = store.versions("crash")
        first = seed * 10_000_000 + iteration * 10_000
        count = rng.randint(200, 4000)
        ids = make_ids(first, count)
        choice = rng.random()
        parent = None
        if versions and choice < 0.4:  # append: same recipe as an existing version
            recipe = versions[rng.randrange(len(versions))].recipe.to_dict()
        elif versions and choice < 0.6:  # PATCH: new weights over an existing version
            parent = versions[rng.randrange(len(versions))]
            recipe = {**parent.recipe.to_dict(), "weights": f"w-{seed}-{iteration}"}
        else:  # MAJOR: a new architecture
            recipe = recipe_dict(f"arch-{seed}-{iteration}", "w0")
        vectors = expected_vectors(str(recipe["weights"]), ids)
        print("begin", file=out, flush=True)
        version = space.register(vectors, ids=ids, recipe=recipe, parent=parent)
        print("appended" if version.appended else "created", version.ref, file=out, flush=True)


def crash_child(store_path: str, seed: int, log: str) -> None:
    """Target of a forked crash worker: :func:`crash_loop` writing its lines to ``log``."""
    with open(log, "w") as out:
        crash_loop(store_path, seed, out)


def forked_workers() -> Any:
    """A multiprocessing context whose workers fork from a server that has imported embver.

    Start-up of a fresh interpreter (~1-2 s of imports) would dominate a test
    that kills many workers; forking from a warm server makes each worker cost
    milliseconds while staying a real process with its own connections.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["store_workers", "embver.store", "lance", "pandas", "sqlalchemy", "blake3"]
    )
    return context


def collide(store_path: str, start_dir: str, writer: str) -> None:
    """Two rounds, each released by a file in ``start_dir``; prints one JSON line per round.

    Round ``patch``: a PATCH of ``collide@1.0.0`` (new weights, same architecture).
    Round ``major``: a new architecture in the fresh space ``fresh`` (whose item
    table does not exist yet either).
    """
    import embver

    store = embver.open(store_path)
    rounds = {
        "patch": ("collide", "arch-base", f"w-patch-{writer}", store.get("collide@1.0.0")),
        "major": ("fresh", f"arch-{writer}", f"w-major-{writer}", None),
    }
    _ready()
    for round_name, (space, architecture, weights, parent) in rounds.items():
        ids = make_ids(int(writer) * 1000 + 1_000_000, 50)
        vectors = expected_vectors(weights, ids)
        start = Path(start_dir) / round_name
        while not start.exists():
            time.sleep(0.001)
        version = store.space(space).register(
            vectors, ids=ids, recipe=recipe_dict(architecture, weights), parent=parent
        )
        print(json.dumps({"ref": version.ref, "weights": weights}), flush=True)


def move_alias(store_path: str, barrier: Any, worker: int, moves: int, versions: list[str]) -> None:
    """Wait at ``barrier`` with the other workers, then move alias ``best`` of space
    ``alias`` ``moves`` times, cycling through ``versions`` from an offset of its own."""
    import embver

    store = embver.open(store_path)
    barrier.wait()
    for move in range(moves):
        target = versions[(worker + move) % len(versions)]
        store.set_alias("alias", "best", target, actor=f"worker-{worker}", reason=str(move))
    store.close()


def start_worker(*arguments: str) -> subprocess.Popen[str]:
    """Start ``store_workers.py`` as a real process; its stdout is a pipe of text lines."""
    return subprocess.Popen(
        [sys.executable, str(WORKERS), *arguments],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def wait_ready(process: subprocess.Popen[str]) -> None:
    """Block until the worker printed ``ready`` (it has imported and opened the store)."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        _, err = process.communicate(timeout=30)
        raise AssertionError(f"worker did not start: {line!r}\n{err}")


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    if mode == "collide":
        collide(*arguments)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
