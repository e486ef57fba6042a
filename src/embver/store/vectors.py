"""Vector data: one Lance dataset per version (columns ``id``, ``vector``), content-hashed.

A version's data may grow by appended segments (new items under the same recipe);
the catalog records each segment's row count and hash, and the version's content
hash is the hash of its segment hashes, so appends never re-read old data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa

from embver.errors import IntegrityError, InvalidInputError
from embver.store.objectstore import filesystem, is_local, local_path

if TYPE_CHECKING:
    import threading

_ARROW_DTYPES = {"float32": pa.float32(), "float16": pa.float16()}


@dataclass(frozen=True)
class Segment:
    """A contiguous run of rows written at once.

    ``hash`` covers the decoded ids and vectors; ``ids`` covers the ids alone, so
    reading only the ids (``Version.ids``) is checked without decoding the vectors
    (None for segments written before it was recorded). ``files`` maps each file
    the write added to the dataset (path relative to it) to the blake3 of its
    bytes, so ``verify`` catches damage that decoding would tolerate or crash on.
    """

    rows: int
    hash: str
    files: dict[str, str] = field(default_factory=dict)
    ids: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "hash": self.hash, "files": self.files, "ids": self.ids}


def hash_segment(ids: pa.Array, vectors: np.ndarray, threads: int | None = None) -> tuple[str, str]:
    """blake3 over the row count, the ids (offsets + utf-8 bytes) and the vector bytes,
    and blake3 over the row count and the ids alone: (segment hash, ids hash).

    ``threads``: blake3's own worker threads (default: as many as it likes).
    """
    hasher = _id_hasher(ids, threads)
    ids_digest = str(hasher.copy().hexdigest())
    hasher.update(np.ascontiguousarray(vectors).view(np.uint8).reshape(-1).data)
    return str(hasher.hexdigest()), ids_digest


def id_hasher(ids: pa.Array) -> Any:
    """A blake3 hasher fed the row count and ``ids`` (n,): feed it the rows' vector bytes,
    in order, and it gives :func:`hash_segment`'s segment hash (a staged version's)."""
    return _id_hasher(ids)


def _id_hasher(ids: pa.Array, threads: int | None = None) -> Any:
    """A blake3 hasher fed the row count and the ids; the vector bytes come next.

    ``threads``: blake3's own worker threads (default: as many as it likes).
    """
    import blake3

    ids = ids.cast(pa.large_string())
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[
        ids.offset : ids.offset + len(ids) + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    data = ids.buffers()[2]
    hasher = blake3.blake3(max_threads=threads or blake3.blake3.AUTO)
    hasher.update(np.int64(len(ids)).tobytes())
    hasher.update((offsets - start).astype("<i8").tobytes())
    if data is not None:
        hasher.update(memoryview(data)[start:end])
    return hasher


#: rows per batch read back by :func:`hash_dataset` (12 MiB at 384 float32): memory stays
#: that of a streamed write's chunk, not of the whole version
_HASH_BATCH_ROWS: Final = 8192


def hash_dataset(uri: str, lance_version: int, ids: pa.Array) -> tuple[str, str]:
    """(segment hash, ids hash) of every row of the dataset at ``uri``, as
    :func:`hash_segment` gives for ``ids`` and all its vectors, read back a batch at a time
    (a dataset written in several appends hashes as the one segment it becomes).

    IntegrityError when the dataset's ids are not ``ids`` (n,) in that order.
    """
    dataset = open_dataset(uri, lance_version)
    with lance_failures_as_integrity_errors(uri):
        stored = _read_id_column(dataset, uri, len(ids))
        if not stored.equals(ids.cast(pa.string())):
            raise IntegrityError(f"vector data {uri!r} holds other ids than were written to it")
        hasher = _id_hasher(ids)
        ids_digest = str(hasher.copy().hexdigest())
        for batch in dataset.to_batches(columns=["vector"], batch_size=_HASH_BATCH_ROWS):
            values = batch.column("vector").flatten().to_numpy()
            hasher.update(np.ascontiguousarray(values).view(np.uint8).reshape(-1).data)
    return str(hasher.hexdigest()), ids_digest


def list_files(uri: str) -> set[str]:
    """Paths (relative to the dataset at ``uri``) of its immutable files.

    ``_versions/latest_version_hint.json`` is rewritten by every commit, so it
    is not content that a version depends on.
    """
    if is_local(uri):
        root = local_path(uri)
        found = {
            os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            for folder, _, names in os.walk(root)
            for name in names
        }
    else:
        import pyarrow.fs as pafs

        fs, root = filesystem(uri)
        selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
        found = {
            info.path[len(root) :].lstrip("/")
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        }
    return {path for path in found if "latest" not in path.rsplit("/", 1)[-1]}


def hash_file(uri: str, relative: str, threads: int | None = None) -> str | None:
    """blake3 of the bytes of ``relative`` inside the dataset at ``uri``; None if missing.

    ``threads``: blake3's own worker threads (default: as many as it likes).
    """
    import blake3

    hasher = blake3.blake3(max_threads=threads or blake3.blake3.AUTO)
    if is_local(uri):
        path = os.path.join(local_path(uri), relative)
        if not os.path.isfile(path):
            return None
        if os.path.getsize(path):
            hasher.update_mmap(path)
        return hasher.hexdigest()
    fs, root = filesystem(uri)
    try:
        with fs.open_input_stream(f"{root}/{relative}") as stream:
            while chunk := stream.read(1 << 24):
                hasher.update(chunk)
    except FileNotFoundError:
        return None
    return hasher.hexdigest()


def hash_new_files(uri: str, before: set[str]) -> dict[str, str]:
    """blake3 of each file of the dataset at ``uri`` that is not in ``before``."""
    hashes = {path: hash_file(uri, path) for path in sorted(list_files(uri) - before)}
    return {path: digest for path, digest in hashes.items() if digest is not None}


def file_problems(uri: str, segments: Sequence[Segment]) -> list[str]:
    """Recorded files of ``segments`` that are missing or whose bytes changed."""
    problems = []
    for index, segment in enumerate(segments):
        for path, expected in segment.files.items():
            actual = hash_file(uri, path)
            if actual is None:
                problems.append(f"segment {index}: file {path} is missing")
            elif actual != expected:
                problems.append(f"segment {index}: file {path} changed (blake3 mismatch)")
    return problems


def content_hash(segments: Sequence[Segment]) -> str:
    """The version's content hash: blake3 over its segment hashes, in order."""
    import blake3

    return blake3.blake3("".join(s.hash for s in segments).encode()).hexdigest()


