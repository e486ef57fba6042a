"""``embver migrate URL --to REF``: move an index to another version by what embver knows.

The plan follows the PATCH verdict recorded between the index's version and ``REF``:

- ``drop-in``: upsert the new rows in place, batch by batch (the versions are compatible,
  so readers may see both while it runs);
- ``adapter``: keep the index; record the fitted query map (new version -> the index's)
  for clients to apply (``embver serve``'s ``target``, or ``embver.map_queries``); with
  ``background_reindex`` the breaking path runs afterwards;
- ``breaking`` (and any MINOR/MAJOR move): backfill a shadow physical table, verify its
  count and hashes, switch readers to it (atomically where the backend can), and keep the
  old table for ``rollback``.

Every step is journalled first, so a killed run leaves readers on a complete table and
the next run continues.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from embver.errors import IndexTargetError
from embver.index import journal
from embver.index.base import Target, open_target
from embver.index.publish import held_versions, refuse_foreign
from embver.index.rows import Progress, backfill, verify

if TYPE_CHECKING:
    from embver.store.store import Store
    from embver.store.version import Version

DROP_IN, ADAPTER, BREAKING = "drop-in", "adapter", "breaking"
#: rows per second assumed for a downtime estimate before any run was measured
DEFAULT_RATE = 10_000.0


@dataclass
class MigrationPlan:
    """What a migration does (or did): the path, why, and the steps as sentences."""

    url: str
    source: str
    target: str
    path: str
    reason: str
    steps: list[str]
    atomic: bool
    switch_note: str
    estimate_s: float
    executed: bool = False
    table: str | None = None
    old_table: str | None = None
    written: int = 0
    query_map: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "from": self.source,
            "to": self.target,
            "path": self.path,
            "reason": self.reason,
            "steps": self.steps,
            "atomic_switch": self.atomic,
            "switch_note": self.switch_note,
            "estimate_s": round(self.estimate_s, 1),
            "executed": self.executed,
            "table": self.table,
            "old_table": self.old_table,
            "written": self.written,
            "query_map": self.query_map,
            "notes": self.notes,
        }


def decide_path(store: Store, source: Version, target: Version) -> tuple[str, str]:
    """The migration path from ``source`` to ``target`` and why, by the recorded verdict."""
    from embver.core.bump import Bump

    if source.space != target.space:
        return BREAKING, f"{target.ref} is another space than {source.ref}"
    if target.parent_id == source.id and target.bump == Bump.PATCH and target.verdict:
        label = str(target.verdict["label"])
        return label, f"{target.ref} is a PATCH of {source.ref}, recorded verdict {label}"
    same_family = (target.number.major, target.number.minor) == (
        source.number.major,
        source.number.minor,
    )
    if same_family and source.dim == target.dim and source.metric == target.metric:
        return _measured_verdict(store, source, target)
    return BREAKING, (
        f"{source.ref} -> {target.ref} is a MINOR/MAJOR move (new meaning of the dimensions)"
    )


#: artifact kind of a verdict measured for a migration between non-adjacent PATCHes
MEASURED_KIND = "index-verdict"


def _measured_verdict(store: Store, source: Version, target: Version) -> tuple[str, str]:
    """The PATCH verdict between two versions of one family, measured once and kept."""
    key = f"{source.id}->{target.id}"
    kept = store.artifacts.get(MEASURED_KIND, key)
    if kept is not None:
        label = str(kept.meta["label"])
    else:
        from embver.compare.api import shared_vectors
        from embver.compare.verdict import patch_verdict

        pairing = shared_vectors(store, source, target)
        label = patch_verdict(pairing.x, pairing.y, source.metric, seed=0).label
        store.artifacts.put(
            MEASURED_KIND, key, meta={"label": label}, versions=(source.id, target.id)
        )
    return label, f"{source.ref} -> {target.ref}: PATCHes apart, measured verdict {label}"


def _current_version(store: Store, target: Target, table: str) -> Version:
    held = held_versions(target, table)
    if len(held) != 1:
        shown = ", ".join(f"{ref} ({n})" for ref, n in sorted(held.items())) or "no rows"
        raise IndexTargetError(
            f"{target.url}: readers see {shown}, not one version; publish one with "
            "`embver publish REF --to URL --replace` first"
        )
    return store.get(next(iter(held)))


def _estimate(store: Store, url: str, rows: int) -> float:
    done = [j for j in journal.jobs(store, url, status=journal.DONE) if j.plan.get("rows_per_s")]
    rate = float(done[0].plan["rows_per_s"]) if done else DEFAULT_RATE
    return rows / rate


def plan_migration(
    store: Store, target: Target, url: str, to: Version, background_reindex: bool = False
) -> tuple[MigrationPlan, Version, str]:
    """The plan (nothing changed), the index's version and the table readers see."""
    table = target.reader_table()
    if table is None:
        raise IndexTargetError(
            f"{target.url}: nothing is published there; run `embver publish {to.ref} --to {url}`"
        )
    source = _current_version(store, target, table)
    path, reason = decide_path(store, source, to)
    estimate = _estimate(store, url, to.count)
    steps = _steps(path, source, to, target, estimate, background_reindex)
    plan = MigrationPlan(
        str(target.url), source.ref, to.ref, path, reason, steps,
        target.atomic_switch, target.switch_note, estimate,
    )  # fmt: skip
    return plan, source, table


