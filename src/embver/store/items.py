"""A space's item table: one append-only Lance dataset, content-hashed like the vectors.

Columns ``id``, ``text``, ``label``, ``uri``, ``metadata`` (JSON text), all strings.
Each append is a :class:`~embver.store.vectors.Segment` recorded on the space's
catalog row with the Lance version it produced: reads open that version and
re-hash every segment, so a damaged or deleted table raises IntegrityError
instead of reading back as empty, and ``verify`` checks the files' bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from embver.errors import IntegrityError
from embver.store import vectors as vector_data
from embver.store.vectors import Segment

COLUMNS = ("id", "text", "label", "uri", "metadata")
_WHAT = "item table"


@dataclass(frozen=True)
class ItemState:
    """What the catalog records of a space's item table.

    ``lance_version`` None: no table was committed. ``segments`` None: a table
    written before embver hashed item tables (adopted, hashed, on its next append).
    """

    lance_version: int | None
    segments: tuple[Segment, ...] | None

    @classmethod
    def of(cls, row: Any) -> ItemState:
        """The state recorded on a ``spaces`` row."""
        segments = row["items_segments"]
        return cls(
            row["items_lance_version"],
            None if segments is None else tuple(Segment(**s) for s in segments),
        )

    def to_row(self) -> dict[str, Any]:
        segments = None if self.segments is None else [s.to_dict() for s in self.segments]
        return {"items_lance_version": self.lance_version, "items_segments": segments}

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments or ())


def hash_items(table: pa.Table) -> str:
    """blake3 over the row count and each column of :data:`COLUMNS` (validity, offsets,
    utf-8 bytes), so Arrow's chunking and string width do not change it."""
    import blake3

    hasher = blake3.blake3()
    hasher.update(np.int64(table.num_rows).tobytes())
    for name in COLUMNS:
        column = table.column(name).combine_chunks().cast(pa.large_string())
        hasher.update(name.encode() + b"\0")
        hasher.update(column.is_valid().to_numpy(zero_copy_only=False).tobytes())
        filled = column.fill_null("")
        offsets = np.frombuffer(filled.buffers()[1], dtype=np.int64)[
            filled.offset : filled.offset + len(filled) + 1
        ]
        hasher.update((offsets - offsets[0]).astype("<i8").tobytes())
        data = filled.buffers()[2]
        if data is not None:
            hasher.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    return str(hasher.hexdigest())


def read(uri: str, state: ItemState) -> pa.Table | None:
    """The item table as the catalog recorded it, every segment re-hashed; None when the
    space has no item table. IntegrityError when it is missing, damaged or replaced."""
    if state.lance_version is None:
        return None if state.segments is not None else _read_unhashed(uri)
    dataset = vector_data.open_dataset(uri, state.lance_version, what=_WHAT)
    with vector_data.lance_failures_as_integrity_errors(uri, what=_WHAT):
        table = dataset.to_table()
    if state.segments is None:
        return table
    problems = _mismatches(table, state.segments)
    if problems:
        raise IntegrityError(
            f"item table {uri!r} does not match its content hash: {'; '.join(problems)}; "
            "run `embver verify`"
        )
    return table


def read_fields(
    uri: str, state: ItemState, fields: Sequence[str], ids: pa.Array | None = None
) -> pa.Table:
    """Columns ``id`` and ``fields`` of the rows (whose id is in ``ids``; all when None),
    read one segment at a time, each re-hashed whole before its rows are kept.

    Only one segment of the table and the kept columns are in memory at once, not the
    whole table. IntegrityError as :func:`read`.
    """
    import pyarrow.compute as pc

    wanted = ["id", *fields]
    unknown = [name for name in fields if name not in COLUMNS]
    if unknown:
        raise ValueError(f"item fields {unknown} are not columns of the item table")
    parts = _checked_segments(uri, state)
    if ids is not None:
        parts = (part.filter(pc.is_in(part.column("id"), value_set=ids)) for part in parts)
    kept = [part.select(wanted) for part in parts]
    if not kept:
        return pa.table({name: pa.array([], pa.string()) for name in wanted})
    return pa.concat_tables(kept)


