"""Chroma targets: ``chroma:///abs/folder/NAME`` (``chromadb.PersistentClient(path=...)``).

Chroma has no collection alias, so the collection readers see is itself *named* the
reader name, and says which physical table it is in its collection metadata
(``embver_physical``); physical tables readers do not see are collections
``NAME__embver_n``. :meth:`ChromaTarget.switch` renames the reader collection back to its
physical name, then renames the new table to the reader name (``collection.modify(name=)``):
two catalog writes, between which the reader name does not exist — readers get
``NotFoundError`` for that moment (milliseconds; the tests measure it), never a mix. A
switch stopped between the two renames is finished by running it again.

Rows carry the embver columns and item fields as metadata (Chroma's per-record dict);
no embedding function is attached (``embedding_function=None``), readers query by vector.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from embver.errors import EmbverError, IndexTargetError
from embver.index._rows import batch_rows, chunks, rows_batch
from embver.index.base import VECTOR, IndexURL, Target, physical_number, register_target

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

PHYSICAL_KEY = "embver_physical"
DIM_KEY = "embver_dim"
_SPACES = {"cosine": "cosine", "dot": "ip", "l2": "l2"}


@contextlib.contextmanager
def _engine_errors(url: IndexURL, doing: str) -> Iterator[None]:
    """Turn chromadb's errors into one line naming what failed."""
    try:
        yield
    except EmbverError:
        raise
    except Exception as error:  # chromadb raises its own tree, sqlite3 and OS errors
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise IndexTargetError(
            f"{url}: Chroma could not {doing}: {first[:300]} — check the folder and that no "
            "other program holds it"
        ) from None


@register_target("chroma")
class ChromaTarget(Target):
    """Chroma collections renamed into the reader name (see the module docstring)."""

    atomic_switch: ClassVar[bool] = False
    switch_note: ClassVar[str] = (
        "Chroma has no alias: the switch renames the reader collection away, then the new "
        "one to the reader name; between the two renames (one catalog write: 5-25 ms measured "
        "on a busy 2-core machine) readers find no collection of that name (NotFoundError), "
        "never a mix of versions; a switch stopped between them is finished by rerunning it"
    )

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        if url.host or not url.location:
            raise IndexTargetError(
                f"{url}: Chroma targets are local folders: write chroma:///abs/folder/NAME"
            )
        self.path = url.location
        self._client: ClientAPI | None = None

    @property
    def client(self) -> ClientAPI:
        if self._client is None:
            import chromadb

            with _engine_errors(self.url, "open the folder"):
                self._client = chromadb.PersistentClient(path=self.path)
        return self._client

    def _collection(self, name: str) -> Collection | None:
        if name not in self._names():
            return None
        with _engine_errors(self.url, f"open collection {name!r}"):
            return self.client.get_collection(name, embedding_function=None)

    def _names(self) -> list[str]:
        with _engine_errors(self.url, "list collections"):
            return [c.name for c in self.client.list_collections()]

    def _holding(self, table: str) -> Collection:
        """The collection holding physical ``table`` (the reader's while readers see it)."""
        name = self.reader if table == self.reader_table() else table
        found = self._collection(name)
        if found is None:
            raise IndexTargetError(
                f"{self.url}: collection {table!r} does not exist — publish first"
            )
        return found

    # ------------------------------------------------------------------ the interface

    def reader_table(self) -> str | None:
        found = self._collection(self.reader)
        physical = None if found is None else (found.metadata or {}).get(PHYSICAL_KEY)
        return None if physical is None else str(physical)

    def tables(self) -> list[str]:
        names = {n for n in self._names() if physical_number(self.reader, n) is not None}
        current = self.reader_table()
        if current is not None:
            names.add(current)
        return sorted(names, key=lambda name: physical_number(self.reader, name) or 0)

    def foreign(self) -> str | None:
        found = self._collection(self.reader)
        if found is None or PHYSICAL_KEY in (found.metadata or {}):
            return None
        return f"collection {self.reader!r} was not made by embver (no {PHYSICAL_KEY} metadata)"

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        self.check_physical(table)
        if self.dimension(table) is not None:
            self.check_dimension(table, dim)
            return
        metadata = {PHYSICAL_KEY: table, DIM_KEY: dim, "hnsw:space": _SPACES[metric]}
        with _engine_errors(self.url, f"create collection {table!r}"):
            self.client.create_collection(table, metadata=metadata, embedding_function=None)

    def dimension(self, table: str) -> int | None:
        name = self.reader if table == self.reader_table() else table
        found = self._collection(name)
        if found is None:
            return None
        dim = (found.metadata or {}).get(DIM_KEY)
        if dim is None:  # a collection embver did not make (import --from): its first vector's
            with _engine_errors(self.url, f"read collection {name!r}"):
                first = found.get(limit=1, include=["embeddings"])["embeddings"]
            return None if first is None or len(first) == 0 else len(first[0])
        return int(dim)

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        collection = self._holding(table)
        ids, vectors, values = batch_rows(batch)
        size = self.client.get_max_batch_size()
        for start, stop in chunks(len(ids), size):
            with _engine_errors(self.url, f"write to collection {table!r}"):
                collection.upsert(
                    ids=ids[start:stop],
                    embeddings=vectors[start:stop],
                    metadatas=values[start:stop],  # type: ignore[arg-type]
                )

    def delete(self, table: str, ids: Sequence[str]) -> None:
        collection = self._holding(table)
        for start, stop in chunks(len(ids), self.client.get_max_batch_size()):
            with _engine_errors(self.url, f"delete from collection {table!r}"):
                collection.delete(ids=list(ids[start:stop]))

    def count(self, table: str) -> int:
        try:
            collection = self._holding(table)
        except IndexTargetError:
            return 0
        with _engine_errors(self.url, f"count collection {table!r}"):
            return int(collection.count())

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        collection = self._holding(table)
        dim = self.dimension(table) or 0
        include: list[Any] = ["metadatas"] + (["embeddings"] if VECTOR in columns else [])
        for offset in range(0, collection.count(), batch_size):
            with _engine_errors(self.url, f"read collection {table!r}"):
                got = collection.get(include=include, limit=batch_size, offset=offset)
            if not got["ids"]:
                return
            values = [dict(m or {}) for m in got["metadatas"] or []]
            vectors = got["embeddings"] if VECTOR in columns else None
            yield rows_batch(columns, dim, got["ids"], vectors, values)  # type: ignore[arg-type]

    def switch(self, table: str) -> None:
        current = self.reader_table()
        if current == table:
            return
        incoming = self._collection(table)
        if incoming is None:
            raise IndexTargetError(f"{self.url}: cannot switch readers to {table!r}: no such table")
        if current is not None:
            reader = self._holding(current)
            with _engine_errors(self.url, f"rename {self.reader!r} back to {current!r}"):
                reader.modify(name=current)
        with _engine_errors(self.url, f"rename {table!r} to {self.reader!r}"):
            incoming.modify(name=self.reader)

    def drop(self, table: str) -> None:
        self.refuse_dropping_the_readers(table)
        if table in self._names():
            with _engine_errors(self.url, f"drop collection {table!r}"):
                self.client.delete_collection(table)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        collection = self._collection(self.reader) if table is None else self._holding(table)
        if collection is None:
            return []
        with _engine_errors(self.url, "search"):
            found = collection.query(
                query_embeddings=[vector.astype("float32")], n_results=k, include=[]
            )
        return list(found["ids"][0])

    def close(self) -> None:
        self._client = None


__all__ = ["ChromaTarget"]
