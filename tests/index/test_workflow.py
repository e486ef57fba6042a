"""Publish, status, migrate (drop-in, adapter, breaking killed and resumed), rollback — per
backend, readers' view checked after every step with the backend's own client."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from rows import make_batch

import embver
from embver.index import index_status, open_target
from embver.index import migrate_index as migrate
from embver.index import publish_version as publish
from embver.index.base import target_class

BATCH = 64


def _cli(versions, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "embver.cli", "--store", str(versions.path), *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def _cli_here(versions, *args: str):
    """The CLI in this process (click's runner): output and exit code."""
    from click.testing import CliRunner

    from embver.cli import cli

    return CliRunner().invoke(cli, ["--store", str(versions.path), *args])


def _sees(case, ref_counts: dict[str, int], ids) -> None:
    assert case.reader_versions() == ref_counts
    assert case.reader_ids() == set(ids)


def test_publish_is_idempotent_and_status_finds_what_differs(case, versions):
    store, ids, v = versions.store, versions.ids, versions.v100
    result = publish(store, v, case.url, batch=BATCH, with_fields=["text", "label"])
    assert (result.written, result.count) == (300, 300)
    _sees(case, {"1.0.0": 300}, ids)
    assert case.reader_search(v.vectors()[5], 3)[0] == ids[5]
    assert publish(store, v, case.url, batch=BATCH).written == 0  # idempotent
    status = index_status(store, case.url)
    assert status.matches and status.versions == {"docs@1.0.0": 300}

    with open_target(case.url) as target:  # damage it: 3 missing, 1 changed, 1 extra
        table = target.reader_table()
        target.delete(table, ids[:3])
        odd = v.vectors(ids[3:4]) + 1.0
        target.upsert(table, make_batch(ids[3:4], odd, space="docs"))
        target.upsert(table, make_batch(["ghost"], odd, space="docs"))
    status = index_status(store, case.url)
    assert (status.missing, status.changed, status.extra) == (3, 1, 1)
    assert status.examples == {"missing": ids[:3], "changed": [ids[3]], "extra": ["ghost"]}
    assert not status.matches

    repaired = publish(store, v, case.url, batch=BATCH, with_fields=["text", "label"])
    assert repaired.written == 4  # the 3 missing and the changed one; the ghost deleted
    _sees(case, {"1.0.0": 300}, ids)
    assert index_status(store, case.url).matches


def test_migrate_drop_in_adapter_breaking_killed_resumed_and_rolled_back(case, versions):
    store, ids = versions.store, versions.ids
    # a backend without an atomic switch (Chroma) moves readers only when downtime is allowed
    atomic = target_class(case.scheme).atomic_switch
    downtime = [] if atomic else ["--allow-downtime"]
    publish(store, versions.v100, case.url, batch=BATCH, with_fields=["text"])

    plan = migrate(store, case.url, versions.v101, batch=BATCH)
    assert (plan.path, plan.executed, plan.old_table) == ("drop-in", True, None)
    _sees(case, {"1.0.1": 300}, ids)

    plan = migrate(store, case.url, versions.v102, batch=BATCH)
    assert plan.path == "adapter" and plan.query_map is not None
    _sees(case, {"1.0.1": 300}, ids)  # the index is kept
    queries = versions.v102.vectors()[:20]
    mapped = embver.map_queries(queries, versions.v102.ref, versions.v101.ref, store=store)
    hits = sum(case.reader_search(q, 1) == [ids[i]] for i, q in enumerate(mapped))
    assert hits >= 18
    assert index_status(store, case.url).query_map["target"] == versions.v101.ref

    dry = _cli_here(versions, "migrate", case.url, "--to", versions.v103.ref, "--dry-run", "--json")
    if not atomic:
        assert "--allow-downtime" in dry.output
    assert dry.exit_code == 0, dry.output
    assert '"path": "breaking"' in dry.output
    killed = _cli(
        versions, "migrate", case.url, "--to", versions.v103.ref, "--batch", str(BATCH),
        *downtime, env={"EMBVER_TEST_KILL_AFTER_BATCHES": "2"},
    )  # fmt: skip
    assert killed.returncode == 137, killed.stderr
    _sees(case, {"1.0.1": 300}, ids)  # readers on the complete old index
    assert index_status(store, case.url).job["step"] in ("planned", "backfill")

    resumed = _cli_here(
        versions, "migrate", case.url, "--to", versions.v103.ref, "--json", *downtime
    )
    assert resumed.exit_code == 0, resumed.output
    assert '"executed": true' in resumed.output
    _sees(case, {"1.0.3": 300}, ids)
    v103 = versions.v103.vectors()
    assert case.reader_search(v103[7], 1) == [ids[7]]
    status = index_status(store, case.url)
    assert status.matches and len(status.tables) == 2

    back = migrate(store, case.url, None, rollback=True, allow_downtime=not atomic)
    assert back.executed
    _sees(case, {"1.0.1": 300}, ids)

    plan = migrate(store, case.url, versions.v200, batch=BATCH, allow_downtime=not atomic)
    assert plan.path == "breaking" and "MINOR/MAJOR" in plan.reason
    _sees(case, {"2.0.0": 300}, ids)
    assert case.reader_search(versions.v200.vectors()[9], 1) == [ids[9]]


def test_import_reads_back_what_the_index_holds(case, versions, tmp_path):
    publish(versions.store, versions.v100, case.url, batch=BATCH, with_fields=["text"])
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"architecture": "prod", "extraction": "mean", "weights": "w-prod"}')
    space = f"imported-{case.scheme.split('+')[0]}"  # the store is shared by the backends
    done = _cli_here(versions, "import", space, "--from", case.url, "--recipe", str(recipe))
    assert done.exit_code == 0, done.output
    got = versions.store.get(f"{space}@latest")
    assert got.count == 300 and got.dim == 16
    order = np.argsort(got.ids)
    expected = versions.v100.vectors(sorted(got.ids))
    if case.scheme == "faiss":  # a cosine FAISS index keeps unit vectors
        expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got.vectors()[order], expected, rtol=1e-5, atol=1e-6)
    items = versions.store.items(space).set_index("id")
    assert items.loc["item-0007", "text"] == "text 7"


