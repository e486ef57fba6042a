"""The catalog: an SQLAlchemy engine over SQLite or PostgreSQL, migrated by Alembic."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from embver.errors import StoreError, StoreVersionError

_MIGRATIONS = Path(__file__).parent / "migrations"


def create_catalog_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking BEGINs."""
    try:
        sa_url = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"catalog URL {url!r} is not an SQLAlchemy URL: {exc}") from None
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, future=True)
    engine = sa.create_engine(url, connect_args={"timeout": 120}, future=True)
    _make_sqlite_transactional(engine)
    return engine


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite defers BEGIN until the first write, so two writers can both read
    # "next free number" before either locks. embver emits BEGIN itself, and
    # BEGIN IMMEDIATE for writes, so allocation is serialised by SQLite's lock.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=120000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("embver_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the write lock (SQLite) for its whole duration."""
    with engine.connect() as connection:
        connection = connection.execution_options(embver_write=True)
        with connection.begin():
            yield connection


def lock_space(connection: Connection, space_id: int) -> None:
    """Hold the space row's lock until the transaction ends: writers that read, then
    write a space's versions, item table or aliases run one at a time.

    On PostgreSQL this is ``SELECT … FOR UPDATE`` (under READ COMMITTED the next
    writer's reads then see what the previous one committed); SQLite's
    ``BEGIN IMMEDIATE`` (see :func:`write_transaction`) already locks the database.
    """
    from embver.store import schema

    spaces = schema.spaces
    connection.execute(sa.select(spaces.c.id).where(spaces.c.id == space_id).with_for_update())


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the catalog, or None for an empty database."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()
        return row[0] if row else None


def migrate(engine: Engine) -> None:
    """Bring the catalog to this embver's schema, refusing a newer or unknown one."""
    from alembic import command
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    config = _alembic_config(None)  # type: ignore[arg-type]
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        raise StoreVersionError(
            f"the catalog is at schema revision {current!r}, which this embver does not know: "
            "it was written by a newer embver. Upgrade embver (pip install -U embver) "
            "to use this store; nothing was changed."
        )
    with write_transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
