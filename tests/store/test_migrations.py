"""The Alembic migrations build exactly the schema the code uses."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from embver.store import schema
from embver.store.catalog import current_revision, head_revision


def test_migrated_catalog_matches_schema_module(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert differences == []


def test_new_store_is_at_head(store):
    assert current_revision(store.engine) == head_revision()