# Embedding values are close to incompressible: asking Lance not to try saves most of
# the write time (and the read time, with no decompression).
_VECTOR_FIELD_METADATA = {"lance-encoding:compression": "none"}
# Lance file format 2.0 writes a fixed-size list of floats as one flat buffer;
# the newer default (2.1+) encodes it in mini-blocks, ~5× slower to write here.
_LANCE_FILE_VERSION: Final = "2.0"


def to_table(ids: Sequence[str] | pa.Array, vectors: np.ndarray, dtype: str) -> pa.Table:
    """An Arrow table with ``id`` (string) and ``vector`` (fixed-size list of ``dtype``)."""
    values = pa.array(vectors.reshape(-1), type=_ARROW_DTYPES[dtype])
    column = pa.FixedSizeListArray.from_arrays(values, vectors.shape[1])
    schema = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field("vector", column.type, metadata=_VECTOR_FIELD_METADATA),
        ]
    )
    return pa.Table.from_arrays([pa.array(ids, type=pa.string()), column], schema=schema)


#: rows per batch handed to Lance: small enough that its encoder and writer overlap,
#: large enough to keep per-batch overhead low (1M × 384 float32, one-off measurement:
#: 0.84 s against 1.33 s for the whole table at once; benchmarks/bench_store.py's
#: "lance" line times this setting)
_WRITE_BATCH_ROWS: Final = 1 << 18
#: vector bytes per data file: Lance starts a new file past this many rows' worth, so a
#: file that is complete is hashed while Lance writes the next one and only the last is
#: hashed after the write (200k × 384 float32: five files, the last 37 MiB)
_FILE_VECTOR_BYTES: Final = 64 << 20


