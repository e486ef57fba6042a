"""Batch embedding: length-sorted batches, a progress bar, and resumable checkpoints.

Items are sorted by cost (token count) within each chunk of :data:`CHUNK_ROWS`
consecutive items (the rows a streamed dataset holds in memory at once, so that
streaming it gives the same batches, and the same vectors bit for bit, as embedding
it whole) so each batch pads little; batches run
under ``torch.inference_mode`` on a configurable number of threads. With a
``work_dir``, every finished batch is committed as its own file (written to a
temporary name, then renamed, so a file is either whole or absent). A run killed
by Ctrl-C or SIGKILL leaves its committed batches; the next run with the same
work dir embeds only what is missing. Nothing is registered until every item
has a vector — that is the caller's job once :func:`run_batches` returns.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Final

import numpy as np

from embver.errors import InvalidInputError
from embver.extract.encoders import Encoder, Prepared
from embver.extract.spec import Extraction

#: Computes planned batches (arrays of positions) and yields ``(positions, vectors)`` for
#: each, in any order, as it finishes: in this process by default, or on Ray
#: (:mod:`embver.extract.ray_runner`).
BatchExecutor = Callable[[list[np.ndarray]], Iterable[tuple[np.ndarray, np.ndarray]]]

#: items per chunk: batches are planned within each run of this many consecutive items, and
#: ``embed --dataset`` reads, embeds and writes a dataset this many rows at a time
CHUNK_ROWS: Final = 50_000


def check_chunk_rows(chunk_rows: int) -> int:
    """``chunk_rows``, refused unless it is a positive number of rows."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InvalidInputError(
            f"chunk_rows is {chunk_rows!r}; use a positive number of rows (CLI: --chunk N)"
        )
    return chunk_rows


#: a batch's padded cost (its items × its largest item's cost, in tokens for text) is at
#: most ``batch_size`` × this: sorted by length, the 32 longest of 512 BBC texts still
#: padded to 252 tokens, and the batches ran 1.37× the real tokens' work (1.09× with it)
PADDED_COST_PER_ITEM: Final = 64


def chunked_plan(
    cost: np.ndarray,
    positions: np.ndarray,
    batch_size: int,
    chunk_rows: int,
    padded_budget: int | None = None,
) -> list[np.ndarray]:
    """:func:`batch_plan` of ``positions`` (k,), chunk by chunk of ``chunk_rows`` items
    (chunk of a position: ``position // chunk_rows``); a batch never spans two chunks.

    ``cost`` : array of shape (n,), the cost of every item (not only of ``positions``).
    """
    check_chunk_rows(chunk_rows)
    _check_batch_size(batch_size)
    plan: list[np.ndarray] = []
    chunks = positions // chunk_rows
    for chunk in np.unique(chunks):
        members = positions[chunks == chunk]
        batches = batch_plan(cost[members], batch_size, padded_budget)
        plan += [members[batch] for batch in batches]
    return plan


