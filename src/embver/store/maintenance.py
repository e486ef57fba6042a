"""verify (re-hash everything) and gc (remove data no catalog row references)."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.errors import IntegrityError
from embver.store import items as item_table
from embver.store import models as kept_models
from embver.store import objectstore, schema
from embver.store import vectors as vector_data
from embver.store.artifacts import problems as artifact_problems
from embver.store.catalog import write_transaction

if TYPE_CHECKING:
    from embver.store.store import Store


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found wrong."""

    checked: int = 0
    item_tables: int = 0
    artifacts: int = 0
    models: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "item_tables": self.item_tables,
            "artifacts": self.artifacts,
            "models": self.models,
            "corrupt": len(self.problems),
            "problems": self.problems,
        }


def verify(store: Store) -> VerifyReport:
    """Re-read and re-hash every version's vectors, every space's item table and
    every artifact (projections, fitted maps, composite definitions) and every file of
    every kept model."""
    report = VerifyReport()
    for space in store.spaces():
        for version in store.versions(space.name):
            report.checked += 1
            for problem in _version_problems(version):
                report.problems.append({"ref": version.ref, "problem": problem})
        _check_items(store, space, report)
    for artifact in store.artifacts.all():
        if artifact.content_hash is None:
            continue  # written before artifacts were hashed
        report.artifacts += 1
        for problem in artifact_problems(artifact):
            report.problems.append(
                {"ref": f"artifact {artifact.kind}/{artifact.key}", "problem": problem}
            )
    _check_models(store, report)
    return report


def _check_models(store: Store, report: VerifyReport) -> None:
    """Re-hash every file of every kept model (pointers are not fetched)."""
    for kept in kept_models.all_models(store):
        report.models += 1
        for problem in kept_models.problems(store, kept):
            report.problems.append({"ref": f"model {kept.digest[:12]}", "problem": problem})


def _check_items(store: Store, space: Any, report: VerifyReport) -> None:
    """Re-hash ``space``'s item table, if the catalog records a hashed one."""
    row = store._space_row(space.name)
    state = item_table.ItemState.of(row)
    if state.lance_version is None or state.segments is None:
        return
    report.item_tables += 1
    for problem in item_table.problems(store._items_uri(space.name), state):
        report.problems.append({"ref": f"{space.name} (item table)", "problem": problem})


def _version_problems(version: Any) -> list[str]:
    # Raw file hashes first: a damaged file is reported without being decoded,
    # since Lance may misread it silently, panic, or abort the process on it.
    damaged = vector_data.file_problems(version.data_uri, version.segments)
    if damaged:
        return damaged
    try:
        version.to_arrow()  # re-hashes every segment
    except IntegrityError as exc:
        return [str(exc)]
    problems = []
    if vector_data.content_hash(version.segments) != version.content_hash:
        problems.append("content hash does not match the segment hashes")
    return problems


@dataclass
class GcReport:
    """What ``gc`` removed (or would remove with ``dry_run``)."""

    removed: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "dry_run": self.dry_run}


#: an interrupted ``embver embed`` resumes from its checkpoint folder: kept this long
WORK_GRACE_SECONDS = 7 * 24 * 3600.0


def gc(
    store: Store,
    grace_seconds: float = 3600.0,
    dry_run: bool = False,
    work_grace_seconds: float = WORK_GRACE_SECONDS,
) -> GcReport:
    """Remove vector datasets, artifact files and kept models that no catalog row
    references, and checkpoints of interrupted embedding runs untouched for
    ``work_grace_seconds``.

    Sweeps the data root wherever it is (local disk or object storage); anything
    with a file younger than ``grace_seconds`` is kept because a writer may be
    about to commit it. Checkpoints live in the store folder (``work/embed/``);
    a run that is started again resumes from its checkpoint, so they are kept
    much longer (a week by default).
    """
    report = GcReport(dry_run=dry_run)
    _sweep_work(store, time.time() - work_grace_seconds, report)
    _forget_unused_models(store, time.time() - grace_seconds, report)
    fs, base = objectstore.filesystem(store.location.data_uri)
    listing = _Listing.of(fs, base)
    if not listing.newest:
        return report
    referenced = _referenced(store)
    cutoff = time.time() - grace_seconds
    for relative in listing.candidates() + _stray_data_files(store, listing):
        if relative in referenced or listing.newest[relative] > cutoff:
            continue
        report.removed.append(relative)
        if not dry_run:
            remove = fs.delete_file if relative in listing.files else fs.delete_dir
            remove(f"{base}/{relative}")
    return report


def _forget_unused_models(store: Store, cutoff: float, report: GcReport) -> None:
    """Delete model rows no version names, kept before ``cutoff`` (a younger one may be
    about to be named by the version its writer commits); their files go with the sweep."""
    v, m = schema.versions, schema.models
    used = sa.select(v.c.model_digest).where(v.c.model_digest.is_not(None))
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(m.c.digest, m.c.created_at).where(m.c.digest.not_in(used))
        ).all()
    unused = [digest for digest, created in rows if _timestamp(created) < cutoff]
    report.removed += [f"model {digest}" for digest in unused]
    if unused and not report.dry_run:
        with write_transaction(store.engine) as connection:
            # re-checked inside the write: a version may have named it meanwhile
            connection.execute(m.delete().where(m.c.digest.in_(unused), m.c.digest.not_in(used)))


