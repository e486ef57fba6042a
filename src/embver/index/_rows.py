"""Rows between Arrow batches and the per-row shape of point databases (Qdrant, Chroma, Milvus).

Those engines take a row as an id, a vector and a flat dict of str values (payload,
metadata or scalar fields); these helpers do the conversion both ways, once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from embver.errors import IndexTargetError
from embver.index.base import ID, VECTOR, batch_vectors, row_schema

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


def batch_rows(batch: pa.RecordBatch) -> tuple[list[str], np.ndarray, list[dict[str, str]]]:
    """``batch`` as (ids, vectors of shape (n, d) float32, one dict of its str columns per row).

    Null values (an item without a label) are left out of the dicts.
    """
    ids = [str(value) for value in batch.column(ID).to_pylist()]
    if len(set(ids)) != len(ids):
        raise IndexTargetError("a batch holds the same id twice: ids must be unique per upsert")
    names = [name for name in batch.schema.names if name not in (ID, VECTOR)]
    columns = {name: batch.column(name).to_pylist() for name in names}
    values = [
        {name: column[i] for name, column in columns.items() if column[i] is not None}
        for i in range(len(ids))
    ]
    return ids, batch_vectors(batch), values


def rows_batch(
    columns: Sequence[str],
    dim: int,
    ids: Sequence[str],
    vectors: Sequence[Sequence[float]] | None,
    values: Sequence[dict[str, object]],
) -> pa.RecordBatch:
    """A batch of ``columns`` (of :func:`~embver.index.base.row_schema`) from per-row values.

    ``vectors`` may be None when ``columns`` has no ``vector``; a field a row lacks is null.
    """
    import numpy as np
    import pyarrow as pa

    fields = [name for name in columns if name not in (ID, VECTOR)]
    schema = row_schema(dim, [name for name in fields if not name.startswith("embver_")])
    arrays: list[pa.Array] = []
    for name in columns:
        if name == ID:
            arrays.append(pa.array(list(ids), pa.string()))
        elif name == VECTOR:
            flat = np.asarray(vectors if vectors is not None else [], dtype=np.float32).reshape(-1)
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dim))
        else:
            arrays.append(pa.array([_text(row.get(name)) for row in values], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([schema.field(c) for c in columns]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def chunks(count: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive slices of at most ``size`` out of ``count``."""
    for start in range(0, count, max(1, size)):
        yield start, min(count, start + size)