def batch_plan(
    cost: np.ndarray, batch_size: int, padded_budget: int | None = None
) -> list[np.ndarray]:
    """Positions grouped into batches of similar cost, most costly first.

    Parameters
    ----------
    cost : array of shape (n,)
        Per-item cost (token count); equal costs keep input order.
    batch_size : int
    padded_budget : int, optional
        A batch also holds no more items than fit in this at its largest item's cost (the
        cost it is padded to), and at least one; items of no cost fill batches by number.

    Returns
    -------
    list of int64 arrays, each of at most ``batch_size`` positions
    """
    _check_batch_size(batch_size)
    order = np.argsort(-cost, kind="stable")
    if padded_budget is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    plan, start = [], 0
    while start < len(order):
        largest = int(cost[order[start]])
        size = batch_size if largest <= 0 else max(1, min(batch_size, padded_budget // largest))
        plan.append(order[start : start + size])
        start += size
    return plan


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise InvalidInputError(f"batch_size is {batch_size!r}; use a positive integer")


class Checkpoint:
    """Committed batches of one embedding run, in a work folder.

    Each part file holds the positions it covers and their vectors; the
    manifest ties the folder to one run (recipe fingerprints and input digest).
    """

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.manifest = manifest
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "manifest.json"
        if path.exists() and json.loads(path.read_text()) != manifest:
            # Same key, different run description: start over rather than mix vectors.
            for part in self.folder.glob("part-*.npz"):
                part.unlink()
        self._write_atomic(path, json.dumps(manifest, sort_keys=True).encode())
        numbers = [int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.npz")]
        self._count = max(numbers, default=-1) + 1  # never reuse a committed part's name

    def load(self, n: int) -> tuple[np.ndarray | None, np.ndarray]:
        """Vectors committed so far: an (n, dim) array (or None) and a done mask of shape (n,)."""
        done = np.zeros(n, dtype=bool)
        vectors: np.ndarray | None = None
        for part in sorted(self.folder.glob("part-*.npz")):
            try:
                with np.load(part) as data:
                    positions, block = data["positions"], data["vectors"]
                    digest = str(data["digest"])
            except Exception:  # a torn or foreign file is not a committed batch
                part.unlink(missing_ok=True)
                continue
            if digest != _digest(positions, block) or positions.max(initial=-1) >= n:
                part.unlink(missing_ok=True)
                continue
            if vectors is None:
                vectors = np.zeros((n, block.shape[1]), dtype=np.float32)
            vectors[positions] = block
            done[positions] = True
        return vectors, done

    def commit(self, positions: np.ndarray, vectors: np.ndarray) -> None:
        """Commit one batch: after this returns, a killed run keeps these vectors."""
        from io import BytesIO

        buffer = BytesIO()
        np.savez(buffer, positions=positions, vectors=vectors, digest=_digest(positions, vectors))
        self._write_atomic(self.folder / f"part-{self._count:07d}.npz", buffer.getvalue())
        self._count += 1

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        write_atomic(path, data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary name, then a rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
    os.replace(temporary, path)


def _digest(positions: np.ndarray, vectors: np.ndarray) -> str:
    hasher = hashlib.sha256(np.ascontiguousarray(positions, dtype=np.int64).tobytes())
    hasher.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return hasher.hexdigest()


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (None: leave torch's default)."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def in_process(
    encoder: Encoder, prepared: Prepared, extraction: Extraction, threads: int | None = None
) -> BatchExecutor:
    """The default :data:`BatchExecutor`: batches one after another in this process."""

    def execute(plan: list[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        with torch_threads(threads):
            for positions in plan:
                yield positions, encoder.encode(prepared, positions, extraction)

    return execute


def run_batches(
    encoder: Encoder,
    prepared: Prepared,
    extraction: Extraction,
    *,
    batch_size: int = 32,
    threads: int | None = None,
    progress: bool = True,
    checkpoint: Checkpoint | None = None,
    on_batch: Callable[[int], None] | None = None,
    executor: BatchExecutor | None = None,
    chunk_rows: int = CHUNK_ROWS,
    bar: Any = None,
) -> np.ndarray:
    """Vectors of shape (n, dim), float32, for every prepared item, in input order.

    Parameters
    ----------
    encoder, prepared, extraction
        The model, its prepared items, and the resolved extraction.
    batch_size : int
        Items per forward pass, at most: long items go in fewer (``PADDED_COST_PER_ITEM``).
    threads : int, optional
        torch intra-op threads for this run.
    progress : bool
        Show a progress bar (items/s and ETA) on stderr.
    checkpoint : Checkpoint, optional
        Commit each batch there and skip what an earlier run already committed.
    on_batch : callable, optional
        Called with the number of batches committed so far (used by tests).
    executor : BatchExecutor, optional
        Where the planned batches run (default: :func:`in_process`).
    chunk_rows : int
        Batches are planned by cost within each run of this many items (:func:`chunked_plan`).
    bar : tqdm, optional
        A progress bar of a longer run to advance (it stays open); ``progress`` is then unused.
    """
    n = len(prepared)
    vectors, done = checkpoint.load(n) if checkpoint else (None, np.zeros(n, dtype=bool))
    remaining = np.flatnonzero(~done)
    budget = batch_size * PADDED_COST_PER_ITEM
    plan = chunked_plan(prepared.cost, remaining, batch_size, chunk_rows, padded_budget=budget)
    execute = executor or in_process(encoder, prepared, extraction, threads)
    owned = bar is None
    if owned:
        bar = progress_bar(n, encoder.modality, progress, initial=int(done.sum()))
    batches = iter(execute(plan) if plan else ())
    with bar if owned else nullcontext(), closing_iterator(batches):
        for index, (positions, block) in enumerate(batches, start=1):
            _check_finite(positions, block)
            if vectors is None:
                vectors = np.zeros((n, block.shape[1]), dtype=np.float32)
            vectors[positions] = block
            if checkpoint is not None:
                checkpoint.commit(positions, block)
            bar.update(len(positions))
            if on_batch is not None:
                on_batch(index)
    if vectors is None:
        raise InvalidInputError("there are no items to embed; pass at least one")
    return vectors


def progress_bar(total: int, unit: str, show: bool, initial: int = 0) -> Any:
    """The ``embedding`` progress bar on stderr (items/s and ETA); hidden unless ``show``."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc="embedding",
        disable=not show,
        file=sys.stderr,
        dynamic_ncols=True,
    )


@contextmanager
def closing_iterator(iterator: Iterator[Any]) -> Iterator[None]:
    """Close a generator when the block ends, even on error (its ``finally`` runs now)."""
    try:
        yield
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _check_finite(positions: np.ndarray, block: np.ndarray) -> None:
    if not np.isfinite(block).all():
        raise InvalidInputError(
            f"the model produced NaN or inf for item(s) at positions "
            f"{positions[~np.isfinite(block).all(axis=1)][:5].tolist()}"
        )
