"""LanceDB targets: ``lancedb:///abs/db/NAME``, ``lancedb://relative/db/NAME``, and object
storage through ``?uri=`` (``lancedb:///NAME?uri=s3://bucket/prefix``, configured by the
``AWS_*`` variables Lance reads, as for the store).

LanceDB OSS has no table alias and no rename, so the reader name is itself a Lance
dataset that holds the rows of the physical table readers see, named in its schema
metadata (``embver_physical``). Physical tables readers do not see are datasets
``NAME__embver_n``. :meth:`LanceDBTarget.switch` keeps the table readers saw as a
shallow clone of the reader dataset's current version (no data copied) and then writes
the new table's rows over the reader dataset in ONE Lance commit: a reader opening the
reader name sees the old rows or the new ones, never a mix, and a table handle opened
before keeps reading its version until it checks out the latest.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from embver.errors import EmbverError, IndexTargetError
from embver.index.base import (
    ID,
    VECTOR,
    IndexURL,
    Target,
    physical_number,
    register_target,
    row_schema,
)

if TYPE_CHECKING:
    import lancedb
    import lancedb.table
    import numpy as np
    import pyarrow as pa
    from lancedb.query import LanceVectorQueryBuilder

PHYSICAL_KEY = b"embver_physical"
METRIC_KEY = b"embver_metric"


def database_uri(url: IndexURL) -> str:
    """Where the LanceDB database lives: ``?uri=`` if given, else the URL's path before NAME."""
    if "uri" in url.params:
        return url.params["uri"]
    netloc = urllib.parse.urlsplit(url.raw).netloc
    location = f"{netloc}{url.location}" if netloc else url.location
    if not location:
        raise IndexTargetError(
            f"{url}: no database folder: write lancedb:///abs/db/NAME or add ?uri=s3://bucket/prefix"
        )
    return location