def _steps(
    path: str, source: Version, to: Version, target: Target, estimate: float, background: bool
) -> list[str]:
    if path == DROP_IN:
        return [
            f"upsert {to.count} rows of {to.ref} in place, batch by batch (~{estimate:.0f} s); "
            f"readers see {source.ref} and {to.ref} rows side by side meanwhile (compatible)",
            "verify every row's hash against the store",
        ]
    steps = []
    if path == ADAPTER:
        steps.append(
            f"keep the index on {source.ref}; record the fitted query map {to.ref} -> "
            f"{source.ref} for clients to apply to queries embedded with {to.ref}"
        )
        if not background:
            return steps
    shadow = target.next_table()
    steps += [
        f"build shadow table {shadow} with {to.count} rows of {to.ref} (~{estimate:.0f} s); "
        f"readers keep {source.ref} meanwhile",
        "verify its row count and every row's hash against the store",
        f"switch readers to {shadow}: {target.switch_note}",
        f"keep the old table for `embver migrate {target.url} --rollback`",
    ]
    if not target.atomic_switch:
        steps.insert(0, f"NOT ATOMIC on {target.scheme}: needs --allow-downtime")
    return steps


def migrate_index(
    store: Store,
    url: str,
    to: Version | None,
    *,
    dry_run: bool = False,
    allow_downtime: bool = False,
    rollback: bool = False,
    background_reindex: bool = False,
    batch: int = 10_000,
    progress: Progress | None = None,
) -> MigrationPlan:
    """Plan and (unless ``dry_run``) run the migration of ``url`` to ``to`` (module docstring)."""
    with open_target(url) as target:
        refuse_foreign(target)
        if rollback:
            return _rollback(store, target, url, dry_run, allow_downtime)
        if to is None:
            raise IndexTargetError("migrate needs --to REF (or --rollback)")
        job = journal.running(store, url)
        if job is not None and job.kind == "migrate" and job.target_ref == to.ref:
            return _resume(store, target, url, to, job, batch, progress)
        if job is not None:
            raise IndexTargetError(
                f"{job.url}: an interrupted {job.kind} to {job.target_ref} is unfinished; "
                "rerun it first"
            )
        plan, source, table = plan_migration(store, target, url, to, background_reindex)
        if source.id == to.id:
            plan.steps = [f"the index already holds {to.ref}: nothing to do"]
            plan.path = "none"
            return plan
        reindex = plan.path == BREAKING or (plan.path == ADAPTER and background_reindex)
        if reindex and not target.atomic_switch and not allow_downtime:
            if dry_run:
                plan.notes.append(_downtime_note(target, plan))
                return plan
            raise IndexTargetError(
                f"{target.url}: {target.scheme} cannot switch readers atomically "
                f"({target.switch_note}); pass --allow-downtime to accept that"
            )
        if dry_run:
            return plan
        fields = _published_fields(store, url)
        if plan.path == ADAPTER:
            plan.query_map = _record_query_map(store, source, to)
            if not background_reindex:
                job = journal.start(
                    store, url, target.reader, "migrate", source_ref=source.ref,
                    target_ref=to.ref, physical_table=table,
                    plan={"path": ADAPTER, "query_map": plan.query_map, "fields": fields},
                )  # fmt: skip
                journal.update(store, job, step="recorded", status=journal.DONE)
                plan.executed, plan.table = True, table
                return plan
        in_place = plan.path == DROP_IN
        job = journal.start(
            store, url, target.reader, "migrate", source_ref=source.ref, target_ref=to.ref,
            physical_table=table if in_place else target.next_table(),
            old_table=None if in_place else table,
            plan={"path": plan.path, "fields": fields, "query_map": plan.query_map},
        )  # fmt: skip
        return _run(store, target, to, job, plan, batch, progress)