def _checked_segments(uri: str, state: ItemState) -> Iterator[pa.Table]:
    """The item table segment by segment, each checked against its hash (as :func:`read`)."""
    if state.lance_version is None or state.segments is None:
        table = read(uri, state)
        if table is not None:
            yield table
        return
    dataset = vector_data.open_dataset(uri, state.lance_version, what=_WHAT)
    first = 0
    for index, segment in enumerate(state.segments):
        with vector_data.lance_failures_as_integrity_errors(uri, what=_WHAT):
            part = dataset.to_table(offset=first, limit=segment.rows)
        intact = part.schema.names == list(COLUMNS) and part.num_rows == segment.rows
        if not intact or hash_items(part) != segment.hash:
            raise IntegrityError(
                f"item table {uri!r} does not match its content hash: segment {index} "
                f"(rows {first}-{first + segment.rows - 1}) hash mismatch; run `embver verify`"
            )
        yield part
        first += segment.rows
    if dataset.count_rows() != first:
        raise IntegrityError(
            f"item table {uri!r} has {dataset.count_rows()} rows, the catalog expects {first}; "
            "run `embver verify`"
        )


def _read_unhashed(uri: str) -> pa.Table | None:
    """A table from before item tables were hashed (or none): read, unchecked."""
    import lance

    try:
        dataset = lance.dataset(uri)
    except (ValueError, OSError):
        return None
    with vector_data.lance_failures_as_integrity_errors(uri, what=_WHAT):
        return dataset.to_table()


def _mismatches(table: pa.Table, segments: Sequence[Segment]) -> list[str]:
    """The segments of ``table`` whose rows do not hash to what was recorded."""
    if table.schema.names != list(COLUMNS):
        return [f"columns {table.schema.names}, expected {list(COLUMNS)}"]
    expected = sum(s.rows for s in segments)
    if table.num_rows != expected:
        return [f"{table.num_rows} rows, the catalog expects {expected}"]
    problems, first = [], 0
    for index, segment in enumerate(segments):
        if hash_items(table.slice(first, segment.rows)) != segment.hash:
            problems.append(f"segment {index} (rows {first}-{first + segment.rows - 1})")
        first += segment.rows
    return [f"{', '.join(problems)} hash mismatch"] if problems else []


def problems(uri: str, state: ItemState) -> list[str]:
    """What ``verify`` finds wrong with the item table: changed or missing files first
    (without decoding them), then the re-hashed rows."""
    damaged = vector_data.file_problems(uri, state.segments or ())
    if damaged:
        return damaged
    try:
        read(uri, state)
    except IntegrityError as exc:
        return [str(exc)]
    return []


def append(uri: str, state: ItemState, items: pa.Table) -> ItemState:
    """Append the rows of ``items`` whose ids the table lacks; the new state to record.

    The caller holds the space's lock, so appends are serialised and each segment
    lands after the one recorded before it.
    """
    import lance

    state = _adopt(uri, state) if state.segments is None else state
    if state.lance_version is not None:
        # an append killed after Lance committed but before the catalog did is undone
        with vector_data.lance_failures_as_integrity_errors(uri, what=_WHAT):
            vector_data.discard_uncommitted(uri, state.lance_version)
        items = _only_new(items, uri, state.lance_version)
        if items.num_rows == 0:
            return state
    items = items.select(list(COLUMNS))
    before = vector_data.list_files(uri) if state.lance_version is not None else set()
    mode = "append" if state.lance_version is not None else _first_write_mode(uri)
    dataset = lance.write_dataset(items, uri, mode=mode)
    segment = Segment(items.num_rows, hash_items(items), vector_data.hash_new_files(uri, before))
    return ItemState(int(dataset.version), (*(state.segments or ()), segment))


def _first_write_mode(uri: str) -> str:
    """Lance's write mode for a space's first item rows: overwrite what a first write
    killed before the catalog recorded it left behind (nothing references it)."""
    return "overwrite" if vector_data.list_files(uri) else "create"


def _only_new(items: pa.Table, uri: str, lance_version: int) -> pa.Table:
    """The rows of ``items`` whose ids are not in the table (as of ``lance_version``)."""
    import pyarrow.compute as pc

    dataset = vector_data.open_dataset(uri, lance_version, what=_WHAT)
    with vector_data.lance_failures_as_integrity_errors(uri, what=_WHAT):
        known = dataset.to_table(columns=["id"]).column("id").combine_chunks()
    return items.filter(pc.invert(pc.is_in(items.column("id"), value_set=known)))


def _adopt(uri: str, state: ItemState) -> ItemState:
    """Hash a table written before item tables were hashed, as one segment of its rows."""
    table = _read_unhashed(uri)
    if table is None:
        return ItemState(None, ())
    import lance

    version = int(lance.dataset(uri).version)
    files = {path: vector_data.hash_file(uri, path) for path in vector_data.list_files(uri)}
    segment = Segment(
        table.num_rows,
        hash_items(table),
        {path: digest for path, digest in files.items() if digest is not None},
    )
    return ItemState(version, (segment,))
