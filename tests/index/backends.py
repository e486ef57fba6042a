"""The backends the index tests run against, each with readers' checks through its OWN client.

``BACKENDS[scheme](tmp_path)`` makes a :class:`BackendCase`: a fresh index URL in
``tmp_path`` (or a fresh database of a shared server) and the reader-side checks written
with the backend's own client library, never through embver. Engineer B's schemes live in
``backend_<scheme>.py`` modules next to this one; each defines ``CASES: dict[str,
Callable[[Path], BackendCase]]`` and is merged in here when present.
"""

from __future__ import annotations

import importlib
import itertools
import json
import tempfile
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np


class BackendCase(ABC):
    """One index URL and what its readers see, read with the backend's own client."""

    scheme: str
    url: str
    #: the metric the tests' versions use (their recipes' default)
    metric: str = "cosine"

    @abstractmethod
    def reader_ids(self) -> set[str]:
        """Ids readers see under the reader name (empty when nothing is published)."""

    @abstractmethod
    def reader_versions(self) -> dict[str, int]:
        """embver_version -> row count, as readers see it."""

    @abstractmethod
    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        """Ids of the k nearest rows to ``vector``, nearest first, as readers query."""

    def physical_tables(self) -> list[str]:
        """Names of the physical tables/collections/files behind the reader name, sorted."""
        raise NotImplementedError(f"{self.scheme}: no physical-table listing in its test case")

    def close(self) -> None:  # noqa: B027 - most cases hold no client
        """Release the client (default: nothing to release)."""


# ---------------------------------------------------------------- pgvector (pgserver)

_PG: dict[str, object] = {}
_PG_DATABASES = itertools.count()


def pg_server_uri() -> str:
    """A pgserver PostgreSQL (with pgvector), started on first use; test processes given the
    same ``EMBVER_TEST_PGDATA`` folder share one server (pgserver attaches to a running one)."""
    if "uri" not in _PG:
        import os

        import pgserver

        shared = os.environ.get("EMBVER_TEST_PGDATA")
        pgdata = Path(shared) if shared else Path(tempfile.mkdtemp(prefix="embver-pg-"))
        server = pgserver.get_server(pgdata, cleanup_mode="delete")
        _PG["server"] = server
        _PG["uri"] = server.get_uri()
    return str(_PG["uri"])


def pg_fresh_database() -> str:
    """A new empty database on the shared server; returns its libpq URI."""
    import os

    import psycopg

    base = pg_server_uri()
    name = f"embver_test_{os.getpid()}_{next(_PG_DATABASES)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(base, name)


def _with_database(uri: str, database: str) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


def pg_index_url(libpq_uri: str, table: str) -> str:
    """An embver index URL for ``table`` in the database of ``libpq_uri`` (socket host kept)."""
    import urllib.parse

    parts = urllib.parse.urlsplit(libpq_uri)
    query = urllib.parse.parse_qs(parts.query)
    query["table"] = [table]
    return urllib.parse.urlunsplit(
        parts._replace(scheme="postgresql+psycopg", query=urllib.parse.urlencode(query, doseq=True))
    )


class PgvectorCase(BackendCase):
    scheme = "postgresql+psycopg"

    def __init__(self, tmp_path: Path, table: str = "docs") -> None:
        import psycopg

        self.libpq = pg_fresh_database()
        self.table = table
        self.url = pg_index_url(self.libpq, table)
        self.conn = psycopg.connect(self.libpq, autocommit=True)

    def _exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()
        return row is not None and row[0] is not None

    def reader_ids(self) -> set[str]:
        if not self._exists():
            return set()
        return {r[0] for r in self.conn.execute(f'SELECT id FROM "{self.table}"')}

    def reader_versions(self) -> dict[str, int]:
        if not self._exists():
            return {}
        rows = self.conn.execute(
            f'SELECT embver_version, count(*) FROM "{self.table}" GROUP BY 1'
        ).fetchall()
        return {version: int(n) for version, n in rows}

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        literal = "[" + ",".join(repr(float(x)) for x in vector) + "]"
        operator = {"cosine": "<=>", "dot": "<#>", "l2": "<->"}[self.metric]
        rows = self.conn.execute(
            f'SELECT id FROM "{self.table}" ORDER BY vector {operator} %s::vector LIMIT %s',
            (literal, k),
        ).fetchall()
        return [r[0] for r in rows]

    def physical_tables(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' AND table_name LIKE %s",
            (f"{self.table}__embver_%",),
        ).fetchall()
        return sorted(r[0] for r in rows)

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- faiss files


class FaissCase(BackendCase):
    """``faiss:///dir/NAME``: ``NAME.current`` (JSON naming the physical table readers load),
    ``TABLE.faiss`` (an IndexIDMap2) and ``TABLE.ids.parquet`` (column ``key``, the int64 id
    inside the faiss index, beside ``id`` and the embver columns)."""

    scheme = "faiss"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        self.dir = tmp_path / "faiss-index"
        self.name = name
        self.url = f"faiss://{self.dir}/{name}"

    def _load(self):  # -> (faiss.Index, pyarrow.Table) | None
        import faiss
        import pyarrow.parquet as pq

        pointer = self.dir / f"{self.name}.current"
        if not pointer.exists():
            return None
        table = json.loads(pointer.read_text())["table"]
        index = faiss.read_index(str(self.dir / f"{table}.faiss"))
        rows = pq.read_table(self.dir / f"{table}.ids.parquet")
        assert index.ntotal == rows.num_rows, "faiss index and its id map disagree"
        return index, rows

    def reader_ids(self) -> set[str]:
        loaded = self._load()
        return set() if loaded is None else set(loaded[1].column("id").to_pylist())

    def reader_versions(self) -> dict[str, int]:
        loaded = self._load()
        if loaded is None:
            return {}
        return dict(Counter(loaded[1].column("embver_version").to_pylist()))

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        loaded = self._load()
        assert loaded is not None
        index, rows = loaded
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1).copy()
        if self.metric == "cosine":
            query /= np.linalg.norm(query)
        _, keys = index.search(query, k)
        keys_, ids = rows.column("key").to_pylist(), rows.column("id").to_pylist()
        by_key = dict(zip(keys_, ids, strict=True))
        return [by_key[int(key)] for key in keys[0] if key >= 0]

    def physical_tables(self) -> list[str]:
        return sorted(path.stem for path in self.dir.glob(f"{self.name}__embver_*.faiss"))


BACKENDS: dict[str, Callable[[Path], BackendCase]] = {
    "postgresql+psycopg": PgvectorCase,
    "faiss": FaissCase,
}

for _module in ("backend_lancedb", "backend_qdrant", "backend_chroma", "backend_milvus"):
    try:
        _loaded = importlib.import_module(_module)
    except ModuleNotFoundError as _error:
        if _error.name != _module:
            raise
        continue
    BACKENDS.update(_loaded.CASES)
