"""Rows between the store and a target: a version's rows in batches, what a table holds,
the backfill both publish and migrate run, and the check after it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from embver.errors import IndexTargetError, InvalidInputError
from embver.index import journal
from embver.index.base import (
    HASH,
    ID,
    ITEM_FIELDS,
    SPACE,
    VECTOR,
    VERSION,
    Target,
    batch_vectors,
    row_hashes,
)

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
    store: Store,
    version: Version,
    batch_size: int,
    fields: Sequence[str],
    *,
    check_ahead: bool = False,
) -> Iterator[pa.RecordBatch]:
    """The version's rows in batches of ``batch_size``: id, vector, embver columns, fields.

    Streams the store (:meth:`~embver.store.version.Version.iter_batches`): the whole version
    is never in memory, only a batch and, with ``fields``, those item columns. Damaged data
    raises IntegrityError mid-stream (before a segment's last batch; with ``check_ahead``
    before its first), so what the caller wrote must not reach readers before the end.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from embver.index.base import row_schema

    items = store.item_fields(version.space, fields) if fields else None
    schema = row_schema(version.dim, fields)
    label = version_label(version)
    for piece in version.iter_batches(batch_size, check_ahead=check_ahead):
        ids = piece.column("id")
        stored = piece.column("vector")
        vectors = batch_vectors(piece)
        n = len(ids)
        if stored.type != schema.field(VECTOR).type:  # e.g. float16 storage
            stored = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), version.dim)
        columns: list[pa.Array] = [
            ids.cast(pa.string()),
            stored,
            pa.array([version.space] * n, pa.string()),
            pa.array([label] * n, pa.string()),
            pa.array(row_hashes(vectors), pa.string()),
        ]
        if items is not None:
            positions = pc.index_in(ids, value_set=items.column("id"))
            columns += [
                items.column(name).take(positions).combine_chunks().cast(pa.string())
                for name in fields
            ]
        yield pa.RecordBatch.from_arrays(columns, schema=schema)


def version_row_hashes(version: Version, batch_size: int) -> Iterator[tuple[list[str], list[str]]]:
    """(ids, :func:`~embver.index.base.row_hash` of each) of the version, batch by batch."""
    for piece in version.iter_batches(batch_size):
        yield piece.column("id").to_pylist(), row_hashes(batch_vectors(piece))


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
    present = held_rows(target, table)
    label = version_label(version)
    written = since_checkpoint = batches = 0
    kill_after = int(os.environ.get(KILL_HOOK, "0") or 0)
    # rows written into the table readers see are visible at once: check before writing
    in_place = table == target.reader_table()
    rows = version_batches(store, version, batch_size, fields, check_ahead=in_place)
    # an empty table gets the version's unique ids: each batch is new rows, no upsert needed
    write = target.upsert if present else target.insert
    for batch in rows:
        todo = _stale(batch, present, version.space, label) if present else batch
        if len(todo):
            write(table, todo)
            written += len(todo)
            since_checkpoint += len(todo)
            batches += 1
        if progress is not None:
            progress(len(batch))
        if since_checkpoint >= CHECKPOINT_ROWS:
            target.flush()
            job = journal.update(store, job, step="backfill", done_count=written)
            since_checkpoint = 0
        if kill_after and batches >= kill_after:
            os._exit(137)  # the test hook: die like a kill -9, nothing flushed or journaled
    if present:
        target.delete(table, list(present))
    target.flush()
    job = journal.update(store, job, step="backfilled", done_count=written)
    return job, written


def _stale(
    batch: pa.RecordBatch, present: dict[str, Held], space: str, label: str
) -> pa.RecordBatch:
    """The rows of ``batch`` that ``present`` lacks or holds otherwise (space, version, hash).

    Pops each id from ``present``: what is left at the end is not the version's.
    """
    import pyarrow.compute as pc

    ids = batch.column(ID).to_pylist()
    hashes = batch.column(HASH).to_pylist()
    stale = []
    for row_id, digest in zip(ids, hashes, strict=True):
        held = present.pop(row_id, None)
        stale.append(
            held is None or held.hash != digest or held.version != label or held.space != space
        )
    if all(stale):
        return batch
    return batch.filter(pc.cast(stale, "bool"))


def verify(
    target: Target, table: str, version: Version, *, hashes: bool, batch_size: int = 50_000
) -> None:
    """Raise IndexTargetError unless ``table`` holds exactly the version's rows (count; and
    each row's space, version and hash when ``hashes``, the version streamed by batches)."""
    count = target.count(table)
    if count != version.count:
        raise IndexTargetError(
            f"{target.url}: {table} holds {count} rows after the backfill, {version.ref} has "
            f"{version.count}; rerun the command to continue"
        )
    if not hashes:
        return
    held = held_rows(target, table)
    label = version_label(version)
    wrong = [
        row_id
        for ids, digests in version_row_hashes(version, batch_size)
        for row_id, digest in zip(ids, digests, strict=True)
        if held.pop(row_id, None) != Held(version.space, label, digest)
    ]
    wrong += list(held)  # rows whose id the version does not have
    if wrong:
        raise IndexTargetError(
            f"{target.url}: {len(wrong)} rows of {table} differ from {version.ref} "
            f"(e.g. {wrong[0]!r}); rerun the command to continue"
        )
