"""Kept models: the files of the function that made a version, content-addressed.

A model is a manifest ``{relative path: [size, blake3]}`` over the files of a folder;
its digest is blake3 of the canonical manifest JSON. Its files go to
``models/<digest>/<path>`` under the data root (local disk or object storage) before
its catalog row, and the row before any version that names it: a writer killed
mid-write leaves only unreferenced files for ``gc``, never a row pointing at half a
model. Twenty versions made by one model store it once.

A pointer-only model (``kind="reference"``) keeps a URI (a local path, ``s3://…`` or a
Hugging Face ``org/name@revision``) and the digest of what it pointed at; reading it
later re-hashes what the URI holds and refuses a mismatch.

Persistence only: nothing here loads a model (that is :mod:`embver.extract`'s).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from embver.errors import IntegrityError, InvalidInputError, NotFoundError
from embver.store import objectstore, schema
from embver.store.catalog import write_transaction

if TYPE_CHECKING:
    from embver.store.store import Store

T = TypeVar("T")

KINDS = ("sentence-transformers", "huggingface", "torch-state-dict", "reference")

#: a manifest: relative file path -> [size in bytes, blake3 hex digest]
Manifest = dict[str, list[Any]]


@dataclass(frozen=True)
class ModelFiles:
    """A model to keep with a version: its kind, the folder holding its files, its spec.

    ``folder`` is read when the version is registered (after its input was accepted);
    ``ref`` makes it a pointer: only the URI and the digest of the folder are kept.
    """

    kind: str
    folder: Path
    spec: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInputError(f"model kind {self.kind!r} is unknown; use one of {KINDS}")


@dataclass(frozen=True)
class KeptModel:
    """A model row of the catalog: what a version's ``model_digest`` names."""

    digest: str
    kind: str
    manifest: Manifest
    spec: dict[str, Any]
    ref: str | None
    bytes: int
    created_at: dt.datetime

    @property
    def stored_kind(self) -> str:
        """The kind of the files (a reference's spec records what it points at)."""
        return str(self.spec.get("kind", self.kind)) if self.kind == "reference" else self.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "kind": self.kind,
            "bytes": self.bytes,
            "files": len(self.manifest),
            "ref": self.ref,
            "spec": self.spec,
        }


def file_digest(payload: bytes) -> str:
    import blake3

    return str(blake3.blake3(payload, max_threads=blake3.blake3.AUTO).hexdigest())


def file_digest_of(path: Path) -> str:
    """:func:`file_digest` of the file at ``path``, hashed from a memory map (no copy into
    memory; blake3 reads the pages on every core)."""
    import blake3

    if path.stat().st_size == 0:  # an empty file cannot be mapped
        return file_digest(b"")
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    return str(hasher.update_mmap(path).hexdigest())


def manifest_of(folder: Path) -> Manifest:
    """``{relative path: [size, blake3]}`` of every file under ``folder`` (hidden ones
    such as ``.cache/`` or ``.gitattributes`` are not part of a model)."""
    if not folder.is_dir():
        raise InvalidInputError(f"model folder {str(folder)!r} does not exist")
    manifest: Manifest = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            manifest[relative.as_posix()] = [path.stat().st_size, file_digest_of(path)]
    if not manifest:
        raise InvalidInputError(f"model folder {str(folder)!r} holds no files")
    return manifest


def manifest_digest(manifest: Manifest) -> str:
    """blake3 of the manifest as canonical JSON: the model's content address."""
    import blake3

    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return str(blake3.blake3(canonical).hexdigest())


def keep(store: Store, model: ModelFiles) -> str:
    """Write ``model``'s files (unless a pointer, or already kept), then its catalog row;
    returns its digest. Versions name the digest after this returns."""
    manifest = manifest_of(model.folder)
    digest = manifest_digest(manifest)
    if model_row(store, digest) is not None:
        return digest  # stored once, however many versions it made
    if model.ref is None:
        for relative in manifest:
            store._write_bytes(
                f"models/{digest}/{relative}", (model.folder / relative).read_bytes()
            )
    _insert_row(store, digest, model, manifest)
    return digest


def _insert_row(store: Store, digest: str, model: ModelFiles, manifest: Manifest) -> None:
    row = {
        "digest": digest,
        "kind": "reference" if model.ref else model.kind,
        "manifest": manifest,
        "spec": {**model.spec, "kind": model.kind} if model.ref else model.spec,
        "ref": model.ref,
        "bytes": sum(int(size) for size, _ in manifest.values()),
        "created_at": dt.datetime.now(dt.timezone.utc),
    }
    try:
        with write_transaction(store.engine) as connection:
            connection.execute(schema.models.insert().values(**row))
    except sa.exc.IntegrityError:
        pass  # kept concurrently by another writer: the same files, the same row


def model_row(store: Store, digest: str) -> KeptModel | None:
    table = schema.models
    with store.engine.connect() as connection:
        row = (
            connection.execute(sa.select(table).where(table.c.digest == digest)).mappings().first()
        )
    return None if row is None else _kept(row)


def all_models(store: Store) -> list[KeptModel]:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.select(schema.models)).mappings().all()
    return [_kept(row) for row in rows]


def _kept(row: Any) -> KeptModel:
    return KeptModel(
        digest=row["digest"],
        kind=row["kind"],
        manifest=dict(row["manifest"]),
        spec=dict(row["spec"] or {}),
        ref=row["ref"],
        bytes=int(row["bytes"]),
        created_at=row["created_at"],
    )


# -- reading back ------------------------------------------------------------------------