def write_segment(
    uri: str,
    ids: pa.Array,
    vectors: np.ndarray,
    dtype: str,
    mode: str = "create",
    abandon: threading.Event | None = None,
) -> tuple[int, Segment]:
    """Write (``mode="create"``) or append rows to the dataset at ``uri``.

    Returns the new Lance version and the segment. The hashing runs on a helper thread
    while Lance writes, blake3 releasing the GIL: the content hash, then each data file
    Lance reports complete. Once the write is committed the files left (those the helper
    has not begun, the last data file, the manifest) are hashed on all cores.
    ``abandon``: once set, the write stops before its next batch and raises
    :class:`WriteAbandoned`, leaving a partial dataset at ``uri``.
    """
    from concurrent.futures import ThreadPoolExecutor

    before = list_files(uri) if mode == "append" else set()
    with ThreadPoolExecutor(max_workers=1) as helper:
        content = helper.submit(hash_segment, ids, vectors, 1)
        completed = _completed_files(uri, helper)
        table = to_table(ids, vectors, dtype)
        lance_version = write_dataset(uri, table, mode, completed, abandon)
        # Lance is done and its cores are free: the files still queued for the helper
        # are hashed here, on all cores, while the helper finishes what it has begun
        begun = {path: hashed for path, hashed in completed.hashes.items() if not hashed.cancel()}
        rest = hash_new_files(uri, before | set(begun))
        digest, ids_digest = content.result()
        digests = {**{path: hashed.result() for path, hashed in begun.items()}, **rest}
    files = {path: digests[path] for path in sorted(digests) if digests[path] is not None}
    return lance_version, Segment(len(ids), digest, files, ids_digest)


class WriteAbandoned(Exception):
    """A write stopped because its caller set ``abandon`` (the input was refused)."""


def _completed_files(uri: str, pool: Any) -> Any:
    """A Lance write progress that has ``pool`` hash each data file Lance reports complete;
    ``.hashes`` maps their paths (relative to the dataset) to the futures of their digests.

    Lance reports a file once its writer has finished it (footer written, file closed),
    never the last file of a write, which is complete only when the write returns.
    """
    from lance.progress import FragmentWriteProgress

    class CompletedFiles(FragmentWriteProgress):
        def __init__(self) -> None:
            self.hashes: dict[str, Any] = {}

        def begin(self, fragment: Any, **kwargs: Any) -> None:
            pass

        def complete(self, fragment: Any, **kwargs: Any) -> None:
            for data_file in fragment.files:
                path = f"data/{data_file.path}"
                self.hashes[path] = pool.submit(hash_file, uri, path, 1)

    return CompletedFiles()


def write_dataset(
    uri: str,
    table: pa.Table,
    mode: str = "create",
    progress: Any = None,
    abandon: threading.Event | None = None,
) -> int:
    """Write (or append to) the Lance dataset at ``uri``; returns its new Lance version.

    ``progress``: a Lance ``FragmentWriteProgress`` told of each data file as it is done.
    ``abandon``: as for :func:`write_segment`.
    """
    import lance

    batches = pa.RecordBatchReader.from_batches(table.schema, _batches(table, abandon))
    try:
        dataset = lance.write_dataset(
            batches,
            uri,
            mode=mode,
            max_rows_per_file=_rows_per_file(table.schema),
            data_storage_version=_LANCE_FILE_VERSION,
            progress=progress,
        )
    except Exception:
        if abandon is not None and abandon.is_set():
            raise WriteAbandoned(f"the write to {uri!r} was abandoned") from None
        raise
    return int(dataset.version)


def _batches(table: pa.Table, abandon: threading.Event | None) -> Iterator[pa.RecordBatch]:
    """``table`` in batches of :data:`_WRITE_BATCH_ROWS` rows, until ``abandon`` is set."""
    for batch in table.to_batches(max_chunksize=_WRITE_BATCH_ROWS):
        if abandon is not None and abandon.is_set():
            raise WriteAbandoned("abandoned")
        yield batch


def remove_dataset(uri: str) -> None:
    """Delete a dataset nothing needs any more (``gc`` removes it if this fails)."""
    fs, root = filesystem(uri)
    with contextlib.suppress(OSError):
        fs.delete_dir(root)


