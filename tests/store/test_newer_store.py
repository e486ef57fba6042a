"""A store written by a newer embver is refused on open, and left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

import embver
from embver.errors import StoreVersionError


def _stamp(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def _seed(store) -> None:
    recipe = embver.Recipe(architecture="a", extraction="mean", weights="w", dim=8)
    vectors = np.arange(80, dtype=np.float32).reshape(10, 8)
    store.space("s").register(vectors, ids=[f"i{k}" for k in range(10)], recipe=recipe)


def test_sqlite_store_from_a_newer_embver_is_refused_and_unchanged(tmp_path, store_snapshot):
    store = embver.init(tmp_path)
    _seed(store)
    _stamp(store.engine, "f00dfeed9999")
    before = store_snapshot(store)
    with pytest.raises(StoreVersionError, match="f00dfeed9999.*newer embver"):
        embver.open(tmp_path)
    assert store_snapshot(store) == before


@pytest.mark.postgres
def test_postgres_store_from_a_newer_embver_is_refused_and_unchanged(tmp_path, postgres_url):
    with embver.init(tmp_path, catalog=postgres_url) as store:
        _seed(store)
        _stamp(store.engine, "f00dfeed9999")
        tables = sa.inspect(store.engine).get_table_names()
    with pytest.raises(StoreVersionError, match="newer embver"):
        embver.open(tmp_path)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == tables
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            ("f00dfeed9999",)
        ]
        assert connection.execute(sa.text("SELECT count(*) FROM versions")).scalar() == 1
    engine.dispose()


def test_newer_config_format_is_refused(tmp_path, store_snapshot):
    store = embver.init(tmp_path)
    config = tmp_path / ".embver" / "config.json"
    config.write_text(config.read_text().replace('"format": 1', '"format": 99'))
    before = store_snapshot(store)
    with pytest.raises(StoreVersionError, match="format 99"):
        embver.open(tmp_path)
    assert store_snapshot(store) == before
