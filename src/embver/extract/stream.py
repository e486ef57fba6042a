"""``embed --dataset``: a dataset of any size read, embedded and written a chunk of rows
at a time.

A first pass reads the id and text columns chunk by chunk: every id and text is checked
before anything is written, and digested (the run's identity). Then each chunk of
``chunk_rows`` rows is tokenised, embedded in length-sorted batches and written to a
staged version (:meth:`Space.stage`), registered once every row is written: the same
version, content hash included, that :func:`embver.extract.api.embed` makes from the
whole dataset in memory with the same ``chunk_rows``. Memory holds one chunk (texts,
tokens, vectors) and the ids.

After each chunk the run records how far it got in ``<store>/work/embed/``: a run killed
(Ctrl-C, SIGKILL) registers nothing, and the same command again goes on after the last
chunk written. Items of a recipe that a version already has are appended to that
version instead (as :func:`~embver.extract.api.embed` does), one atomic append per chunk.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from embver.core.recipe import Context, Recipe
from embver.errors import InvalidInputError
from embver.extract.api import (
    Inputs,
    _context,
    _model_to_keep,
    _reference_folder,
    _work_dir,
    as_inputs,
)
from embver.extract.encoders import Encoder
from embver.extract.hf_datasets import DatasetReader
from embver.extract.kept import kept_encoder
from embver.extract.runner import (
    CHUNK_ROWS,
    check_chunk_rows,
    progress_bar,
    run_batches,
    write_atomic,
)
from embver.extract.sources import load_model
from embver.extract.spec import Extraction
from embver.store import inputs as store_inputs
from embver.store.staged import StagedProgress

if TYPE_CHECKING:
    from embver.store import Space, Version
    from embver.store.models import ModelFiles

_PROGRESS_FILE = "staged.json"


@dataclass(frozen=True)
class DatasetScan:
    """What the first pass learnt: every id (n,) in row order and the inputs' digest."""

    ids: pa.Array
    digest: str


def scan_dataset(reader: DatasetReader, modality: str, chunk_rows: int, show: bool) -> DatasetScan:
    """Read the ids and texts chunk by chunk, refusing a missing or duplicate id or a
    text that is not a string before anything is written."""
    hasher = hashlib.sha256()
    parts = []
    with _reading_bar(reader.num_rows, show) as bar:
        for first, frame in reader.frames(chunk_rows):
            chunk = chunk_inputs(reader, frame, modality)
            if modality == "text":
                _check_texts(chunk, first, reader.text_col)
            chunk.feed(hasher)
            parts.append(pa.array(chunk.ids, type=pa.string()))
            bar.update(len(chunk.ids))
    if not parts:
        raise InvalidInputError("the dataset's split has no rows; choose another with --split")
    ids = store_inputs.as_ids(pa.concat_arrays(parts), reader.num_rows)
    return DatasetScan(ids, hasher.hexdigest()[:24])


def chunk_inputs(reader: DatasetReader, frame: Any, modality: str) -> Inputs:
    """One chunk's items, ids and labels (``frame`` from :meth:`DatasetReader.frames`)."""
    return as_inputs(
        frame,
        modality=modality,
        text_col=reader.text_col,
        id_col=reader.id_col or "id",
        label_col=reader.label_col,
    )


def _check_texts(chunk: Inputs, first: int, column: str) -> None:
    if chunk.texts is not None or not chunk.items:
        return
    row, item = next((i, x) for i, x in enumerate(chunk.items) if not isinstance(x, str))
    found = "no value" if item is None or item != item else type(item).__name__  # None, NaN
    raise InvalidInputError(
        f"row {first + row} of the dataset has {found} in column {column!r}, not text; "
        "drop or fill such rows (Dataset.filter / map) before embedding"
    )


def _reading_bar(total: int, show: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="row", desc="reading", disable=not show, file=sys.stderr)


