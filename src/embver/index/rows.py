"""Rows between the store and a target: a version's rows in batches, what a table holds,
the backfill both publish and migrate run, and the check after it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from embver.errors import IndexTargetError, InvalidInputError
from embver.index import journal
from embver.index.base import HASH, ID, ITEM_FIELDS, SPACE, VECTOR, VERSION, Target, row_hashes

if TYPE_CHECKING:
    import pyarrow as pa

    from embver.store.store import Store
    from embver.store.version import Version

#: rows between checkpoints (flush + journal); a killed run redoes at most this many
CHECKPOINT_ROWS = 100_000
#: test hook: exit the process hard after this many written batches (a kill mid-way)
KILL_HOOK = "EMBVER_TEST_KILL_AFTER_BATCHES"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Held:
    """What one row of a table claims: its space, version and content hash."""

    space: str
    version: str
    hash: str


def check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """The item fields to copy, validated against :data:`ITEM_FIELDS`."""
    unknown = [f for f in fields if f not in ITEM_FIELDS]
    if unknown:
        raise InvalidInputError(
            f"--with {','.join(unknown)}: not an item field; choose from {', '.join(ITEM_FIELDS)}"
        )
    return tuple(dict.fromkeys(fields))


def held_rows(target: Target, table: str, batch_size: int = 50_000) -> dict[str, Held]:
    """id -> what the row claims, for every row of ``table`` (one scan of four str columns)."""
    rows: dict[str, Held] = {}
    for batch in target.scan(table, [ID, SPACE, VERSION, HASH], batch_size):
        columns = [batch.column(c).to_pylist() for c in (ID, SPACE, VERSION, HASH)]
        for row_id, space, version, digest in zip(*columns, strict=True):
            rows[row_id] = Held(space, version, digest)
    return rows


def version_label(version: Version) -> str:
    """The version string rows carry (``1.2.3``)."""
    return str(version.number)


def version_batches(
    store: Store, version: Version, batch_size: int, fields: Sequence[str]
) -> Iterator[pa.RecordBatch]:
    """The version's rows in batches of ``batch_size``: id, vector, embver columns, fields."""
    import numpy as np
    import pyarrow as pa

    from embver.index.base import row_schema

    table = version.to_arrow()
    items = store.items(version.space).set_index("id") if fields else None
    schema = row_schema(version.dim, fields)
    label = version_label(version)
    for start in range(0, table.num_rows, batch_size):
        piece = table.slice(start, batch_size)
        ids = piece.column("id").combine_chunks()
        stored = piece.column("vector").combine_chunks()
        flat = stored.flatten().to_numpy(zero_copy_only=False)
        vectors = np.asarray(flat, dtype=np.float32).reshape(len(ids), version.dim)
        n = len(ids)
        if stored.type != schema.field(VECTOR).type:  # e.g. float16 storage, a variable list
            stored = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), version.dim)
        columns: list[pa.Array] = [
            ids.cast(pa.string()),
            stored,
            pa.array([version.space] * n, pa.string()),
            pa.array([label] * n, pa.string()),
            pa.array(row_hashes(vectors), pa.string()),
        ]
        for name in fields:
            assert items is not None
            values = items.reindex(ids.to_pylist())[name]
            columns.append(pa.array([None if v is None or v != v else str(v) for v in values]))
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def backfill(
    store: Store,
    version: Version,
    target: Target,
    table: str,
    job: journal.Job,
    *,
    batch_size: int,
    fields: Sequence[str],
    progress: Progress | None = None,
) -> tuple[journal.Job, int]:
    """Write the version's rows into ``table``, skipping rows already there with the same
    space, version and hash; delete rows that are not the version's. Returns (job, written)."""
    import pyarrow.compute as pc

    present = held_rows(target, table)
    label = version_label(version)
    written = since_checkpoint = batches = 0
    kill_after = int(os.environ.get(KILL_HOOK, "0") or 0)
    seen: set[str] = set()
    for batch in version_batches(store, version, batch_size, fields):
        ids = batch.column(ID).to_pylist()
        seen.update(ids)
        hashes = batch.column(HASH).to_pylist()
        stale = [
            present.get(i) != Held(version.space, label, h)
            for i, h in zip(ids, hashes, strict=True)
        ]
        if any(stale):
            todo = batch if all(stale) else batch.filter(pc.cast(stale, "bool"))
            target.upsert(table, todo)
            written += len(todo)
            since_checkpoint += len(todo)
            batches += 1
        if progress is not None:
            progress(len(ids))
        if since_checkpoint >= CHECKPOINT_ROWS:
            target.flush()
            job = journal.update(store, job, step="backfill", done_count=written)
            since_checkpoint = 0
        if kill_after and batches >= kill_after:
            os._exit(137)  # the test hook: die like a kill -9, nothing flushed or journaled
    extra = [i for i in present if i not in seen]
    if extra:
        target.delete(table, extra)
    target.flush()
    job = journal.update(store, job, step="backfilled", done_count=written)
    return job, written


def verify(target: Target, table: str, version: Version, *, hashes: bool) -> None:
    """Raise IndexTargetError unless ``table`` holds exactly the version's rows (count; and
    each row's space, version and hash when ``hashes``)."""
    count = target.count(table)
    if count != version.count:
        raise IndexTargetError(
            f"{target.url}: {table} holds {count} rows after the backfill, {version.ref} has "
            f"{version.count}; rerun the command to continue"
        )
    if not hashes:
        return
    expected = dict(zip(version.ids, row_hashes(version.vectors()), strict=True))
    label = version_label(version)
    wrong = [
        i
        for i, held in held_rows(target, table).items()
        if held != Held(version.space, label, expected.get(i, ""))
    ]
    if wrong:
        raise IndexTargetError(
            f"{target.url}: {len(wrong)} rows of {table} differ from {version.ref} "
            f"(e.g. {wrong[0]!r}); rerun the command to continue"
        )
