"""``embver index prune``: old physical tables dropped, the readers' and the rollback target
kept; what is left is listed with each engine's own client (SQL, files, Qdrant, Milvus)."""

from __future__ import annotations

import json

import pytest
from backends import BACKENDS

from embver.errors import IndexTargetError, InvalidInputError
from embver.index import IndexURL, open_target, prune_index
from embver.index import migrate_index as migrate
from embver.index import publish_version as publish

BATCH = 100
#: pgvector and FAISS (a view and a pointer file) and two alias backends
PRUNABLE = [s for s in ("postgresql+psycopg", "faiss", "qdrant", "milvus") if s in BACKENDS]


@pytest.fixture(params=PRUNABLE)
def index(request, tmp_path):
    made = BACKENDS[request.param](tmp_path)
    yield made
    made.close()


def _three_tables(index, versions) -> list[str]:
    """_1 (1.0.0), _2 (2.0.0, by a breaking migration), _3 (1.0.0 again, by --replace)."""
    store = versions.store
    publish(store, versions.v100, index.url, batch=BATCH)
    migrate(store, index.url, versions.v200, batch=BATCH)
    publish(store, versions.v100, index.url, batch=BATCH, replace=True)
    reader = IndexURL.parse(index.url).name
    tables = [f"{reader}__embver_{n}" for n in (1, 2, 3)]
    assert index.physical_tables() == tables
    assert index.reader_versions() == {"1.0.0": 300}
    return tables


def test_prune_keeps_the_readers_table_and_the_rollback_target(index, versions):
    store = versions.store
    t1, t2, t3 = _three_tables(index, versions)

    dry = prune_index(store, index.url, keep=1, dry_run=True)
    assert (dry.reader_table, dry.dropped, dry.kept) == (t3, [t1], [t2])
    assert index.physical_tables() == [t1, t2, t3]  # a dry run drops nothing

    done = prune_index(store, index.url, keep=1)
    assert (done.dropped, done.kept) == ([t1], [t2])
    assert index.physical_tables() == [t2, t3]
    assert index.reader_versions() == {"1.0.0": 300}

    migrate(store, index.url, None, rollback=True)  # the kept table is the rollback target
    assert index.reader_versions() == {"2.0.0": 300}

    done = prune_index(store, index.url, keep=0)
    assert (done.reader_table, done.dropped, done.kept) == (t2, [t3], [])
    assert index.physical_tables() == [t2]
    assert index.reader_versions() == {"2.0.0": 300}
    assert prune_index(store, index.url, keep=0).dropped == []


def test_no_backend_drops_the_table_readers_see(index, versions):
    publish(versions.store, versions.v100, index.url, batch=BATCH)
    with open_target(index.url) as target:
        readers = target.reader_table()
        assert readers is not None
        with pytest.raises(IndexTargetError, match="is the one readers see"):
            target.drop(readers)
    assert index.physical_tables() == [readers]
    assert index.reader_versions() == {"1.0.0": 300}


def test_prune_refuses_bad_input_and_an_unpublished_index(versions, tmp_path):
    from backends import FaissCase

    case = FaissCase(tmp_path)
    with pytest.raises(IndexTargetError, match="nothing is published there"):
        prune_index(versions.store, case.url)
    publish(versions.store, versions.v100, case.url, batch=BATCH)
    with pytest.raises(InvalidInputError, match="--keep -1: give the number"):
        prune_index(versions.store, case.url, keep=-1)
    assert case.physical_tables() == ["docs__embver_1"]


def test_the_cli_prunes(versions, tmp_path):
    from backends import FaissCase
    from click.testing import CliRunner

    from embver.cli import cli

    case = FaissCase(tmp_path)
    t1, t2, t3 = _three_tables(case, versions)
    run = CliRunner().invoke
    base = ["--store", str(versions.path), "index", "prune", case.url]
    dry = run(cli, [*base, "--keep", "0", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output) == {
        "url": case.url, "reader_table": t3, "dropped": [t2, t1], "kept": [], "dry_run": True,
    }  # fmt: skip
    text = run(cli, base)
    assert text.exit_code == 0, text.output
    assert f"readers see {t3}; dropped {t1}; kept {t2}" in text.output
    assert case.physical_tables() == [t2, t3]
    refused = run(cli, [*base, "--keep", "-1"])
    assert refused.exit_code == 2 and "--keep" in refused.output