def _downtime_note(target: Target, plan: MigrationPlan) -> str:
    return (
        f"{target.scheme} has no atomic switch: {target.switch_note}; the switch itself is "
        f"short, the backfill before it ~{plan.estimate_s:.0f} s (readers keep the old "
        "index during the backfill); rerun with --allow-downtime"
    )


def _published_fields(store: Store, url: str) -> list[str]:
    for job in journal.jobs(store, url):
        if "fields" in job.plan:
            return list(job.plan["fields"])
    return []


def _record_query_map(store: Store, source: Version, to: Version) -> dict[str, Any]:
    """The stored adapter ``to`` -> ``source`` (fitted when missing), as the journal keeps it."""
    from embver.compare.api import adapter, fit_adapter
    from embver.errors import NotFoundError

    try:
        fitted = adapter(store, to, source)
    except NotFoundError:
        # the kind the verdict found best (fitting every kind, the MLP included, is slow)
        best = ((to.verdict or {}).get("figures") or {}).get("best_map") or {}
        fitted = fit_adapter(store, to, source, kind=best.get("kind"))
    return {
        **fitted.to_dict(),
        "apply": (
            f"embed queries with {to.ref}, then map them: "
            f"embver.map_queries(vectors, {to.ref!r}, {source.ref!r}), or ask `embver serve` "
            f"for model={to.ref!r} with target={source.ref!r}"
        ),
    }


def _resume(
    store: Store,
    target: Target,
    url: str,
    to: Version,
    job: journal.Job,
    batch: int,
    progress: Progress | None,
) -> MigrationPlan:
    source = store.get(job.source_ref) if job.source_ref else to
    path = str(job.plan.get("path", BREAKING))
    plan = MigrationPlan(
        str(target.url), source.ref, to.ref, path, f"resuming job {job.id} at step {job.step}",
        [f"continue the interrupted {path} migration (job {job.id}, step {job.step})"],
        target.atomic_switch, target.switch_note, _estimate(store, url, to.count),
        query_map=job.plan.get("query_map"),
    )  # fmt: skip
    return _run(store, target, to, job, plan, batch, progress)


def _run(
    store: Store,
    target: Target,
    to: Version,
    job: journal.Job,
    plan: MigrationPlan,
    batch: int,
    progress: Progress | None,
) -> MigrationPlan:
    """Backfill the job's table, verify it, switch when it is a shadow; journalled."""
    table = job.physical_table
    assert table is not None
    fields = list(job.plan.get("fields", []))
    target.create(table, to.dim, fields, to.metric)
    started = time.perf_counter()
    job, written = backfill(
        store, to, target, table, job, batch_size=batch, fields=fields, progress=progress
    )
    rate = written / max(time.perf_counter() - started, 1e-6)
    verify(target, table, to, hashes=True, batch_size=batch)
    job = journal.update(store, job, step="verified")
    if job.old_table is not None and target.reader_table() != table:
        target.switch(table)
    journal.update(
        store, job, step="switched", status=journal.DONE,
        plan={**job.plan, "rows_per_s": rate if written else None},
    )  # fmt: skip
    plan.executed, plan.table, plan.old_table, plan.written = True, table, job.old_table, written
    return plan


def _rollback(
    store: Store, target: Target, url: str, dry_run: bool, allow_downtime: bool
) -> MigrationPlan:
    last = next((j for j in journal.jobs(store, url, status=journal.DONE) if j.old_table), None)
    if last is None or last.old_table is None:
        raise IndexTargetError(
            f"{target.url}: no switch to roll back (in-place and adapter migrations keep "
            "the table readers see)"
        )
    if last.old_table not in target.tables():
        raise IndexTargetError(f"{target.url}: the old table {last.old_table} is gone")
    if not target.atomic_switch and not allow_downtime:
        raise IndexTargetError(
            f"{target.url}: {target.scheme} cannot switch readers atomically "
            f"({target.switch_note}); pass --allow-downtime to accept that"
        )
    plan = MigrationPlan(
        str(target.url), last.target_ref, last.source_ref or "?", "rollback",
        f"undo job {last.id} ({last.kind} to {last.target_ref})",
        [f"switch readers back to {last.old_table}: {target.switch_note}"],
        target.atomic_switch, target.switch_note, 0.0,
        table=last.old_table, old_table=last.physical_table,
    )  # fmt: skip
    if dry_run:
        return plan
    target.switch(last.old_table)
    journal.update(store, last, status=journal.ROLLED_BACK)
    plan.executed = True
    return plan