def model_folder(store: Store, digest: str) -> Path:
    """A local folder holding kept model ``digest``, every file re-hashed against its manifest.

    On local disk it is the model's folder in the data root; on object storage the files
    are first copied into ``<store>/cache/models/<digest>/``; a pointer is resolved to what
    its URI holds now. IntegrityError when a file is damaged, missing or changed.
    """
    kept, folder = _located(store, digest)
    _refuse_damaged(kept, _damaged_files(folder, kept.manifest))
    return folder


def load_checked(store: Store, digest: str, load: Callable[[Path], T]) -> T:
    """``load(folder)`` of kept model ``digest``, its files re-hashed at the same time.

    The re-hash runs on a second thread while ``load`` reads the folder (blake3 and file
    reads release the GIL), and the result is returned only once every file matched its
    manifest: a damaged model raises IntegrityError and what ``load`` made of it is dropped
    unused (also when ``load`` failed on the damage first). Same folders as
    :func:`model_folder`.
    """
    kept, folder = _located(store, digest)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embver-rehash") as pool:
        damaged = pool.submit(_damaged_files, folder, kept.manifest)
        try:
            loaded = load(folder)
        except Exception:
            _refuse_damaged(kept, damaged.result())  # damage explains the failure
            raise
        _refuse_damaged(kept, damaged.result())
    return loaded


def _located(store: Store, digest: str) -> tuple[KeptModel, Path]:
    kept = model_row(store, digest)
    if kept is None:
        raise NotFoundError(f"model {digest} is not kept in this store")
    if kept.kind == "reference":
        return kept, resolve_reference(store, str(kept.ref))
    if objectstore.is_local(store.location.data_uri):
        return kept, Path(objectstore.local_path(store.data_path(f"models/{digest}")))
    return kept, _materialised(store, kept)


def _refuse_damaged(kept: KeptModel, damaged: list[str]) -> None:
    if damaged:
        what = f"its pointer {kept.ref!r} now holds other files" if kept.ref else "damaged"
        raise IntegrityError(
            f"model {kept.digest} is {what}: {', '.join(damaged[:3])}"
            f"{' …' if len(damaged) > 3 else ''}; run embver verify"
        )


def _damaged_files(folder: Path, manifest: Manifest) -> list[str]:
    """The manifest's files that are missing under ``folder`` or hash otherwise."""
    damaged = []
    for relative, (size, digest) in manifest.items():
        path = folder / relative
        if not path.is_file() or path.stat().st_size != size:
            damaged.append(f"{relative} (missing or truncated)")
        elif file_digest_of(path) != digest:
            damaged.append(f"{relative} (content differs)")
    return damaged


def _materialised(store: Store, kept: KeptModel) -> Path:
    """The model's files copied from object storage into the store's cache folder."""
    folder = Path(store.location.root) / "cache" / "models" / kept.digest
    if folder.is_dir() and not _damaged_files(folder, kept.manifest):
        return folder
    # a private partial folder, renamed into place whole: concurrent readers never see
    # half a copy, and the first rename wins
    partial = folder.with_name(f"{kept.digest}.{uuid.uuid4().hex}.partial")
    for relative in kept.manifest:
        try:
            payload = store._read_bytes(f"models/{kept.digest}/{relative}")
        except NotFoundError:
            continue  # reported as missing by the re-hash
        target = partial / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    partial.mkdir(parents=True, exist_ok=True)
    if folder.is_dir():  # a stale or damaged copy
        shutil.rmtree(folder, ignore_errors=True)
    try:
        partial.rename(folder)
    except OSError:  # another reader put its copy in place first
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def resolve_reference(store: Store, ref: str) -> Path:
    """The local folder a model pointer names: a path, ``s3://bucket/key`` (copied into the
    store's cache), or a Hugging Face ``org/name@revision`` in the local hub cache."""
    if "://" in ref:
        return _copied_from_object_storage(store, ref)
    path = Path(ref).expanduser()
    if path.is_dir():
        return path.resolve()
    if ref.count("/") == 1 and not path.exists():
        return _hub_snapshot(ref)
    raise InvalidInputError(
        f"model ref {ref!r} is not a folder, an s3:// URI or a Hugging Face org/name@revision"
    )


def _copied_from_object_storage(store: Store, uri: str) -> Path:
    import hashlib

    import pyarrow.fs as pafs

    objectstore.check_data_uri(uri)
    fs, base = objectstore.filesystem(uri)
    key = hashlib.sha256(uri.encode()).hexdigest()[:24]
    folder = Path(store.location.root) / "cache" / "refs" / key
    shutil.rmtree(folder, ignore_errors=True)
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        target = folder / info.path[len(base) :].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(info.path) as stream:
            target.write_bytes(stream.read())
    if not folder.is_dir():
        raise NotFoundError(f"model ref {uri!r} holds no files")
    return folder


def _hub_snapshot(ref: str) -> Path:
    name, _, revision = ref.partition("@")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, revision=revision or None, local_files_only=True))
    except Exception as exc:  # not in the local cache: embver never downloads
        raise NotFoundError(
            f"model ref {ref!r} is not in the local Hugging Face cache ({type(exc).__name__}); "
            f"run `huggingface-cli download {name}"
            f"{' --revision ' + revision if revision else ''}` where there is network"
        ) from None


# -- verify ------------------------------------------------------------------------------


def problems(store: Store, kept: KeptModel) -> list[str]:
    """What ``verify`` finds wrong with a kept model: files missing or hashing otherwise
    (a pointer's target is not fetched: it may live where this machine cannot reach)."""
    if kept.kind == "reference":
        return []
    found = []
    for relative, (size, digest) in kept.manifest.items():
        try:
            payload = store._read_bytes(f"models/{kept.digest}/{relative}")
        except NotFoundError:
            found.append(f"model {kept.digest}: file {relative} is missing")
            continue
        if len(payload) != size or file_digest(payload) != digest:
            found.append(f"model {kept.digest} is damaged: {relative} does not match its digest")
    return found
