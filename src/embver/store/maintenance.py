"""verify (re-hash everything) and gc (remove data no catalog row references)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.errors import IntegrityError
from embver.store import schema
from embver.store import vectors as vector_data

if TYPE_CHECKING:
    from embver.store.store import Store


@dataclass
class VerifyReport:
    """What ``verify`` checked and what it found wrong."""

    checked: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "corrupt": len(self.problems), "problems": self.problems}


def verify(store: Store) -> VerifyReport:
    """Re-read and re-hash every version's vectors against the catalog."""
    report = VerifyReport()
    for space in store.spaces():
        for version in store.versions(space.name):
            report.checked += 1
            for problem in _version_problems(version):
                report.problems.append({"ref": version.ref, "problem": problem})
    return report


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


def gc(store: Store, grace_seconds: float = 3600.0, dry_run: bool = False) -> GcReport:
    """Remove vector datasets and artifact files that no catalog row references.

    Only local data roots are swept; files younger than ``grace_seconds`` are
    kept because a writer may be about to commit them.
    """
    report = GcReport(dry_run=dry_run)
    root = store.location.data_uri
    if "://" in root or not Path(root).exists():
        return report
    referenced = _referenced(store)
    cutoff = time.time() - grace_seconds
    for candidate in _candidates(Path(root)) + _stray_data_files(store, Path(root)):
        relative = candidate.relative_to(root).as_posix()
        if relative in referenced or candidate.stat().st_mtime > cutoff:
            continue
        report.removed.append(relative)
        if not dry_run:
            _remove(candidate)
    return report


def _referenced(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        data = {row[0] for row in connection.execute(sa.select(schema.versions.c.data_uri))}
        files = {
            row[0]
            for row in connection.execute(sa.select(schema.artifacts.c.data_uri))
            if row[0] is not None
        }
    return data | files


def _candidates(root: Path) -> list[Path]:
    datasets = list(root.glob("spaces/*/versions/*.lance"))
    files = list(root.glob("artifacts/*/*.bin"))
    return datasets + files


def _stray_data_files(store: Store, root: Path) -> list[Path]:
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
    stray = []
    for data_uri, segments in rows:
        recorded = [segment.get("files") for segment in segments or []]
        if not recorded or not all(recorded):
            continue
        kept = set().union(*recorded)
        stray += [p for p in (root / data_uri).glob("data/*.lance") if f"data/{p.name}" not in kept]
    for items in root.glob("spaces/*/items.lance"):
        stray += _unused_by_latest(items)
    return stray


def _unused_by_latest(dataset: Path) -> list[Path]:
    import lance

    try:
        latest = lance.dataset(str(dataset))
    except Exception:  # no committed version yet (a killed first write): the dataset gc keeps
        return []
    used = {file.path for fragment in latest.get_fragments() for file in fragment.data_files()}
    return [p for p in dataset.glob("data/*.lance") if p.name not in used]


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
