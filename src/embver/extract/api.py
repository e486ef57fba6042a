"""``space.embed(...)``: items through a model into a registered version.

:func:`encode` turns items into vectors and their recipe without a store;
:func:`embed` does the same with a checkpoint folder inside the store (so an
interrupted run resumes) and registers the version only when every item has
its vector.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import numpy as np

from embver.core.recipe import Context, Recipe, fingerprint
from embver.errors import InvalidInputError
from embver.extract.encoders import Encoder
from embver.extract.kept import kept_encoder, model_files
from embver.extract.runner import (
    CHUNK_ROWS,
    BatchExecutor,
    Checkpoint,
    check_chunk_rows,
    run_batches,
)
from embver.extract.sources import load_model
from embver.extract.spec import Extraction
from embver.store.models import ModelFiles

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from embver.store import Space, Version

_TEXT_COLUMNS = ("text", "texts", "sentence", "document", "content")
_IMAGE_COLUMNS = ("path", "image", "uri", "file")


@dataclass
class Inputs:
    """Items to embed with what the store keeps about them (all lists of length n)."""

    ids: list[str]
    items: list[Any]
    texts: list[str] | None = None
    labels: list[Any] | None = None
    uris: list[str] | None = None

    def subset(self, keep: np.ndarray) -> Inputs:
        def pick(values: list[Any] | None) -> list[Any] | None:
            return None if values is None else [values[i] for i in keep]

        return Inputs(
            ids=[self.ids[i] for i in keep],
            items=[self.items[i] for i in keep],
            texts=pick(self.texts),
            labels=pick(self.labels),
            uris=pick(self.uris),
        )

    def digest(self) -> str:
        """Content digest of ids and items (image files by path, size and mtime)."""
        hasher = hashlib.sha256()
        self.feed(hasher)
        return hasher.hexdigest()[:24]

    def feed(self, hasher: Any) -> None:
        """Feed ids and items to ``hasher``: chunks fed in order digest as their whole."""
        for item_id, item in zip(self.ids, self.items, strict=True):
            hasher.update(item_id.encode() + b"\x00" + _item_bytes(item) + b"\x01")


def _item_bytes(item: Any) -> bytes:
    if isinstance(item, str):
        return item.encode()
    if isinstance(item, Path):
        stat = item.stat()
        return f"{item}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    if hasattr(item, "tobytes"):
        return bytes(item.tobytes())
    return repr(item).encode()


def as_inputs(
    data: Any,
    *,
    ids: Sequence[Any] | None = None,
    modality: str = "text",
    text_col: str | None = None,
    id_col: str | None = None,
    label_col: str | None = None,
    labels: Sequence[Any] | None = None,
) -> Inputs:
    """Items, ids, texts/uris and labels from a list, a pandas or a polars DataFrame.

    Without ids, image paths are their own ids and other items are numbered
    ``"0"``, ``"1"``, … in input order.
    """
    if _is_frame(data):
        items, frame_ids, frame_labels = _from_frame(data, modality, text_col, id_col, label_col)
        ids = ids if ids is not None else frame_ids
        labels = labels if labels is not None else frame_labels
    elif isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
        raise InvalidInputError(
            f"data of type {type(data).__name__} is not a list of items or a DataFrame; "
            "pass e.g. a list of texts"
        )
    else:
        items = list(data)
    if modality == "image":
        items = [Path(i) if isinstance(i, (str, os.PathLike)) else i for i in items]
    uris = [str(i) for i in items] if items and all(isinstance(i, Path) for i in items) else None
    if ids is None:
        ids = uris if uris is not None else [str(i) for i in range(len(items))]
    ids = [str(i) for i in ids]
    if len(ids) != len(items):
        raise InvalidInputError(f"got {len(ids)} ids for {len(items)} items; give one id per item")
    if labels is not None and len(labels) != len(items):
        raise InvalidInputError(f"got {len(labels)} labels for {len(items)} items")
    texts = list(items) if items and all(isinstance(i, str) for i in items) else None
    return Inputs(ids, items, texts, list(labels) if labels is not None else None, uris)


def _is_frame(data: Any) -> bool:
    return hasattr(data, "columns") and hasattr(data, "__getitem__") and not isinstance(data, list)


def _column(frame: Any, name: str) -> list[Any]:
    column = frame[name]
    return column.to_list() if hasattr(column, "to_list") else list(column)


def _from_frame(
    frame: Any, modality: str, text_col: str | None, id_col: str | None, label_col: str | None
) -> tuple[list[Any], list[Any] | None, list[Any] | None]:
    columns = [str(c) for c in frame.columns]
    candidates = _IMAGE_COLUMNS if modality == "image" else _TEXT_COLUMNS
    item_col = text_col or next((c for c in candidates if c in columns), None)
    if item_col is None or item_col not in columns:
        raise InvalidInputError(
            f"no column {text_col or ' / '.join(candidates)!r} in the DataFrame (columns: "
            f"{columns}); name the column with text_col= (CLI: --text-col)"
        )
    for name, value in (("id_col", id_col), ("label_col", label_col)):
        if value is not None and value not in columns:
            raise InvalidInputError(f"{name} {value!r} is not a column; columns: {columns}")
    id_col = id_col or ("id" if "id" in columns else None)
    label_col = label_col or ("label" if "label" in columns else None)
    return (
        _column(frame, item_col),
        _column(frame, id_col) if id_col else None,
        _column(frame, label_col) if label_col else None,
    )


def encode(
    data: Any,
    model: Any,
    extraction: Extraction | dict[str, Any] | str | None = None,
    *,
    batch_size: int = 32,
    threads: int | None = None,
    progress: bool = False,
    metric: str = "cosine",
) -> tuple[np.ndarray, Recipe]:
    """Vectors of shape (n, dim), float32, for ``data`` and the recipe that made them (no store)."""
    encoder = load_model(model)
    resolved = encoder.resolve(Extraction.coerce(extraction))
    inputs = as_inputs(data, modality=encoder.modality)
    prepared = encoder.prepare(inputs.items, resolved)
    vectors = run_batches(
        encoder, prepared, resolved, batch_size=batch_size, threads=threads, progress=progress
    )
    return vectors, encoder.recipe(resolved, dim=vectors.shape[1], metric=metric)


class EmbedOptions(TypedDict, total=False):
    """The keyword options of :func:`embed` after ``model`` (documented there)."""

    ids: Sequence[object] | None
    extraction: Extraction | dict[str, object] | str | None
    text_col: str | None
    id_col: str | None
    label_col: str | None
    labels: Sequence[object] | None
    batch_size: int
    threads: int | None
    progress: bool
    parent: str | Version | None
    bump: str | None
    metric: str
    context: Context | dict[str, object] | None
    author: str | None
    on_batch: Callable[[int], None] | None
    ray: bool | str
    ray_concurrency: int | None
    version: str | Version | None
    keep_model: bool
    model_ref: str | None
    chunk_rows: int


#: what :func:`embed` and :func:`encode` take as items: texts, image paths or PIL images, or a
#: pandas / polars frame (with ``text_col``/``id_col``/``label_col``)
EmbedData: TypeAlias = "Sequence[object] | pd.DataFrame | pl.DataFrame"


def embed(
    space: Space,
    data: EmbedData,
    *,
    model: object = None,
    ids: Sequence[object] | None = None,
    extraction: Extraction | dict[str, object] | str | None = None,
    text_col: str | None = None,
    id_col: str | None = None,
    label_col: str | None = None,
    labels: Sequence[object] | None = None,
    batch_size: int = 32,
    threads: int | None = None,
    progress: bool = True,
    parent: str | Version | None = None,
    bump: str | None = None,
    metric: str = "cosine",
    context: Context | dict[str, object] | None = None,
    author: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    ray: bool | str = False,
    ray_concurrency: int | None = None,
    version: str | Version | None = None,
    keep_model: bool = True,
    model_ref: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Version:
    """Embed ``data`` with ``model`` and register the vectors as a version of ``space``.

    Parameters
    ----------
    space : Space
    data : list of str, list of image paths / PIL images, pandas or polars DataFrame
    model : path, installed model package name, or model object (see :func:`load_model`)
    ids : sequence of str, optional
        One id per item (default: an ``id`` column, image paths, or positions).
    extraction : Extraction, optional
        Fields left ``None`` take the model's own (sentence-transformers) defaults.
    batch_size, threads, progress
        Forward-pass size, torch threads, and the progress bar.
    parent, bump, metric, context, author
        As for :meth:`Space.register`; the bump is derived and a declared one checked.
    ray : bool or str
        Compute the batches on Ray with Ray Data: True uses this process's Ray
        connection, else ``ray.init()`` (``RAY_ADDRESS``, or a new local Ray); a
        string names the cluster (``host:6379``, ``ray://host:10001``, ``auto``).
        The recipe, the version and the checkpoint are the same as for a local run;
        ``threads`` is then the CPUs per Ray actor.
    ray_concurrency : int, optional
        Ray actors, each holding one copy of the model (default: the cluster's
        CPUs divided by ``threads``).
    version : str or Version, optional
        Append ``data``'s new items to this existing version, encoded with the model it
        keeps (no ``model`` needed; refused when it keeps none).
    keep_model : bool
        Keep the model in the store with the version (default), so that
        ``version.encoder()`` and ``embed(version=...)`` work once it is gone elsewhere.
    model_ref : str, optional
        Keep only a pointer to the model (a folder, ``s3://…``, or a Hugging Face
        ``org/name@revision``) and its digest; ``model`` defaults to what it points at.
    chunk_rows : int
        Batches are length-sorted within each run of this many items (default 50,000),
        as :func:`embver.extract.stream.embed_dataset` streams a dataset: the same
        ``chunk_rows`` gives the same vectors, bit for bit, streamed or not.

    Returns
    -------
    Version
        The registered version (``.bump`` and ``.reasons`` say what changed).
        Items whose ids the same embedding function already holds are not re-embedded.
    """
    if version is not None:
        return _embed_with_version(
            space, data, version, ids=ids, text_col=text_col, id_col=id_col,
            label_col=label_col, labels=labels, batch_size=batch_size, threads=threads,
            progress=progress, model=model, extraction=extraction, chunk_rows=chunk_rows,
        )  # fmt: skip
    if model is None and model_ref is None:
        raise InvalidInputError("embed needs model= (a folder or package), or version=")
    source = model if model is not None else _reference_folder(space, model_ref)
    encoder = load_model(source)
    with tempfile.TemporaryDirectory(prefix="embver-model-") as scratch:
        files = _model_to_keep(space, encoder, keep_model, model_ref, Path(scratch))
        return _embed_new(
            space, data, encoder, source, extraction, files, ids=ids, text_col=text_col,
            id_col=id_col, label_col=label_col, labels=labels, batch_size=batch_size,
            threads=threads, progress=progress, parent=parent, bump=bump, metric=metric,
            context=context, author=author, on_batch=on_batch, ray=ray,
            ray_concurrency=ray_concurrency, chunk_rows=chunk_rows,
        )  # fmt: skip


def _embed_new(
    space: Space,
    data: Any,
    encoder: Encoder,
    model: Any,
    extraction: Any,
    files: ModelFiles | None,
    *,
    ids: Sequence[object] | None,
    text_col: str | None,
    id_col: str | None,
    label_col: str | None,
    labels: Sequence[object] | None,
    batch_size: int,
    threads: int | None,
    progress: bool,
    parent: str | Version | None,
    bump: str | None,
    metric: str,
    context: Context | dict[str, object] | None,
    author: str | None,
    on_batch: Callable[[int], None] | None,
    ray: bool | str,
    ray_concurrency: int | None,
    chunk_rows: int,
) -> Version:
    """:func:`embed` with a loaded model: the vectors registered (and ``files`` kept)."""
    check_chunk_rows(chunk_rows)
    resolved = encoder.resolve(Extraction.coerce(extraction))
    inputs = as_inputs(
        data,
        ids=ids,
        modality=encoder.modality,
        text_col=text_col,
        id_col=id_col,
        label_col=label_col,
        labels=labels,
    )
    context = _context(context, encoder, author)
    existing, inputs = _drop_already_embedded(space, encoder, resolved, inputs, metric, context)
    if existing is not None and not inputs.ids:
        return space.unchanged(existing)  # nothing new: same recipe, same items
    prepared = encoder.prepare(inputs.items, resolved)
    manifest = _manifest(encoder, resolved, inputs)
    with _executor(ray, model, encoder, resolved, inputs, ray_concurrency, threads) as executor:
        checkpoint = Checkpoint(_work_dir(space, manifest), manifest)
        vectors = run_batches(
            encoder,
            prepared,
            resolved,
            batch_size=batch_size,
            threads=threads,
            progress=progress,
            checkpoint=checkpoint,
            on_batch=on_batch,
            executor=executor,
            chunk_rows=chunk_rows,
        )
    recipe = encoder.recipe(resolved, dim=vectors.shape[1], metric=metric, context=context)
    version = space.register(
        vectors,
        ids=inputs.ids,
        recipe=recipe,
        parent=parent,
        bump=bump,
        texts=inputs.texts,
        labels=inputs.labels,
        uris=inputs.uris,
        author=author,
        model_files=files,
    )
    checkpoint.remove()
    return version


def _model_to_keep(
    space: Space, encoder: Encoder, keep: bool, model_ref: str | None, scratch: Path
) -> ModelFiles | None:
    """What a new version keeps of ``encoder``: its files, a pointer, or nothing."""
    if model_ref is not None:
        return ModelFiles(
            _folder_kind(encoder.folder), _reference_folder(space, model_ref), ref=model_ref
        )
    return model_files(encoder, scratch) if keep else None


def _folder_kind(folder: Path | None) -> str:
    modules = folder is not None and (folder / "modules.json").exists()
    return "sentence-transformers" if modules else "huggingface"


def _reference_folder(space: Space, ref: str | None) -> Path:
    from embver.store.models import resolve_reference

    return resolve_reference(space.store, str(ref))


def _embed_with_version(
    space: Space,
    data: Any,
    version: str | Version,
    *,
    model: Any,
    extraction: Any,
    ids: Sequence[object] | None,
    text_col: str | None,
    id_col: str | None,
    label_col: str | None,
    labels: Sequence[object] | None,
    batch_size: int,
    threads: int | None,
    progress: bool,
    chunk_rows: int,
) -> Version:
    """Append ``data``'s new items to ``version``, encoded with the model it keeps."""
    if model is not None or extraction is not None:
        raise InvalidInputError(
            "embed(version=...) encodes with the version's kept model and recorded extraction; "
            "drop model= and extraction="
        )
    target = version if not isinstance(version, str) else space.get(version.split("@")[-1])
    if target.space != space.name:
        raise InvalidInputError(f"version {target.ref} is not a version of space {space.name!r}")
    encoder, resolved = kept_encoder(target)
    inputs = as_inputs(
        data, ids=ids, modality=encoder.modality, text_col=text_col, id_col=id_col,
        label_col=label_col, labels=labels,
    )  # fmt: skip
    held = set(target.ids)
    inputs = inputs.subset(np.array([i for i, x in enumerate(inputs.ids) if x not in held], int))
    if not inputs.ids:
        return space.unchanged(target)
    prepared = encoder.prepare(inputs.items, resolved)
    vectors = run_batches(
        encoder, prepared, resolved, batch_size=batch_size, threads=threads, progress=progress,
        chunk_rows=chunk_rows,
    )  # fmt: skip
    return space.register(
        vectors, ids=inputs.ids, recipe=target.recipe, texts=inputs.texts,
        labels=inputs.labels, uris=inputs.uris,
    )  # fmt: skip


@contextmanager
def _executor(
    ray: bool | str,
    model: Any,
    encoder: Encoder,
    extraction: Extraction,
    inputs: Inputs,
    concurrency: int | None,
    threads: int | None,
) -> Iterator[BatchExecutor | None]:
    """Where batches run: None (this process) or Ray, connected before any work is written."""
    if ray is False or ray is None:
        yield None
        return
    from embver.extract.ray_runner import model_for_workers, ray_executor, ray_session

    with ray_session(ray) as connected:
        yield ray_executor(
            connected,
            model_for_workers(connected, model, encoder),
            inputs.items,
            extraction,
            encoder.fingerprints(extraction),
            concurrency=concurrency,
            threads=threads,
        )


def _context(
    context: Context | dict[str, Any] | None, encoder: Encoder, author: str | None
) -> Context:
    result = context if isinstance(context, Context) else Context.from_dict(context)
    if result.notes is None and encoder.source:
        result = Context(**{**result.to_dict(), "notes": f"model: {encoder.source}"})
    if author and not result.author:
        result = Context(**{**result.to_dict(), "author": author})
    return result


def _drop_already_embedded(
    space: Space,
    encoder: Encoder,
    extraction: Extraction,
    inputs: Inputs,
    metric: str,
    context: Context,
) -> tuple[Version | None, Inputs]:
    """Skip ids the same embedding function already holds (appending embeds only new items)."""
    dim = encoder.output_dim(extraction)
    if dim is None:
        return None, inputs
    recipe = encoder.recipe(extraction, dim=dim, metric=metric, context=context)
    existing = space.registered(recipe)
    if existing is None:
        return None, inputs
    held = set(existing.ids)
    keep = np.array([i for i, item_id in enumerate(inputs.ids) if item_id not in held], np.int64)
    return existing, inputs.subset(keep)


def _manifest(encoder: Encoder, extraction: Extraction, inputs: Inputs) -> dict[str, Any]:
    return {**encoder.fingerprints(extraction), "inputs": inputs.digest(), "count": len(inputs.ids)}


def _work_dir(space: Space, manifest: dict[str, Any]) -> Path:
    """``<store>/work/embed/<space>-<key>``: one folder per (recipe, input) pair."""
    key = fingerprint(manifest)
    return Path(space.store.location.root) / "work" / "embed" / f"{space.name}-{key}"
