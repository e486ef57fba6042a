"""``Store.catalog_changes()``: a number that moves when anyone commits to the catalog, so a
reader (``embver serve``) may keep what it resolved until then."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import embver


def _store_with_a_version(root):
    store = embver.init(root)
    recipe = embver.Recipe(architecture="arch-a", extraction="mean", weights="w1", dim=4)
    vectors = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    store.space("s").register(vectors, ids=[f"i{i}" for i in range(10)], recipe=recipe)
    return store


def test_reads_leave_it_alone_and_a_commit_from_another_process_moves_it(tmp_path):
    with _store_with_a_version(tmp_path / "store") as store:
        first = store.catalog_changes()
        assert first is not None
        store.get("s@1.0.0")
        store.versions("s")
        assert store.catalog_changes() == first  # reads commit nothing
        cli = [sys.executable, "-m", "embver.cli", "--store", str(tmp_path / "store")]
        done = subprocess.run(
            [*cli, "alias", "set", "s", "production", "1.0.0"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        moved = store.catalog_changes()
        assert moved != first
        store.set_alias("s", "staging", "1.0.0", reason="this process, another connection")
        assert store.catalog_changes() != moved


def test_a_postgresql_catalog_cannot_be_watched_and_says_so(tmp_path, postgres_url):
    with embver.init(tmp_path / "store", catalog=postgres_url) as store:
        assert store.catalog_changes() is None