def _rows_per_file(schema: pa.Schema) -> int:
    """Rows per data file: :data:`_FILE_VECTOR_BYTES` worth of vectors, or one file for
    a table without them (a staged version's item rows)."""
    if "vector" not in schema.names:
        return 1 << 24
    kind = schema.field("vector").type
    return max(1, _FILE_VECTOR_BYTES // (kind.list_size * kind.value_type.bit_width // 8))


def open_dataset(uri: str, lance_version: int, what: str = "vector data") -> Any:
    """The Lance dataset at ``uri`` as of ``lance_version``; IntegrityError if missing.

    ``what``: how the error names the dataset ("vector data", "item table").
    """
    import lance

    try:
        return lance.dataset(uri, version=lance_version)
    except BaseException as exc:
        _reraise_unless_lance_failure(exc)
        raise IntegrityError(
            f"{what} {uri!r} (Lance version {lance_version}) cannot be opened: "
            f"{one_line(exc)}; run `embver verify`"
        ) from None


def discard_uncommitted(uri: str, lance_version: int) -> None:
    """Roll a dataset back to the catalog's version if an interrupted append went past it."""
    import lance

    dataset = lance.dataset(uri)
    if dataset.version != lance_version:
        lance.dataset(uri, version=lance_version).restore()


def one_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message: Lance's errors run over several lines, and
    an IntegrityError is one line that says what is damaged and what to run."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _reraise_unless_lance_failure(exc: BaseException) -> None:
    """Let interrupts through; treat what Lance raises on damaged data as a data failure.

    Lance raises OSError/ValueError, but on some damaged files (a flipped byte in
    a manifest or a page header) its Rust code panics, which pyo3 surfaces as
    ``PanicException``, a BaseException that ``except Exception`` misses.
    """
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


def read_table(
    uri: str,
    lance_version: int,
    expected_rows: int,
    dim: int,
    segments: Sequence[Segment] | None = None,
) -> pa.Table:
    """Read the whole dataset, checking row count, layout and (given ``segments``) content."""
    dataset = open_dataset(uri, lance_version)
    with lance_failures_as_integrity_errors(uri):
        table, mismatches = _decode(dataset, uri, expected_rows, dim, segments)
    if mismatches:
        raise IntegrityError(
            f"vector data {uri!r} does not match its content hash: {'; '.join(mismatches)}; "
            "run `embver verify`"
        )
    return table


@contextlib.contextmanager
def lance_failures_as_integrity_errors(uri: str, what: str = "vector data") -> Iterator[None]:
    """Turn what Lance raises while decoding damaged data into a one-line IntegrityError."""
    try:
        yield
    except IntegrityError:
        raise
    except BaseException as exc:
        _reraise_unless_lance_failure(exc)
        raise IntegrityError(
            f"{what} {uri!r} cannot be read: {one_line(exc)}; run `embver verify`"
        ) from None


def read_ids(
    uri: str, lance_version: int, expected_rows: int, dim: int, segments: Sequence[Segment]
) -> pa.Array:
    """The ids (n,) of the dataset at ``uri``, checked against each segment's ids hash.

    Segments written before ids hashes were recorded are checked by reading the
    whole table (ids and vectors of width ``dim``) against their segment hash instead.
    """
    if not segments or any(segment.ids is None for segment in segments):
        table = read_table(uri, lance_version, expected_rows, dim, segments)
        return table.column("id").combine_chunks()
    dataset = open_dataset(uri, lance_version)
    with lance_failures_as_integrity_errors(uri):
        ids = _read_id_column(dataset, uri, expected_rows)
    bounds = np.cumsum([0] + [segment.rows for segment in segments])
    for index, segment in enumerate(segments):
        first, stop = int(bounds[index]), int(bounds[index + 1])
        if stop > len(ids) or _id_hasher(ids.slice(first, stop - first)).hexdigest() != segment.ids:
            raise IntegrityError(
                f"vector data {uri!r} does not match its content hash: segment {index} "
                f"(rows {first}-{stop - 1}) ids hash mismatch; run `embver verify`"
            )
    return ids


def take_rows(
    uri: str, lance_version: int, expected_rows: int, dim: int, rows: np.ndarray
) -> np.ndarray:
    """The vectors (len(rows), dim) at stored positions ``rows``, **not** content-checked.

    A segment's hash covers all its rows, so a few rows cannot be checked without
    reading the rest: only the columns, the width and the row count are. For a preview
    that a checked full read (:func:`read_table`) confirms or refutes; never for results.
    """
    dataset = open_dataset(uri, lance_version)
    problem = _layout_problem(dataset.schema.empty_table(), dim)
    if problem:
        raise IntegrityError(f"vector data {uri!r} {problem}; run `embver verify`")
    with lance_failures_as_integrity_errors(uri):
        if dataset.count_rows() != expected_rows:
            raise IntegrityError(
                f"vector data {uri!r} does not have the {expected_rows} rows the catalog "
                "expects: it is truncated or was replaced; run `embver verify`"
            )
        column = dataset.take(np.asarray(rows, dtype=np.int64), columns=["vector"])["vector"]
        if column.null_count or len(column) != len(rows):
            raise IntegrityError(f"vector data {uri!r} yielded {len(column)} of {len(rows)} rows")
        values = column.combine_chunks().flatten().to_numpy()
    return values.reshape(len(rows), dim)


#: Lance's read-ahead while streaming: two batches and a small I/O buffer keep the reader's
#: memory near one batch (its defaults, 16 batches and a 2 GiB buffer, hold most of a version)
_STREAM_READAHEAD: Final = 2
_STREAM_IO_BUFFER: Final = 32 << 20


def iter_batches(
    uri: str,
    lance_version: int,
    expected_rows: int,
    dim: int,
    segments: Sequence[Segment],
    batch_size: int,
    *,
    vectors: bool = True,
    check_ahead: bool = False,
) -> Iterator[pa.RecordBatch]:
    """The dataset's rows in stored order, ``id`` (and ``vector``) in batches of at most
    ``batch_size`` (none spans two segments), without holding more than the ids and a batch.

    The ids are read and checked first (:func:`read_ids`). Each segment's vectors are
    re-hashed as they stream, in the order :func:`hash_segment` covers them (that
    segment's ids, then its vector bytes), and a mismatch raises IntegrityError before
    the segment's last batch is yielded; the batches before it were yielded unchecked.
    ``check_ahead``: hash each segment in a first pass and yield its batches from a
    second, so nothing unchecked is ever yielded (reads the vectors twice).
    """
    if batch_size < 1:
        raise InvalidInputError(f"batch_size {batch_size}: give a positive number of rows")
    ids = read_ids(uri, lance_version, expected_rows, dim, segments)
    if not vectors:
        for start in range(0, len(ids), batch_size):
            yield pa.RecordBatch.from_arrays([ids.slice(start, batch_size)], names=["id"])
        return
    if not segments or any(segment.ids is None for segment in segments):
        # read_ids has just checked them by a full read: a version from before ids hashes
        table = read_table(uri, lance_version, expected_rows, dim, segments)
        yield from table.to_batches(max_chunksize=batch_size)
        return
    dataset = open_dataset(uri, lance_version)
    problem = _layout_problem(dataset.schema.empty_table(), dim)
    if problem:
        raise IntegrityError(f"vector data {uri!r} {problem}; run `embver verify`")
    bounds = np.cumsum([0] + [segment.rows for segment in segments])
    for index, segment in enumerate(segments):
        rows = _SegmentRows(dataset, uri, ids, index, segment, int(bounds[index]), batch_size)
        if check_ahead:
            for _ in rows.batches(check=True):
                pass
        yield from rows.batches(check=not check_ahead)


class _SegmentRows:
    """One segment's rows streamed from Lance, re-hashed against the segment's hash."""

    def __init__(
        self,
        dataset: Any,
        uri: str,
        ids: pa.Array,
        index: int,
        segment: Segment,
        first: int,
        batch_size: int,
    ) -> None:
        self._dataset, self._uri, self._index, self._segment = dataset, uri, index, segment
        self._first, self._batch_size = first, batch_size
        self._ids = ids.slice(first, segment.rows)

    def batches(self, check: bool) -> Iterator[pa.RecordBatch]:
        """The segment's batches; ``check``: hash them, raising before the last is yielded."""
        hasher = _id_hasher(self._ids) if check else None
        done = 0
        with lance_failures_as_integrity_errors(self._uri):
            scanner = self._dataset.to_batches(
                columns=["vector"],
                offset=self._first,
                limit=self._segment.rows,
                batch_size=self._batch_size,
                batch_readahead=_STREAM_READAHEAD,
                fragment_readahead=1,
                io_buffer_size=_STREAM_IO_BUFFER,
            )
            for part in scanner:
                column = self._vector_column(part, done)
                if hasher is not None:
                    hasher.update(column.flatten().to_numpy().view(np.uint8).data)
                stop = done + len(column)
                if stop == self._segment.rows and hasher is not None:
                    self._compare(str(hasher.hexdigest()))
                batch = pa.RecordBatch.from_arrays(
                    [self._ids.slice(done, len(column)), column], names=["id", "vector"]
                )
                done = stop
                yield batch
        if done != self._segment.rows:
            self._fail(f"yielded {done} of its {self._segment.rows} rows")

    def _vector_column(self, part: pa.RecordBatch, done: int) -> pa.Array:
        column = part.column("vector")
        if column.null_count or done + len(column) > self._segment.rows:
            self._fail("has missing vectors or more rows than recorded")
        if len(column.flatten()) != len(column) * column.type.list_size:
            self._fail("has missing or extra vector values")
        return column

    def _compare(self, digest: str) -> None:
        if digest != self._segment.hash:
            self._fail("hash mismatch")

    def _fail(self, problem: str) -> None:
        last = self._first + self._segment.rows - 1
        raise IntegrityError(
            f"vector data {self._uri!r} does not match its content hash: segment {self._index} "
            f"(rows {self._first}-{last}) {problem}; run `embver verify`"
        )


def _read_id_column(dataset: Any, uri: str, expected_rows: int) -> pa.Array:
    """The ``id`` column (n,) as one string array, its row count and type checked."""
    rows = dataset.count_rows()
    if rows != expected_rows:
        raise IntegrityError(
            f"vector data {uri!r} has {rows} rows, the catalog expects {expected_rows}: "
            "it is truncated or was replaced; run `embver verify`"
        )
    if "id" not in dataset.schema.names or not pa.types.is_string(dataset.schema.field("id").type):
        raise IntegrityError(f"vector data {uri!r} has no string id column; run `embver verify`")
    ids = dataset.to_table(columns=["id"]).column("id").combine_chunks()
    if len(ids) != expected_rows:
        raise IntegrityError(f"vector data {uri!r} has {len(ids)} ids for {expected_rows} rows")
    return ids


#: rows per batch that :func:`_decode` has Lance decode (12 MiB at 384 float32): small
#: batches reuse the allocator's memory, so only the one (n, d) array is fresh memory
_DECODE_BATCH_ROWS: Final = 8192


def _decode(
    dataset: Any, uri: str, expected_rows: int, dim: int, segments: Sequence[Segment] | None
) -> tuple[pa.Table, list[str]]:
    """Decode the vectors batch by batch into one (n, d) array, re-hashing each batch
    as it lands (while it is still in cache).

    One whole-table Lance batch costs two fresh full-size buffers (its read buffer
    and its decoded column), each page first-touched; small batches reuse the same
    few megabytes, and numpy's one large array is backed by huge pages. 200k × 384
    (one-off measurement): 0.29 s with the hash, against 0.38 s for Lance's own
    ``to_table`` copied into one array without it. The ids are read first: a
    segment's hash covers its ids before its vectors. Returns the table (its vector
    column a view of the array) and the segments whose hash does not match.
    """
    problem = _layout_problem(dataset.schema.empty_table(), dim)
    if problem:
        raise IntegrityError(f"vector data {uri!r} {problem}; run `embver verify`")
    ids = _read_id_column(dataset, uri, expected_rows)
    kind = dataset.schema.field("vector").type
    out = np.empty((expected_rows, dim), dtype=kind.value_type.to_pandas_dtype())
    check = _SegmentCheck(ids, out, segments)
    done = 0
    for batch in dataset.to_batches(columns=["vector"], batch_size=_DECODE_BATCH_ROWS):
        column = batch.column("vector")
        rows = len(column)
        if column.null_count or done + rows > expected_rows:
            break
        values = column.flatten()
        if len(values) != rows * dim:
            raise IntegrityError(f"vector data {uri!r} has missing or extra vector values")
        out[done : done + rows] = values.to_numpy().reshape(rows, dim)
        check.feed(done, done + rows)
        done += rows
    else:
        column = None
    if column is not None or done != expected_rows:
        nulls = column is not None and column.null_count
        got = done + (len(column) if column is not None else 0)
        raise IntegrityError(
            f"vector data {uri!r} yielded {got} of {expected_rows} rows"
            + (" with missing vectors" if nulls else "")
        )
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(out.reshape(-1)), dim)
    schema = pa.schema([pa.field("id", pa.string()), pa.field("vector", vectors.type)])
    return pa.Table.from_arrays([ids, vectors], schema=schema), check.mismatches()