def _timestamp(moment: Any) -> float:
    import datetime as dt

    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return float(moment.timestamp())


def _sweep_work(store: Store, cutoff: float, report: GcReport) -> None:
    """Checkpoint folders under ``<store>/work/embed/`` whose newest file is older
    than ``cutoff`` (a finished run removes its own)."""
    work = Path(store.location.root) / "work" / "embed"
    if not work.is_dir():
        return
    for folder in sorted(p for p in work.iterdir() if p.is_dir()):
        times = [f.stat().st_mtime for f in folder.rglob("*") if f.is_file()]
        if max(times, default=folder.stat().st_mtime) > cutoff:
            continue
        report.removed.append(f"work/embed/{folder.name}")
        if not report.dry_run:
            shutil.rmtree(folder)


_DATASET = re.compile(r"spaces/[^/]+/versions/[^/]+\.lance")
_ARTIFACT = re.compile(r"artifacts/[^/]+/[^/]+\.bin")
_ITEMS = re.compile(r"spaces/[^/]+/items\.lance")
_MODEL = re.compile(r"models/[0-9a-f]{64}")
_DATA_FILE = re.compile(r"(?P<dataset>.+\.lance)/data/(?P<name>[^/]+\.lance)")


@dataclass
class _Listing:
    """Everything under the data root, listed once.

    ``newest`` maps each file and folder (path relative to the root) to the newest
    modification time at or below it: object stores give folders no time of their
    own, and a dataset is as young as its newest file.
    """

    newest: dict[str, float]
    files: set[str]

    @classmethod
    def of(cls, fs: Any, base: str) -> _Listing:
        import pyarrow.fs as pafs

        newest: dict[str, float] = {}
        files = set()
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        for info in fs.get_file_info(selector):
            relative = info.path[len(base) :].lstrip("/")
            if info.type == pafs.FileType.File:
                files.add(relative)
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            parts = relative.split("/")
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                newest[folder] = max(newest.get(folder, 0.0), mtime)
        return cls(newest, files)

    def candidates(self) -> list[str]:
        """Version datasets, artifact files and model folders: what a catalog row may
        reference."""
        datasets = [path for path in self.newest if _DATASET.fullmatch(path)]
        models = [path for path in self.newest if _MODEL.fullmatch(path)]
        artifacts = [path for path in self.files if _ARTIFACT.fullmatch(path)]
        return sorted(datasets) + sorted(artifacts) + sorted(models)

    def data_files(self) -> dict[str, list[str]]:
        """The names of the files in each dataset's ``data/`` folder, by dataset."""
        found: dict[str, list[str]] = {}
        for path in sorted(self.files):
            match = _DATA_FILE.fullmatch(path)
            if match:
                found.setdefault(match["dataset"], []).append(match["name"])
        return found


def _referenced(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        data = {row[0] for row in connection.execute(sa.select(schema.versions.c.data_uri))}
        files = {
            row[0]
            for row in connection.execute(sa.select(schema.artifacts.c.data_uri))
            if row[0] is not None
        }
        models = {
            f"models/{row[0]}"
            for row in connection.execute(
                sa.select(schema.models.c.digest).where(schema.models.c.ref.is_(None))
            )
        }
    return data | files | models


def _stray_data_files(store: Store, listing: _Listing) -> list[str]:
    """Data files inside live datasets that nothing committed uses.

    A writer killed during an append leaves its data file (and maybe a Lance
    version the catalog never recorded) inside a referenced dataset; a killed
    item-table write does the same in ``items.lance``. A version dataset keeps
    the files its segments recorded; an item table keeps those of its latest
    Lance version. Datasets written before embver recorded files are left alone.
    """
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.select(schema.versions.c.data_uri, schema.versions.c.segments)
        ).all()
    data_files = listing.data_files()
    stray = []
    for data_uri, segments in rows:
        recorded = [segment.get("files") for segment in segments or []]
        if not recorded or not all(recorded):
            continue
        kept = set().union(*recorded)
        names = data_files.get(data_uri, [])
        stray += [f"{data_uri}/data/{name}" for name in names if f"data/{name}" not in kept]
    for items in (path for path in data_files if _ITEMS.fullmatch(path)):
        used = _used_by_latest(store.data_path(items))
        if used is not None:
            stray += [f"{items}/data/{name}" for name in data_files[items] if name not in used]
    return stray


def _used_by_latest(uri: str) -> set[str] | None:
    """Names of the data files the latest version of the dataset at ``uri`` reads."""
    import lance

    try:
        latest = lance.dataset(uri)
    except Exception:  # no committed version yet (a killed first write): the dataset gc keeps
        return None
    return {file.path for fragment in latest.get_fragments() for file in fragment.data_files()}
