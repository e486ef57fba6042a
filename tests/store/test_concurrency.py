"""Concurrent writers never lose or duplicate a version number (SQLite and PostgreSQL).

Eight real processes open the store, signal that they are ready, then all wait
on one start file; when it appears they register at the same moment, so number
allocation is forced to collide.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from store_workers import expected_vectors, make_ids, recipe_dict, start_worker, wait_ready

import embver
from embver.store.maintenance import verify

WRITERS = 8


def _store_with_base(root: Path, catalog: str | None) -> Path:
    """A store whose space ``collide`` has version 1.0.0 (weights ``w-base``)."""
    with embver.init(root, catalog=catalog) as store:
        ids = make_ids(0, 50)
        store.space("collide").register(
            expected_vectors("w-base", ids), ids=ids, recipe=recipe_dict("arch-base", "w-base")
        )
    return root / ".embver"


def _release(workers: list, start: Path) -> list[dict]:
    """Create the start file and collect each worker's result line for that round."""
    start.touch()
    results = []
    for worker in workers:
        line = worker.stdout.readline()
        if not line:
            _, err = worker.communicate(timeout=60)
            raise AssertionError(f"worker failed in round {start.name}:\n{err}")
        results.append(json.loads(line))
    return results


def _check_round(store: embver.Store, space: str, results: list[dict], expected: set[str]) -> None:
    refs = [r["ref"] for r in results]
    assert len(set(refs)) == WRITERS, f"duplicate numbers: {sorted(refs)}"
    assert set(refs) == {f"{space}@{number}" for number in expected}
    for result in results:
        version = store.get(result["ref"])
        assert version.recipe.weights == result["weights"]
        assert version.count == 50
        np.testing.assert_array_equal(
            version.vectors(), expected_vectors(result["weights"], version.ids)
        )
    # every writer's items reached the item table (none was replaced by a concurrent writer)
    expected_items = sum(v.count for v in store.versions(space))
    assert len(store.items(space)) == expected_items


def _race(tmp_path: Path, catalog: str | None) -> None:
    """8 writers: first all PATCH 1.0.0 at once, then all register a new MAJOR in a fresh space."""
    store_path = _store_with_base(tmp_path / "project", catalog)
    start_dir = tmp_path / "start"
    start_dir.mkdir()
    workers = [
        start_worker("collide", str(store_path), str(start_dir), str(k)) for k in range(WRITERS)
    ]
    try:
        for worker in workers:
            wait_ready(worker)
        patches = _release(workers, start_dir / "patch")
        majors = _release(workers, start_dir / "major")
        for worker in workers:
            assert worker.wait(timeout=60) == 0
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    with embver.open(store_path) as store:
        _check_round(store, "collide", patches, {f"1.0.{k}" for k in range(1, WRITERS + 1)})
        _check_round(store, "fresh", majors, {f"{k}.0.0" for k in range(1, WRITERS + 1)})
        assert len(store.versions("collide")) == 1 + WRITERS
        assert len(store.versions("fresh")) == WRITERS
        report = verify(store)
        assert report.ok and report.checked == 1 + 2 * WRITERS


@pytest.mark.slow
def test_sqlite_concurrent_writers_get_distinct_numbers(tmp_path):
    _race(tmp_path, None)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_concurrent_writers_get_distinct_numbers(tmp_path, postgres_url):
    _race(tmp_path, postgres_url)


@pytest.mark.postgres
def test_postgres_catalog_round_trip(tmp_path, postgres_url):
    """init on a PostgreSQL URL, register, append, alias, get, reopen, verify."""
    with embver.init(tmp_path, catalog=postgres_url) as store:
        ids = make_ids(0, 100)
        space = store.space("pg")
        first = space.register(
            expected_vectors("w1", ids), ids=ids, recipe=recipe_dict("arch", "w1"), author="ana"
        )
        more = make_ids(100, 20)
        appended = space.register(
            expected_vectors("w1", more), ids=more, recipe=recipe_dict("arch", "w1")
        )
        second = space.register(
            expected_vectors("w2", more), ids=more, recipe=recipe_dict("arch", "w2")
        )
        store.set_alias("pg", "best", "1.0.0", reason="w2 is worse", actor="ana")
    assert str(first.number) == "1.0.0" and appended.appended and appended.count == 120
    assert str(second.number) == "1.0.1" and second.parent == first
    with embver.open(tmp_path) as store:
        assert store.location.catalog_url == postgres_url
        best = store.get("pg@best")
        assert best.ref == "pg@1.0.0" and best.author == "ana"
        np.testing.assert_array_equal(best.vectors(), expected_vectors("w1", ids + more))
        assert store.get("pg@latest").ref == "pg@1.0.1"
        assert store.alias_history("pg", "best")[0]["to"] == "1.0.0"
        report = verify(store)
        assert report.ok and report.checked == 2
