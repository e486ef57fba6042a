"""Alias moves from many processes at once leave a history that is one unbroken chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_workers import expected_vectors, forked_workers, make_ids, move_alias, recipe_dict

import embver

WORKERS = 8
MOVES = 25


def _store_with_versions(root: Path, catalog: str | None) -> list[str]:
    """A store whose space ``alias`` has versions 1.0.0 … 1.0.3; returns their numbers."""
    ids = make_ids(0, 20)
    with embver.init(root, catalog=catalog) as store:
        space = store.space("alias")
        numbers = []
        for weights in ("w0", "w1", "w2", "w3"):
            version = space.register(
                expected_vectors(weights, ids), ids=ids, recipe=recipe_dict("arch", weights)
            )
            numbers.append(str(version.number))
    return numbers


def _race(root: Path, catalog: str | None) -> None:
    numbers = _store_with_versions(root, catalog)
    context = forked_workers()
    barrier = context.Barrier(WORKERS)
    workers = [
        context.Process(target=move_alias, args=(str(root), barrier, k, MOVES, numbers))
        for k in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    with embver.open(root) as store:
        history = store.alias_history("alias", "best")
        current = store.aliases("alias")["best"]
    assert len(history) == WORKERS * MOVES
    assert history[0]["from"] is None
    broken = [n for n in range(1, len(history)) if history[n]["from"] != history[n - 1]["to"]]
    assert broken == [], f"{len(broken)} of {len(history)} moves do not start where the last ended"
    assert history[-1]["to"] == current


@pytest.mark.slow
def test_sqlite_concurrent_alias_moves_form_one_chain(tmp_path):
    _race(tmp_path, None)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_concurrent_alias_moves_form_one_chain(tmp_path, postgres_url):
    _race(tmp_path, postgres_url)