@pytest.mark.parametrize("replace", [False, True])
def test_publishing_another_version_needs_replace(case, versions, replace):
    publish(versions.store, versions.v100, case.url, batch=BATCH)
    if not replace:
        with pytest.raises(embver.IndexTargetError, match="--replace"):
            publish(versions.store, versions.v200, case.url, batch=BATCH)
        _sees(case, {"1.0.0": 300}, versions.ids)
        return
    result = publish(versions.store, versions.v200, case.url, batch=BATCH, replace=True)
    assert result.replaced is not None
    _sees(case, {"2.0.0": 300}, versions.ids)


def test_the_plan_follows_the_recorded_verdict(versions):
    from embver.index.migrate import decide_path

    store = versions.store
    assert decide_path(store, versions.v100, versions.v101) == (
        "drop-in", "docs@1.0.1 is a PATCH of docs@1.0.0, recorded verdict drop-in"
    )  # fmt: skip
    assert decide_path(store, versions.v101, versions.v102)[0] == "adapter"
    assert decide_path(store, versions.v101, versions.v103)[0] == "breaking"
    assert decide_path(store, versions.v100, versions.v200)[0] == "breaking"
    # 1.0.0 -> 1.0.2 are PATCHes apart (1.0.2 descends from 1.0.1): measured, then kept
    path, reason = decide_path(store, versions.v100, versions.v102)
    assert path == "adapter" and "measured verdict adapter" in reason
    key = f"{versions.v100.id}->{versions.v102.id}"
    assert store.artifacts.get("index-verdict", key).meta == {"label": "adapter"}


def test_the_cli_publishes_and_reports_status(versions, tmp_path):
    import json

    from backends import FaissCase

    case = FaissCase(tmp_path)
    done = _cli_here(
        versions, "publish", "docs@1.0.0", "--to", case.url, "--with", "label", "--json"
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["written"] == 300
    again = _cli_here(versions, "publish", "docs@1.0.0", "--to", case.url)
    assert "0 written, 300 already there" in again.output
    status = _cli_here(versions, "index", "status", case.url)
    assert "docs@1.0.0 (300 rows)" in status.output and "matches the store" in status.output
    as_json = json.loads(_cli_here(versions, "index", "status", case.url, "--json").output)
    assert as_json["versions"] == {"docs@1.0.0": 300} and as_json["matches"] is True
    _sees(case, {"1.0.0": 300}, versions.ids)


def test_an_adapter_migration_can_reindex_as_well(versions, tmp_path):
    from backends import FaissCase

    case = FaissCase(tmp_path)
    publish(versions.store, versions.v101, case.url, batch=BATCH)
    plan = migrate(versions.store, case.url, versions.v102, background_reindex=True)
    assert plan.path == "adapter" and plan.query_map is not None
    assert plan.old_table == "docs__embver_1" and plan.table == "docs__embver_2"
    _sees(case, {"1.0.2": 300}, versions.ids)
