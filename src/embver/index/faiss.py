"""FAISS files: ``faiss:///abs/dir/NAME``.

Each physical table ``NAME__embver_n`` is two files in the folder: ``TABLE.faiss`` (an
``IndexIDMap2`` over ``IndexFlatIP`` for cosine/dot — cosine rows normalised — or
``IndexFlatL2``) and ``TABLE.ids.parquet`` (column ``key``, the int64 id inside the faiss
index, beside ``id``, the embver columns and the item fields). Readers load what
``NAME.current`` names, a small JSON file replaced with ``os.replace``, so
:meth:`FaissTarget.switch` is atomic. Writes are buffered in memory and reach the files
(each written aside, then moved into place) on ``flush``, ``switch`` and ``close``, and
every :data:`FLUSH_ROWS` buffered rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from embver.errors import IndexTargetError
from embver.index.base import (
    ID,
    METRICS,
    VECTOR,
    IndexURL,
    Target,
    batch_vectors,
    physical_number,
    register_target,
    row_schema,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: buffered rows that make a table's files be rewritten
FLUSH_ROWS = 200_000
KEY = "key"


@dataclass
class _Table:
    """A physical table loaded in memory: the faiss index, its rows' columns, id -> key."""

    index: Any
    metric: str
    rows: pa.Table
    keys: dict[str, int]
    next_key: int
    pending: int = 0
    removed: set[int] = field(default_factory=set)

    def columns(self) -> pa.Table:
        """The row columns without removed keys (compacted)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.removed:
            gone = pa.array(sorted(self.removed), pa.int64())
            self.rows = self.rows.filter(pc.invert(pc.is_in(self.rows.column(KEY), gone)))
            self.removed = set()
        return self.rows


@register_target("faiss")
class FaissTarget(Target):
    """A reader pointer file and its physical FAISS tables in one folder."""

    atomic_switch: ClassVar[bool] = True
    switch_note: ClassVar[str] = (
        "the pointer file NAME.current is replaced with os.replace: a reader that loads after "
        "the switch gets the new table, one that loaded before keeps the old one in memory"
    )

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        if url.host:
            raise IndexTargetError(
                f"{url}: a FAISS index is a local folder: "
                "write faiss:///abs/dir/NAME (three slashes)"
            )
        self.dir = Path(url.location or ".")
        if self.dir.exists() and not self.dir.is_dir():
            raise IndexTargetError(f"{url}: {self.dir} is a file, not a folder")
        self._loaded: dict[str, _Table] = {}

    # files

    def _path(self, table: str, suffix: str) -> Path:
        return self.dir / f"{table}{suffix}"

    def _pointer(self) -> Path:
        return self.dir / f"{self.reader}.current"

    def _meta(self, table: str) -> dict[str, Any] | None:
        path = self._path(table, ".meta.json")
        if not path.exists():
            return None
        return dict(json.loads(path.read_text()))

    def _load(self, table: str) -> _Table:
        if table in self._loaded:
            return self._loaded[table]
        import faiss
        import pyarrow.parquet as pq

        meta = self._meta(table)
        if meta is None:
            raise IndexTargetError(f"{self.url}: table {table!r} does not exist")
        index = faiss.read_index(str(self._path(table, ".faiss")))
        rows = pq.read_table(self._path(table, ".ids.parquet"))
        if index.ntotal != rows.num_rows:
            raise IndexTargetError(
                f"{self.url}: {table}.faiss holds {index.ntotal} vectors but its id map "
                f"{rows.num_rows}: the files are damaged; drop the table and publish again"
            )
        keys = dict(zip(rows.column(ID).to_pylist(), rows.column(KEY).to_pylist(), strict=True))
        loaded = _Table(index, meta["metric"], rows, keys, int(meta["next_key"]))
        self._loaded[table] = loaded
        return loaded

    def _flush(self, table: str) -> None:
        import faiss
        import pyarrow.parquet as pq

        loaded = self._loaded.get(table)
        if loaded is None or (loaded.pending == 0 and not loaded.removed):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        ids_tmp = self._path(table, ".ids.parquet.tmp")
        index_tmp = self._path(table, ".faiss.tmp")
        pq.write_table(loaded.columns(), ids_tmp)
        faiss.write_index(loaded.index, str(index_tmp))
        meta = {**(self._meta(table) or {}), "next_key": loaded.next_key}
        _write_json(self._path(table, ".meta.json"), meta)
        os.replace(ids_tmp, self._path(table, ".ids.parquet"))
        os.replace(index_tmp, self._path(table, ".faiss"))
        loaded.pending = 0

    def flush(self) -> None:
        for table in list(self._loaded):
            if self._meta(table) is not None:
                self._flush(table)

    def close(self) -> None:
        self.flush()
        self._loaded.clear()

    # what is there

    def foreign(self) -> str | None:
        pointer = self._pointer()
        if pointer.exists():
            try:
                table = json.loads(pointer.read_text())["table"]
            except (ValueError, KeyError, TypeError):
                return f"{pointer} is not an embver pointer file"
            if physical_number(self.reader, table) is None:
                return f"{pointer} points at {table!r}, not an embver table of {self.reader!r}"
            return None
        plain = self._path(self.reader, ".faiss")
        if plain.exists():
            return f"{plain} is a FAISS file not written by embver"
        return None

    def reader_table(self) -> str | None:
        if self.foreign() is not None or not self._pointer().exists():
            return None
        return str(json.loads(self._pointer().read_text())["table"])

    def tables(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        found = [p.name.removesuffix(".meta.json") for p in self.dir.glob("*.meta.json")]
        names = [t for t in found if physical_number(self.reader, t) is not None]
        return sorted(names, key=lambda t: physical_number(self.reader, t) or 0)

    def dimension(self, table: str) -> int | None:
        meta = self._meta(table)
        return None if meta is None else int(meta["dim"])

    # writing

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        import faiss
        import pyarrow as pa

        if metric not in METRICS:
            raise IndexTargetError(f"{self.url}: metric {metric!r} is not one of {METRICS}")
        self.check_dimension(table, dim)
        if self._meta(table) is not None:
            return
        flat = faiss.IndexFlatL2(dim) if metric == "l2" else faiss.IndexFlatIP(dim)
        schema = row_schema(dim, fields)
        columns = [pa.field(KEY, pa.int64())] + [
            schema.field(c) for c in schema.names if c != VECTOR
        ]
        rows = pa.schema(columns).empty_table()
        self._loaded[table] = _Table(faiss.IndexIDMap2(flat), metric, rows, {}, 0, pending=1)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_json(
                self._path(table, ".meta.json"),
                {"embver": 1, "dim": dim, "metric": metric, "fields": list(fields), "next_key": 0},
            )
        except OSError as error:
            self._loaded.pop(table)
            raise IndexTargetError(f"{self.url}: cannot write {self.dir}: {error}") from None
        self._flush(table)

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        import numpy as np
        import pyarrow as pa

        loaded = self._load(table)
        ids = batch.column(ID).to_pylist()
        old = [loaded.keys[i] for i in ids if i in loaded.keys]
        if old:
            loaded.index.remove_ids(np.asarray(old, dtype=np.int64))
            loaded.removed.update(old)
        keys = np.arange(loaded.next_key, loaded.next_key + len(ids), dtype=np.int64)
        loaded.index.add_with_ids(_prepared(batch_vectors(batch), loaded.metric), keys)
        loaded.next_key += len(ids)
        loaded.keys.update(zip(ids, keys.tolist(), strict=True))
        others = [c for c in loaded.rows.schema.names if c != KEY]
        added = pa.table(
            [pa.array(keys), *(_column(batch, c) for c in others)], schema=loaded.rows.schema
        )
        loaded.rows = pa.concat_tables([loaded.columns(), added])
        loaded.pending += len(ids)
        if loaded.pending >= FLUSH_ROWS:
            self._flush(table)

    def delete(self, table: str, ids: Sequence[str]) -> None:
        import numpy as np

        loaded = self._load(table)
        old = [loaded.keys.pop(i) for i in ids if i in loaded.keys]
        if old:
            loaded.index.remove_ids(np.asarray(old, dtype=np.int64))
            loaded.removed.update(old)
            loaded.pending += len(old)

    def count(self, table: str) -> int:
        return int(self._load(table).index.ntotal)

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        import faiss
        import numpy as np
        import pyarrow as pa

        loaded = self._load(table)
        rows = loaded.columns()
        order = faiss.vector_to_array(loaded.index.id_map)
        position = {int(k): i for i, k in enumerate(order)}
        dim = int(loaded.index.d)
        for start in range(0, rows.num_rows, batch_size):
            piece = rows.slice(start, batch_size)
            arrays = []
            for name in columns:
                if name == VECTOR:
                    at = [position[k] for k in piece.column(KEY).to_pylist()]
                    vectors = np.stack([loaded.index.index.reconstruct(i) for i in at])
                    flat = pa.array(vectors.astype(np.float32).reshape(-1))
                    arrays.append(pa.FixedSizeListArray.from_arrays(flat, dim))
                else:
                    arrays.append(piece.column(name).combine_chunks())
            yield pa.RecordBatch.from_arrays(arrays, names=list(columns))

    def switch(self, table: str) -> None:
        if self._meta(table) is None:
            raise IndexTargetError(f"{self.url}: table {table!r} does not exist")
        self._flush(table)
        _write_json(self._pointer(), {"table": table})

    def drop(self, table: str) -> None:
        self.refuse_dropping_the_readers(table, "table")
        self._loaded.pop(table, None)
        for suffix in (".meta.json", ".faiss", ".ids.parquet"):
            self._path(table, suffix).unlink(missing_ok=True)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        import numpy as np

        physical = table or self.reader_table()
        if physical is None:
            return []
        loaded = self._load(physical)
        query = _prepared(np.asarray(vector, dtype=np.float32).reshape(1, -1), loaded.metric)
        _, found = loaded.index.search(query, k)
        by_key = {v: i for i, v in loaded.keys.items()}
        return [by_key[int(key)] for key in found[0] if key >= 0]


def _prepared(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Vectors as faiss stores them: float32, C order, unit length for cosine (one copy)."""
    import faiss
    import numpy as np

    out = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if metric == "cosine":
        faiss.normalize_L2(out)
    return out


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    import pyarrow as pa

    if name in batch.schema.names:
        return batch.column(name)
    return pa.nulls(len(batch), pa.string())


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` beside ``path`` and move it into place (readers never see half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


__all__ = ["FaissTarget"]