@contextlib.contextmanager
def _engine_errors(url: IndexURL, doing: str) -> Iterator[None]:
    """Turn LanceDB's own errors (unreachable storage, refused writes) into one line."""
    try:
        yield
    except EmbverError:
        raise
    except (OSError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise IndexTargetError(
            f"{url}: LanceDB could not {doing}: {first[:300]} — check the path or ?uri= and its "
            "AWS_* variables"
        ) from None


@register_target("lancedb")
class LanceDBTarget(Target):
    """A LanceDB table behind a reader name (see the module docstring for the switch)."""

    atomic_switch: ClassVar[bool] = True
    switch_note: ClassVar[str] = (
        "one Lance commit overwrites the reader table with the new table's rows (the old "
        "table is kept as a zero-copy clone): readers see the old rows or the new, never a "
        "mix; it copies the new table once, so the switch takes about as long as writing it"
    )

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        self.uri = database_uri(url)
        self._db: lancedb.DBConnection | None = None
        # tables this target filled from empty: their ids, so a batch of new ids is a plain
        # append (Lance's fastest path) instead of a merge
        self._known_ids: dict[str, WrittenIds] = {}

    # ------------------------------------------------------------------ connection

    @property
    def db(self) -> lancedb.DBConnection:
        if self._db is None:
            import lancedb

            with _engine_errors(self.url, "open the database"):
                self._db = lancedb.connect(self.uri)
        return self._db

    def _names(self) -> list[str]:
        with _engine_errors(self.url, "list its tables"):
            names: list[str] = []
            token: str | None = None
            while True:
                page = self.db.list_tables(page_token=token)
                names.extend(page.tables)
                token = page.page_token
                if not token:
                    return names

    def _open(self, name: str) -> lancedb.table.Table | None:
        with _engine_errors(self.url, f"open table {name!r}"):
            try:
                return self.db.open_table(name)
            except ValueError as error:
                if "was not found" in str(error):
                    # LanceDB's background loop keeps the error in a Future that the frames
                    # of its traceback hold: a cycle that kept our callers' locals (each
                    # upsert's batch) alive until the cyclic GC ran (+270 MiB over 300k rows)
                    error.__traceback__ = None
                    return None
                raise

    def _need(self, table: str) -> lancedb.table.Table:
        opened = self._open(self._dataset(table))
        if opened is None:
            raise IndexTargetError(f"{self.url}: table {table!r} does not exist — publish first")
        return opened

    def _dataset(self, table: str) -> str:
        """The dataset holding physical ``table``: the reader dataset while readers see it."""
        return self.reader if table == self.reader_table() else table

    # ------------------------------------------------------------------ the interface

    def reader_table(self) -> str | None:
        opened = self._open(self.reader)
        if opened is None:
            return None
        physical = (opened.schema.metadata or {}).get(PHYSICAL_KEY)
        return None if physical is None else physical.decode()

    def tables(self) -> list[str]:
        names = {name for name in self._names() if physical_number(self.reader, name) is not None}
        current = self.reader_table()
        if current is not None:
            names.add(current)
        return sorted(names, key=lambda name: physical_number(self.reader, name) or 0)

    def foreign(self) -> str | None:
        opened = self._open(self.reader)
        if opened is None or PHYSICAL_KEY in (opened.schema.metadata or {}):
            return None
        return (
            f"table {self.reader!r} in {self.uri} was not made by embver (its schema has no "
            f"{PHYSICAL_KEY.decode()} metadata)"
        )

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        self._check_physical(table)
        if self.dimension(table) is not None:
            self.check_dimension(table, dim)
            return
        schema = row_schema(dim, fields).with_metadata(
            {PHYSICAL_KEY: table.encode(), METRIC_KEY: metric.encode()}
        )
        with _engine_errors(self.url, f"create table {table!r}"):
            self.db.create_table(table, schema=schema)
        self._known_ids[table] = WrittenIds()

    def dimension(self, table: str) -> int | None:
        opened = self._open(self._dataset(table))
        if opened is None:
            return None
        return int(opened.schema.field(VECTOR).type.list_size)

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        opened = self._need(table)
        data = _conform(batch, opened.schema)
        ids = data.column(ID).to_pylist()
        known = self._known_ids.get(table)
        if known is None and opened.count_rows() == 0:
            known = self._known_ids[table] = WrittenIds()
        with _engine_errors(self.url, f"write to table {table!r}"):
            if known is not None and known.isdisjoint(ids):
                opened.add(data)
            else:
                merge = opened.merge_insert(ID).when_matched_update_all()
                merge.when_not_matched_insert_all().execute(data)
        if known is not None:
            known.update(ids)

    def insert(self, table: str, batch: pa.RecordBatch) -> None:
        opened = self._need(table)
        with _engine_errors(self.url, f"write to table {table!r}"):
            opened.add(_conform(batch, opened.schema))
        self._known_ids.pop(table, None)  # what it tracked no longer covers the table

    def delete(self, table: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        opened = self._need(table)
        quoted = ", ".join("'" + str(i).replace("'", "''") + "'" for i in ids)
        with _engine_errors(self.url, f"delete from table {table!r}"):
            opened.delete(f"{ID} IN ({quoted})")
        # a hash shared by a deleted id and a kept one must not pass for new: stop tracking
        self._known_ids.pop(table, None)

    def count(self, table: str) -> int:
        opened = self._open(self._dataset(table))
        return 0 if opened is None else int(opened.count_rows())

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        dataset = self._need(table).to_lance()
        with _engine_errors(self.url, f"read table {table!r}"):
            for batch in dataset.to_batches(columns=list(columns), batch_size=batch_size):
                if batch.num_rows:
                    yield batch

    def switch(self, table: str) -> None:
        current = self.reader_table()
        if current == table:
            self._drop_dataset(table)  # a copy left by a switch that stopped after its commit
            return
        if self.dimension(table) is None:
            raise IndexTargetError(f"{self.url}: cannot switch readers to {table!r}: no such table")
        if current is not None:
            self._keep_reader_as(current)
        self._write_reader(table)
        self._drop_dataset(table)

    def drop(self, table: str) -> None:
        self.refuse_dropping_the_readers(table, "table")
        self._drop_dataset(table)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        opened = self._open(self.reader) if table is None else self._need(table)
        if opened is None:
            return []
        metric = (opened.schema.metadata or {}).get(METRIC_KEY, b"cosine").decode()
        with _engine_errors(self.url, "search"):
            query = cast("LanceVectorQueryBuilder", opened.search(vector.astype("float32")))
            result = query.distance_type(metric).select([ID, "_distance"]).limit(k).to_arrow()
        return [str(value) for value in result.column(ID).to_pylist()]

    def close(self) -> None:
        self._db = None
        self._known_ids.clear()

    # ------------------------------------------------------------------ the switch's steps

    def _check_physical(self, table: str) -> None:
        if physical_number(self.reader, table) is None:
            raise IndexTargetError(
                f"{self.url}: {table!r} is not a physical table name of {self.reader!r} "
                f"(expected {self.reader}__embver_N)"
            )

    def _keep_reader_as(self, current: str) -> None:
        """Keep the rows readers see now as dataset ``current``: a clone sharing their files."""
        self._drop_dataset(current)  # a clone left by a switch that stopped before its commit
        reader = self._need(current).to_lance()
        with _engine_errors(self.url, f"keep table {current!r}"):
            reader.shallow_clone(self._dataset_uri(current), reader.version)

    def _write_reader(self, table: str) -> None:
        """Overwrite the reader dataset with ``table``'s rows: one commit readers see at once."""
        import pyarrow as pa

        source = self._need(table)
        metadata = dict(source.schema.metadata or {})
        metadata[PHYSICAL_KEY] = table.encode()
        schema = source.schema.with_metadata(metadata)
        batches = (
            pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            for batch in source.to_lance().to_batches(batch_size=8192)
        )
        reader = pa.RecordBatchReader.from_batches(schema, batches)
        with _engine_errors(self.url, f"switch readers to {table!r}"):
            if self._open(self.reader) is None and "://" not in self.uri:
                self._move_local(table, schema)
            else:
                self.db.create_table(self.reader, data=reader, schema=schema, mode="overwrite")

    def _move_local(self, table: str, schema: pa.Schema) -> None:
        """First switch on a local folder: rename the table's folder to the reader's (atomic,
        nobody reads the reader name yet), after naming the table in its metadata."""
        opened = self._need(table)
        opened.to_lance().update_schema_metadata(
            {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}, replace=True
        )
        os.rename(self._dataset_uri(table), self._dataset_uri(self.reader))
        self._db = None  # the connection caches what it opened

    def _drop_dataset(self, table: str) -> None:
        if table in self._names():
            with _engine_errors(self.url, f"drop table {table!r}"):
                self.db.drop_table(table)
        self._known_ids.pop(table, None)

    def _dataset_uri(self, name: str) -> str:
        if "://" in self.uri:
            return f"{self.uri.rstrip('/')}/{name}.lance"
        return str(Path(self.uri) / f"{name}.lance")


class WrittenIds:
    """The ids written into a table, as sorted 64-bit hashes (8 bytes an id, not a set of str).

    Answers whether a batch's ids are all new: a hash shared by a new id and a written one
    only says "maybe not", which sends that batch down the slower merge (still correct).
    """

    def __init__(self) -> None:
        import numpy as np

        self._sorted = np.empty(0, dtype=np.int64)

    @staticmethod
    def _hashes(ids: Sequence[str]) -> np.ndarray:
        import numpy as np

        return np.sort(np.fromiter((hash(i) for i in ids), dtype=np.int64, count=len(ids)))

    def isdisjoint(self, ids: Sequence[str]) -> bool:
        """True when no id of ``ids`` was written (by hash)."""
        import numpy as np

        if not len(self._sorted) or not len(ids):
            return True
        wanted = self._hashes(ids)
        at = np.minimum(np.searchsorted(self._sorted, wanted), len(self._sorted) - 1)
        return not bool(np.any(self._sorted[at] == wanted))

    def update(self, ids: Sequence[str]) -> None:
        """Record ``ids`` as written."""
        import numpy as np

        wanted = self._hashes(ids)
        self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, wanted), wanted)

    def __len__(self) -> int:
        return len(self._sorted)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """``batch`` with the table's columns in its order: fields it lacks as nulls, others refused."""
    import pyarrow as pa

    extra = [name for name in batch.schema.names if name not in schema.names]
    if extra:
        raise IndexTargetError(
            f"the batch has columns {extra} the table lacks: publish with the same --with fields"
        )
    columns = [
        batch.column(name) if name in batch.schema.names else pa.nulls(len(batch), field.type)
        for name, field in zip(schema.names, schema, strict=True)
    ]
    plain = schema.with_metadata({})
    return pa.Table.from_arrays(
        [c.cast(f.type) for c, f in zip(columns, plain, strict=True)], schema=plain
    )


__all__ = ["LanceDBTarget", "database_uri"]
