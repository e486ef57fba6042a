"""The Alembic migrations build exactly the schema the code uses."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from embver.store import schema
from embver.store.catalog import HEAD_REVISION, current_revision, head_revision


def test_migrated_catalog_matches_schema_module(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert differences == []


def test_new_store_is_at_head(store):
    assert current_revision(store.engine) == head_revision()


def test_the_head_revision_that_opening_trusts_is_alembics_head():
    # opening a store at HEAD_REVISION skips alembic: a stale constant would leave
    # catalogs one migration behind
    assert head_revision() == HEAD_REVISION


def _downgrade_to_initial(store) -> None:
    """Take the catalog back to revision 0001 (before item tables and artifacts were hashed)."""
    from alembic import command

    from embver.store.catalog import _alembic_config, write_transaction

    with write_transaction(store.engine) as connection:
        command.downgrade(_alembic_config(connection), "0001")
    store.close()


def _upgrade_a_store_from_revision_0001(root, catalog) -> None:
    import numpy as np

    import embver
    from embver.store.maintenance import verify

    recipe = embver.Recipe(architecture="a", extraction="mean", weights="w", dim=8)
    vectors = np.arange(160, dtype=np.float32).reshape(20, 8)
    ids = [f"i{k}" for k in range(20)]
    with embver.init(root, catalog=catalog) as store:
        store.space("s").register(vectors[:10], ids=ids[:10], recipe=recipe, texts=ids[:10])
        store.artifacts.put("fit", "f", b"payload", meta={"n": 1})
        _downgrade_to_initial(store)
    with embver.open(root) as store:  # migrates to head
        assert current_revision(store.engine) == head_revision()
        assert store.items("s")["text"].tolist() == ids[:10]
        assert store.artifacts.get("fit", "f").payload == b"payload"
        report = verify(store)
        assert report.ok and (report.item_tables, report.artifacts) == (0, 0)
        store.space("s").register(vectors[10:], ids=ids[10:], recipe=recipe, texts=ids[10:])
        assert store.items("s")["text"].tolist() == ids
        assert verify(store).item_tables == 1  # adopted on its next append


def test_a_sqlite_store_from_revision_0001_upgrades_and_reads(tmp_path):
    _upgrade_a_store_from_revision_0001(tmp_path, None)


@pytest.mark.postgres
def test_a_postgres_store_from_revision_0001_upgrades_and_reads(tmp_path, postgres_url):
    _upgrade_a_store_from_revision_0001(tmp_path, postgres_url)