class _Chunks:
    """Embeds chunks of a dataset with one model, advancing one progress bar."""

    def __init__(
        self,
        reader: DatasetReader,
        encoder: Encoder,
        extraction: Extraction,
        *,
        chunk_rows: int,
        batch_size: int,
        threads: int | None,
        bar: Any,
        on_batch: Callable[[int], None] | None,
    ) -> None:
        self.reader, self.encoder, self.extraction = reader, encoder, extraction
        self.chunk_rows, self.batch_size, self.threads = chunk_rows, batch_size, threads
        self.bar, self._on_batch, self._batches = bar, on_batch, 0

    def inputs(self, start: int = 0) -> Iterator[tuple[int, Inputs]]:
        for first, frame in self.reader.frames(self.chunk_rows, start):
            yield first, chunk_inputs(self.reader, frame, self.encoder.modality)

    def embed(self, chunk: Inputs) -> np.ndarray:
        """Vectors (k, dim) float32 of the chunk's items, in their order."""
        prepared = self.encoder.prepare(chunk.items, self.extraction)
        return run_batches(
            self.encoder,
            prepared,
            self.extraction,
            batch_size=self.batch_size,
            threads=self.threads,
            on_batch=self._count,
            chunk_rows=self.chunk_rows,
            bar=self.bar,
        )

    def _count(self, _in_chunk: int) -> None:
        self._batches += 1
        if self._on_batch is not None:
            self._on_batch(self._batches)


class DatasetOptions(TypedDict, total=False):
    """The keyword options of :func:`embed_dataset` after ``model`` (documented there)."""

    extraction: Extraction | dict[str, object] | str | None
    chunk_rows: int
    batch_size: int
    threads: int | None
    progress: bool
    parent: str | Version | None
    bump: str | None
    metric: str
    context: Context | dict[str, object] | None
    author: str | None
    keep_model: bool
    model_ref: str | None
    on_batch: Callable[[int], None] | None


