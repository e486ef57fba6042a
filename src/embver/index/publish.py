"""``embver publish REF --to URL``: write a version into a downstream index.

Idempotent (rows already there with the same space, version and hash are skipped),
resumable (the journal names the table a killed run was writing) and checked (the row
count must equal the version's). A first publish writes physical table ``n=1`` and only
then points readers at it; ``replace`` builds a new table beside the one readers see and
switches to it, keeping the old one for ``embver migrate URL --rollback``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embver.errors import IndexTargetError
from embver.index import journal
from embver.index.base import Target, open_target
from embver.index.rows import Progress, backfill, check_fields, held_rows, verify, version_label

if TYPE_CHECKING:
    from embver.store.store import Store
    from embver.store.version import Version


@dataclass(frozen=True)
class PublishResult:
    """What a publish did: the table readers now see, rows written, rows skipped."""

    url: str
    ref: str
    table: str
    written: int
    skipped: int
    count: int
    replaced: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ref": self.ref,
            "table": self.table,
            "written": self.written,
            "skipped": self.skipped,
            "count": self.count,
            "replaced": self.replaced,
        }


def refuse_foreign(target: Target) -> None:
    """Raise IndexTargetError when the reader name belongs to something that is not embver."""
    reason = target.foreign()
    if reason is not None:
        raise IndexTargetError(
            f"{target.url}: {reason}; embver leaves it alone — publish to another name"
        )


def held_versions(target: Target, table: str) -> Counter[str]:
    """``space@version`` -> row count in ``table``."""
    return Counter(f"{h.space}@{h.version}" for h in held_rows(target, table).values())


def _choose_table(
    target: Target, version: Version, current: str | None, replace: bool
) -> tuple[str, str | None]:
    """The physical table to write, and the table it replaces (None when written in place)."""
    if current is None:
        return target.next_table(), None
    held = held_versions(target, current)
    mine = f"{version.space}@{version_label(version)}"
    others = {ref: n for ref, n in held.items() if ref != mine}
    if others and not replace:
        shown = ", ".join(f"{ref} ({n} rows)" for ref, n in sorted(others.items()))
        raise IndexTargetError(
            f"{target.url}: the index holds {shown}, not only {version.ref}; pass --replace "
            f"to build a new table and switch readers to it, or run `embver migrate "
            f"{target.url} --to {version.ref}`"
        )
    if others:
        return target.next_table(), current
    target.check_dimension(current, version.dim)
    return current, None


def publish_version(
    store: Store,
    version: Version,
    url: str,
    *,
    batch: int = 10_000,
    with_fields: Sequence[str] = (),
    replace: bool = False,
    progress: Progress | None = None,
) -> PublishResult:
    """Publish ``version`` to the index at ``url`` (see the module docstring)."""
    fields = check_fields(with_fields)
    if batch < 1:
        raise IndexTargetError(f"--batch {batch}: give a positive number of rows")
    with open_target(url) as target:
        refuse_foreign(target)
        current = target.reader_table()
        job = _resumable(store, url, version)
        if job is not None and job.physical_table is not None:
            table, old = job.physical_table, job.old_table
        else:
            table, old = _choose_table(target, version, current, replace)
            job = journal.start(
                store, url, target.reader, "publish", target_ref=version.ref,
                physical_table=table, old_table=old, plan={"fields": list(fields)},
            )  # fmt: skip
        target.create(table, version.dim, fields, version.metric)
        started = time.perf_counter()
        job, written = backfill(
            store, version, target, table, job, batch_size=batch, fields=fields, progress=progress
        )
        rate = written / max(time.perf_counter() - started, 1e-6) if written else None
        verify(target, table, version, hashes=False)
        if table != current:
            target.switch(table)
        journal.update(
            store, job, step="switched", status=journal.DONE, plan={**job.plan, "rows_per_s": rate}
        )
        return PublishResult(
            str(target.url), version.ref, table, written, version.count - written,
            target.count(table), old,
        )  # fmt: skip


def _resumable(store: Store, url: str, version: Version) -> journal.Job | None:
    """The interrupted publish of ``version`` to ``url``; raises if another job is unfinished."""
    job = journal.running(store, url)
    if job is None:
        return None
    if job.kind == "publish" and job.target_ref == version.ref:
        return job
    raise IndexTargetError(
        f"{job.url}: an interrupted {job.kind} to {job.target_ref} is unfinished; rerun "
        f"`embver {'migrate ' + job.url + ' --to' if job.kind == 'migrate' else 'publish'} "
        f"{job.target_ref}{'' if job.kind == 'migrate' else ' --to ' + job.url}` first"
    )