class _SegmentCheck:
    """Re-hashes decoded rows segment by segment, fed row ranges in order (one caller).

    ``threads``: blake3's worker threads per segment (1: the hashing already runs
    beside the decoding; None: as many as blake3 likes).
    """

    def __init__(
        self,
        ids: pa.Array,
        out: np.ndarray,
        segments: Sequence[Segment] | None,
        threads: int | None = 1,
    ):
        self._ids, self._out, self._threads = ids, out, threads
        self._segments = list(segments) if segments is not None else []
        self._bounds = np.cumsum([0] + [s.rows for s in self._segments])
        self._index = 0
        self._hasher = self._start(0) if self._segments else None
        self._digests: list[str] = []

    def _start(self, index: int) -> Any:
        first, stop = int(self._bounds[index]), int(self._bounds[index + 1])
        return _id_hasher(self._ids.slice(first, stop - first), threads=self._threads)

    def feed(self, start: int, stop: int) -> None:
        while self._hasher is not None and start < stop:
            end = min(stop, int(self._bounds[self._index + 1]))
            self._hasher.update(self._out[start:end].view(np.uint8).reshape(-1).data)
            start = end
            if end == self._bounds[self._index + 1]:
                self._digests.append(str(self._hasher.hexdigest()))
                self._index += 1
                more = self._index < len(self._segments)
                self._hasher = self._start(self._index) if more else None

    def mismatches(self) -> list[str]:
        problems = []
        for index, segment in enumerate(self._segments):
            first, stop = int(self._bounds[index]), int(self._bounds[index + 1])
            digest = self._digests[index] if index < len(self._digests) else None
            if digest != segment.hash:
                problems.append(f"segment {index} (rows {first}-{stop - 1}) hash mismatch")
        if self._segments and self._bounds[-1] != len(self._ids):
            problems.append(
                f"segments cover {int(self._bounds[-1])} rows, the data has {len(self._ids)}"
            )
        return problems