def embed_dataset(
    space: Space,
    reader: DatasetReader,
    *,
    model: object = None,
    extraction: Extraction | dict[str, object] | str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    batch_size: int = 32,
    threads: int | None = None,
    progress: bool = True,
    parent: str | Version | None = None,
    bump: str | None = None,
    metric: str = "cosine",
    context: Context | dict[str, object] | None = None,
    author: str | None = None,
    keep_model: bool = True,
    model_ref: str | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Version:
    """Embed every row of ``reader`` with ``model`` into a new version of ``space``,
    ``chunk_rows`` rows at a time (options as for :func:`embver.extract.api.embed`).

    ``on_batch`` is called with the number of batches embedded so far in this run.
    """
    check_chunk_rows(chunk_rows)
    if model is None and model_ref is None:
        raise InvalidInputError("embed needs model= (a folder or package), or version=")
    encoder = load_model(model if model is not None else _reference_folder(space, model_ref))
    resolved = encoder.resolve(Extraction.coerce(extraction))
    context = _context(context, encoder, author)
    scanned = scan_dataset(reader, encoder.modality, chunk_rows, progress)
    with (
        progress_bar(reader.num_rows, encoder.modality, progress) as bar,
        tempfile.TemporaryDirectory(prefix="embver-model-") as scratch,
    ):
        chunks = _Chunks(
            reader, encoder, resolved, chunk_rows=chunk_rows, batch_size=batch_size,
            threads=threads, bar=bar, on_batch=on_batch,
        )  # fmt: skip
        files = _model_to_keep(space, encoder, keep_model, model_ref, Path(scratch))
        work = _Work(space, encoder, resolved, scanned, chunk_rows)
        dim = encoder.output_dim(resolved) or work.dim()
        first = None if dim is not None else _first_chunk(chunks)
        width = dim if first is None else first.shape[1]
        recipe = encoder.recipe(resolved, dim=width, metric=metric, context=context)
        existing = space.registered(recipe)
        if existing is not None:
            return _append_chunks(space, existing, recipe, chunks, files, first)
        staged = space.stage(
            scanned.ids, recipe, parent=parent, bump=bump, author=author, model_files=files,
            progress=work.progress(),
        )  # fmt: skip
        bar.update(staged.progress.rows)
        for start, chunk in chunks.inputs(staged.progress.rows):
            vectors = first if start == 0 and first is not None else chunks.embed(chunk)
            written = staged.write(vectors, texts=chunk.texts, labels=chunk.labels, uris=chunk.uris)
            work.record(written, recipe.dim)
        version = staged.commit()
        work.remove()
        return version


def _first_chunk(chunks: _Chunks) -> np.ndarray:
    """The first chunk's vectors: how a model of unknown width tells its width."""
    _, chunk = next(chunks.inputs())
    return chunks.embed(chunk)


def append_dataset(
    space: Space,
    reader: DatasetReader,
    version: str | Version,
    *,
    chunk_rows: int = CHUNK_ROWS,
    batch_size: int = 32,
    threads: int | None = None,
    progress: bool = True,
) -> Version:
    """Append the rows of ``reader`` that ``version`` lacks, encoded with the model it
    keeps, ``chunk_rows`` rows (one atomic append) at a time."""
    check_chunk_rows(chunk_rows)
    target = version if not isinstance(version, str) else space.get(version.split("@")[-1])
    if target.space != space.name:
        raise InvalidInputError(f"version {target.ref} is not a version of space {space.name!r}")
    encoder, resolved = kept_encoder(target)
    scan_dataset(reader, encoder.modality, chunk_rows, progress)
    with progress_bar(reader.num_rows, encoder.modality, progress) as bar:
        chunks = _Chunks(
            reader, encoder, resolved, chunk_rows=chunk_rows, batch_size=batch_size,
            threads=threads, bar=bar, on_batch=None,
        )  # fmt: skip
        return _append_chunks(space, target, target.recipe, chunks, None, None)


def _append_chunks(
    space: Space,
    existing: Version,
    recipe: Recipe,
    chunks: _Chunks,
    files: ModelFiles | None,
    first: np.ndarray | None,
) -> Version:
    """Append each chunk's ids that ``existing`` lacks, one register call per chunk."""
    held = pa.array(existing.ids, type=pa.string())
    added = 0
    for start, chunk in chunks.inputs():
        fresh = pc.invert(pc.is_in(pa.array(chunk.ids, type=pa.string()), value_set=held))
        keep = np.flatnonzero(fresh.to_numpy(zero_copy_only=False))
        chunks.bar.update(len(chunk.ids) - len(keep))
        if not len(keep):
            continue
        vectors = first[keep] if start == 0 and first is not None else None
        chunk = chunk.subset(keep)
        appended = space.register(
            vectors if vectors is not None else chunks.embed(chunk), ids=chunk.ids,
            recipe=recipe, texts=chunk.texts, labels=chunk.labels, uris=chunk.uris,
            model_files=files,
        )  # fmt: skip
        added += appended.appended_count
    return space.appended(existing, added)


class _Work:
    """The run's folder in ``<store>/work/embed/``: how far the staged version got."""

    def __init__(
        self,
        space: Space,
        encoder: Encoder,
        extraction: Extraction,
        scanned: DatasetScan,
        chunk_rows: int,
    ) -> None:
        self.manifest = {
            **encoder.fingerprints(extraction),
            "inputs": scanned.digest,
            "count": len(scanned.ids),
            "chunk_rows": chunk_rows,
            "streamed": True,
        }
        self.folder = _work_dir(space, self.manifest)
        self._saved = self._load()

    def _load(self) -> dict[str, Any]:
        path = self.folder / _PROGRESS_FILE
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return saved if saved.get("manifest") == self.manifest else {}

    def dim(self) -> int | None:
        """The width a killed run of a model of unknown width recorded."""
        return self._saved.get("dim")

    def progress(self) -> StagedProgress | None:
        saved = self._saved.get("progress")
        return StagedProgress.from_dict(saved) if saved else None

    def record(self, progress: StagedProgress, dim: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {"manifest": self.manifest, "progress": progress.to_dict(), "dim": dim}
        write_atomic(self.folder / _PROGRESS_FILE, json.dumps(state, sort_keys=True).encode())

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
