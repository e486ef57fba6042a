"""Vector data: one Lance dataset per version (columns ``id``, ``vector``), content-hashed.

A version's data may grow by appended segments (new items under the same recipe);
the catalog records each segment's row count and hash, and the version's content
hash is the hash of its segment hashes, so appends never re-read old data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from embver.errors import IntegrityError

_ARROW_DTYPES = {"float32": pa.float32(), "float16": pa.float16()}


@dataclass(frozen=True)
class Segment:
    """A contiguous run of rows written at once."""

    rows: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "hash": self.hash}


def hash_segment(ids: pa.Array, vectors: np.ndarray) -> str:
    """blake3 over the row count, the ids (offsets + utf-8 bytes) and the vector bytes."""
    import blake3

    ids = ids.cast(pa.large_string())
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[
        ids.offset : ids.offset + len(ids) + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    data = ids.buffers()[2]
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    hasher.update(np.int64(len(ids)).tobytes())
    hasher.update((offsets - start).astype("<i8").tobytes())
    if data is not None:
        hasher.update(memoryview(data)[start:end])
    hasher.update(np.ascontiguousarray(vectors).view(np.uint8).reshape(-1).data)
    return hasher.hexdigest()


def content_hash(segments: Sequence[Segment]) -> str:
    """The version's content hash: blake3 over its segment hashes, in order."""
    import blake3

    return blake3.blake3("".join(s.hash for s in segments).encode()).hexdigest()


def to_table(ids: Sequence[str] | pa.Array, vectors: np.ndarray, dtype: str) -> pa.Table:
    """An Arrow table with ``id`` (string) and ``vector`` (fixed-size list of ``dtype``)."""
    values = pa.array(vectors.reshape(-1), type=_ARROW_DTYPES[dtype])
    column = pa.FixedSizeListArray.from_arrays(values, vectors.shape[1])
    return pa.table({"id": pa.array(ids, type=pa.string()), "vector": column})


def write_dataset(uri: str, table: pa.Table, mode: str = "create") -> int:
    """Write (or append to) the Lance dataset at ``uri``; returns its new Lance version."""
    import lance

    dataset = lance.write_dataset(table, uri, mode=mode, max_rows_per_file=1 << 24)
    return int(dataset.version)


def open_dataset(uri: str, lance_version: int) -> Any:
    """The Lance dataset at ``uri`` as of ``lance_version``; IntegrityError if missing."""
    import lance

    try:
        return lance.dataset(uri, version=lance_version)
    except Exception as exc:  # lance raises OSError/ValueError subclasses
        raise IntegrityError(
            f"vector data {uri!r} (Lance version {lance_version}) cannot be opened: {exc}; "
            "run `embver verify`"
        ) from None


def read_table(uri: str, lance_version: int, expected_rows: int, dim: int) -> pa.Table:
    """Read the whole dataset, checking row count and vector width."""
    dataset = open_dataset(uri, lance_version)
    try:
        table = dataset.to_table()
    except Exception as exc:
        raise IntegrityError(
            f"vector data {uri!r} cannot be read: {exc}; run `embver verify`"
        ) from None
    if table.num_rows != expected_rows:
        raise IntegrityError(
            f"vector data {uri!r} has {table.num_rows} rows, the catalog expects {expected_rows}: "
            "it is truncated or was replaced; run `embver verify`"
        )
    width = table.schema.field("vector").type.list_size
    if width != dim:
        raise IntegrityError(f"vector data {uri!r} has width {width}, the catalog expects {dim}")
    return table


def vectors_of(table: pa.Table) -> np.ndarray:
    """The ``vector`` column as an (n, d) array (zero-copy where Arrow allows)."""
    column = table.column("vector").combine_chunks()
    width = column.type.list_size
    flat = column.values.to_numpy(zero_copy_only=False)
    return flat.reshape(-1, width)


def rehash(table: pa.Table, segments: Sequence[Segment]) -> list[str]:
    """Problems found re-hashing ``table`` segment by segment (empty when intact)."""
    problems = []
    ids = table.column("id").combine_chunks()
    vectors = vectors_of(table)
    start = 0
    for index, segment in enumerate(segments):
        stop = start + segment.rows
        actual = hash_segment(ids.slice(start, segment.rows), vectors[start:stop])
        if actual != segment.hash:
            problems.append(f"segment {index} (rows {start}-{stop - 1}) hash mismatch")
        start = stop
    return problems