def _layout_problem(table: pa.Table, dim: int) -> str | None:
    """What is wrong with the columns of a decoded dataset (a damaged manifest can
    rename a column or change a type while Lance still opens it), or None."""
    if table.schema.names != ["id", "vector"]:
        return f"has columns {table.schema.names}, expected ['id', 'vector']"
    kind = table.schema.field("vector").type
    if not pa.types.is_fixed_size_list(kind) or kind.value_type not in _ARROW_DTYPES.values():
        return f"has vector type {kind}, expected a fixed-size list of floats"
    if kind.list_size != dim:
        return f"has width {kind.list_size}, the catalog expects {dim}"
    column = table.column("vector")
    values = sum(len(chunk.flatten()) for chunk in column.chunks)
    if column.null_count or values != table.num_rows * dim:
        return f"has {values} vector values for {table.num_rows} rows of width {dim}"
    if not pa.types.is_string(table.schema.field("id").type):
        return f"has id type {table.schema.field('id').type}, expected string"
    return None


class _DecodedBuffer:
    """Exposes a decoded Arrow buffer to numpy as writable memory, and keeps it alive.

    ``_decode`` has Lance decode into a buffer of its own (not a view of the files)
    that nothing else shares once the table is dropped, so numpy may write to it
    (tests/store/test_integrity.py checks that writes never reach the store).
    """

    def __init__(self, values: pa.Array, shape: tuple[int, int]) -> None:
        dtype = np.dtype(values.type.to_pandas_dtype())
        self._buffer = values.buffers()[1]
        self.__array_interface__ = {
            "data": (self._buffer.address + values.offset * dtype.itemsize, False),
            "shape": shape,
            "typestr": dtype.str,
            "version": 3,
        }


def vectors_of(table: pa.Table) -> np.ndarray:
    """The ``vector`` column as a writable (n, d) array: no copy when it is one chunk,
    else one copy of each chunk into a preallocated array."""
    column = table.column("vector")
    width = column.type.list_size
    if column.num_chunks == 1 and column.null_count == 0:
        values = column.chunks[0].flatten()
        return np.asarray(_DecodedBuffer(values, (len(column), width)))
    out = np.empty((len(column), width), dtype=column.type.value_type.to_pandas_dtype())
    start = 0
    for chunk in column.chunks:
        rows = len(chunk)
        out[start : start + rows] = chunk.flatten().to_numpy().reshape(rows, width)
        start += rows
    return out
