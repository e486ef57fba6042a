"""Atomic registration: SIGKILL at random moments leaves whole versions or none.

Real processes register new versions (MAJOR and PATCH) and append to existing
ones in a loop, several at once, and are killed with SIGKILL after a random
delay. Afterwards every version in the catalog must read back exactly (its
vectors are regenerated from its recipe and ids), ``verify`` must find nothing
wrong, and ``gc`` must remove the orphaned data and nothing that is referenced.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from store_workers import crash_child, expected_vectors, forked_workers, make_ids, recipe_dict

import embver
from embver.store.maintenance import gc, verify

KILLS = int(os.environ.get("EMBVER_TEST_KILLS", "60"))
AT_ONCE = 3
MAX_DELAY_S = 0.4


def _wait_ready(process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().startswith("ready")):
        assert process.is_alive(), f"crash worker died before it was ready: {process.exitcode}"
        assert time.monotonic() < deadline, "crash worker not ready after 60 s"
        time.sleep(0.005)


def _kill_batch(store_path: Path, seeds: list[int], rng: random.Random, logs: Path) -> list[str]:
    """Start one crash worker per seed, SIGKILL each at a random moment; their log lines."""
    context = forked_workers()
    workers = []
    for seed in seeds:
        log = logs / f"worker-{seed}.log"
        process = context.Process(target=crash_child, args=(str(store_path), seed, str(log)))
        process.start()
        workers.append((process, log))
    deadlines = []
    for process, log in workers:
        _wait_ready(process, log)
        deadlines.append(time.monotonic() + rng.uniform(0, MAX_DELAY_S))
    lines = []
    for (process, log), deadline in zip(workers, deadlines, strict=True):
        time.sleep(max(0.0, deadline - time.monotonic()))
        assert process.is_alive(), f"crash worker stopped by itself:\n{log.read_text()}"
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        assert process.exitcode == -signal.SIGKILL
        lines += log.read_text().splitlines()
    return lines


def _orphans(store: embver.Store) -> set[str]:
    root = Path(store.location.data_uri)
    on_disk = {p.relative_to(root).as_posix() for p in root.glob("spaces/*/versions/*.lance")}
    return on_disk - {v._row["data_uri"] for v in store.versions("crash")}


def _unused_data_files(store: embver.Store) -> list[str]:
    """Data files in the space's datasets that the catalog's Lance versions do not read."""
    import lance

    unused = []
    datasets = [(v.data_uri, v._row["lance_version"]) for v in store.versions("crash")]
    datasets.append((store.data_path("spaces/crash/items.lance"), None))
    for uri, lance_version in datasets:
        dataset = lance.dataset(uri, version=lance_version)
        used = {f.path for fragment in dataset.get_fragments() for f in fragment.data_files()}
        unused += [p.name for p in Path(uri).glob("data/*.lance") if p.name not in used]
    return unused


def _check_every_version(store: embver.Store) -> None:
    """Each catalog version reads back whole: count, content hash, exact vectors, items."""
    report = verify(store)
    assert report.ok, report.problems
    item_ids = set(store.items("crash")["id"])
    for version in store.versions("crash"):
        ids = version.ids
        assert len(ids) == len(set(ids)) == version.count
        vectors = version.vectors()
        assert vectors.shape == (version.count, version.dim)
        np.testing.assert_array_equal(vectors, expected_vectors(version.recipe.weights, ids))
        assert item_ids.issuperset(ids), f"{version.ref} has ids missing from the item table"


@pytest.mark.slow
def test_sigkill_during_registration_leaves_whole_versions_or_none(tmp_path):
    with embver.init(tmp_path, catalog=None) as store:
        ids = make_ids(0, 100)
        recipe = recipe_dict("arch-seed", "w0")
        store.space("crash").register(expected_vectors("w0", ids), ids=ids, recipe=recipe)
    store_path = tmp_path / ".embver"
    rng = random.Random(20261128)
    logs = tmp_path / "logs"
    logs.mkdir()
    lines: list[str] = []
    for first in range(1, KILLS + 1, AT_ONCE):
        seeds = list(range(first, min(first + AT_ONCE, KILLS + 1)))
        lines += _kill_batch(store_path, seeds, rng, logs)
    interrupted = sum(line == "begin" for line in lines) - sum(
        line.startswith(("created", "appended")) for line in lines
    )
    # The kills must land inside registrations, not only between them.
    assert interrupted >= KILLS // 3, lines

    with embver.open(store_path) as store:
        _check_every_version(store)
        assert any(v.count > 100 for v in store.versions("crash")), "no append survived"
        orphans = _orphans(store)
        stray_files = _unused_data_files(store)
        kept = {v.ref: v.content_hash for v in store.versions("crash")}
        report = gc(store, grace_seconds=0)
        print(  # shown with -s: where the kills landed
            f"{KILLS} kills, {interrupted} inside a registration; "
            f"{sum(line.startswith('created') for line in lines)} versions created and "
            f"{sum(line.startswith('appended') for line in lines)} appends completed; "
            f"{len(orphans)} orphaned datasets and {len(stray_files)} stray data files, "
            f"gc removed {len(report.removed)}"
        )
        assert set(report.removed) >= orphans
        assert len(report.removed) == len(orphans) + len(stray_files)
        assert _orphans(store) == set()
        assert _unused_data_files(store) == []
        assert {v.ref: v.content_hash for v in store.versions("crash")} == kept
        _check_every_version(store)
        # the store stays writable: a new version, and an append to every existing one
        more = make_ids(10**9, 10)
        for version in store.versions("crash"):
            recipe = version.recipe.to_dict()
            store.space("crash").register(
                expected_vectors(str(recipe["weights"]), more), ids=more, recipe=recipe
            )
        _check_every_version(store)
