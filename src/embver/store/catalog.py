"""The catalog: an SQLAlchemy engine over SQLite or PostgreSQL, migrated by Alembic."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from embver.errors import DependencyError, IntegrityError, StoreError, StoreVersionError

_MIGRATIONS = Path(__file__).parent / "migrations"
#: the first 16 bytes of every SQLite database file
_SQLITE_MAGIC = b"SQLite format 3\x00"


def open_catalog(url: str, *, new: bool = False) -> Engine:
    """An engine on the catalog at ``url``, migrated to this embver's schema.

    What a user can put right comes as one line: a server that cannot be reached or
    a database that does not exist (:class:`StoreError`), a damaged SQLite file
    (:class:`IntegrityError`). ``new``: the store is being created, so its SQLite
    file may not exist yet; an existing store's must (SQLite would take a missing or
    emptied file for a new database, and the store would read back with no spaces).
    """
    engine = create_catalog_engine(url)
    database = engine.url.database or ":memory:"
    if not new and engine.url.get_backend_name() == "sqlite" and database != ":memory:":
        check_sqlite_file(Path(database))
    try:
        with _catalog_errors(engine):
            migrate(engine)
    except BaseException:
        # Close it so not even an empty WAL file is left (a newer embver's catalog, say).
        engine.dispose()
        raise
    return engine


def check_sqlite_file(path: Path) -> None:
    """Refuse an SQLite catalog file that is missing, not SQLite, or cut short, before
    SQLite opens it. Reads the 100-byte header only."""
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        raise IntegrityError(
            f"the catalog {path} is missing; restore it from a backup (the store's versions "
            "are listed only there)"
        ) from None
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return  # SQLite completes the file from its write-ahead log: leave it to SQLite
    if len(header) < 100 or header[:16] != _SQLITE_MAGIC:
        raise IntegrityError(
            f"the catalog {path} is not an SQLite database ({size} bytes, no SQLite header); "
            "restore it from a backup"
        )
    shortfall = _sqlite_shortfall(header, size)
    if shortfall:
        raise IntegrityError(
            f"the catalog {path} is truncated ({shortfall}); restore it from a backup"
        )


def _sqlite_shortfall(header: bytes, size: int) -> str | None:
    """How a database file of ``size`` bytes falls short of its 100-byte ``header``, if it does."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or size % page_size:
        return f"{size} bytes is not a whole number of {page_size}-byte pages"
    # The header's page count is valid when its "version-valid-for" matches the change counter.
    if header[92:96] == header[24:28]:
        expected = int.from_bytes(header[28:32], "big") * page_size
        if size < expected:
            return f"{size} bytes, its header says {expected}"
    return None


@contextlib.contextmanager
def _catalog_errors(engine: Engine) -> Iterator[None]:
    """Database errors while opening the catalog, as one-line embver errors."""
    url = engine.url.render_as_string(hide_password=True)
    try:
        yield
    except sa.exc.DBAPIError as exc:
        problem = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
        if engine.url.get_backend_name() != "sqlite":
            raise StoreError(
                f"cannot use the catalog {url}: {problem}; check that the server runs and that "
                "the URL's host, port, user and database are right (embver does not create "
                "the database: create it first, e.g. `createdb NAME`)"
            ) from None
        if isinstance(exc, sa.exc.OperationalError):
            raise StoreError(
                f"cannot open the catalog {engine.url.database}: {problem}; check that its "
                "folder exists and is writable"
            ) from None
        raise IntegrityError(
            f"the catalog {engine.url.database} is damaged ({problem}); restore it from a backup"
        ) from None


def create_catalog_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking BEGINs."""
    try:
        sa_url = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"catalog URL {url!r} is not an SQLAlchemy URL: {exc}") from None
    if sa_url.get_backend_name() != "sqlite":
        return _create_engine(sa_url, pool_pre_ping=True)
    engine = _create_engine(sa_url, connect_args={"timeout": 120})
    _make_sqlite_transactional(engine)
    return engine


def _create_engine(url: sa.URL, **options: Any) -> Engine:
    shown = url.render_as_string(hide_password=True)
    try:
        return sa.create_engine(url, future=True, **options)
    except sa.exc.NoSuchModuleError:
        raise StoreError(
            f"catalog URL {shown!r}: SQLAlchemy knows no database {url.drivername!r}; "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
        ) from None
    except ImportError as exc:
        raise DependencyError(
            f"catalog URL {shown!r} needs the database driver {exc.name or url.drivername!r}, "
            "which is not installed; install it, or use postgresql+psycopg://"
        ) from None


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


#: the newest revision under migrations/versions: a catalog stamped with it is opened
#: without importing alembic and reading its scripts (a few tenths of a second of every
#: command); tests/store/test_migrations.py checks that it is alembic's head
HEAD_REVISION = "0006"


def migrate(engine: Engine) -> None:
    """Bring the catalog to this embver's schema, refusing a newer or unknown one."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    from alembic import command
    from alembic.script import ScriptDirectory

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


class ChangeWatch:
    """A number that moves whenever a connection other than its own commits to the catalog.

    A reader keeps what it resolved (an alias → a version) while :meth:`current` stays
    the same, and resolves again once it moves, so a change made a moment ago by any
    process is seen by the next read. SQLite files answer with ``PRAGMA data_version`` on
    a private connection that never writes (microseconds, no transaction held); other catalogs
    (PostgreSQL, in-memory SQLite) answer None: there is nothing as cheap to watch, and
    the reader resolves every time.
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        database = engine.url.database
        if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
            # never writes: every commit it sees is another connection's
            self._connection = sqlite3.connect(
                database, isolation_level=None, check_same_thread=False
            )

    def current(self) -> int | None:
        """The catalog's change number now, or None when it cannot be watched."""
        if self._connection is None:
            return None
        with self._lock:
            try:
                row = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:
                return None  # the catalog's own readers will say what is wrong with it
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
