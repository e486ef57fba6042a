"""The journal of index jobs, kept in the embver store (table ``index_jobs``).

A publish or migration writes its plan and progress here before and after each step, so
a killed run is picked up by the next one and ``migrate --rollback`` knows which table
readers saw before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.index.base import redact
from embver.store import schema
from embver.store.catalog import write_transaction

if TYPE_CHECKING:
    from embver.store.store import Store

RUNNING, DONE, ROLLED_BACK = "running", "done", "rolled-back"


@dataclass(frozen=True)
class Job:
    """One publish or migration of one index URL, as the journal keeps it."""

    id: int
    url: str
    reader: str
    kind: str
    source_ref: str | None
    target_ref: str
    physical_table: str | None
    old_table: str | None
    step: str
    done_count: int
    status: str
    plan: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "kind": self.kind,
            "from": self.source_ref,
            "to": self.target_ref,
            "table": self.physical_table,
            "old_table": self.old_table,
            "step": self.step,
            "done": self.done_count,
            "status": self.status,
            "plan": self.plan,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _job(row: sa.RowMapping) -> Job:
    return Job(
        id=int(row["id"]),
        url=str(row["url"]),
        reader=str(row["reader"]),
        kind=str(row["kind"]),
        source_ref=row["source_ref"],
        target_ref=str(row["target_ref"]),
        physical_table=row["physical_table"],
        old_table=row["old_table"],
        step=str(row["step"]),
        done_count=int(row["done_count"]),
        status=str(row["status"]),
        plan=dict(row["plan"] or {}),
    )


def start(
    store: Store,
    url: str,
    reader: str,
    kind: str,
    *,
    target_ref: str,
    source_ref: str | None = None,
    physical_table: str | None = None,
    old_table: str | None = None,
    plan: dict[str, Any] | None = None,
) -> Job:
    """Record a new running job; returns it."""
    now = _now()
    values = {
        "url": redact(url),
        "reader": reader,
        "kind": kind,
        "source_ref": source_ref,
        "target_ref": target_ref,
        "physical_table": physical_table,
        "old_table": old_table,
        "step": "planned",
        "done_count": 0,
        "plan": plan or {},
        "status": RUNNING,
        "started_at": now,
        "updated_at": now,
    }
    with write_transaction(store.engine) as connection:
        result = connection.execute(sa.insert(schema.index_jobs).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        job_id = int(key[0])
    return _job({"id": job_id, **values})  # type: ignore[arg-type]


def update(store: Store, job: Job, **changes: Any) -> Job:
    """Record ``changes`` (step, done_count, physical_table, old_table, plan, status)."""
    allowed = {"step", "done_count", "physical_table", "old_table", "plan", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"journal.update: unknown fields {sorted(unknown)}")
    j = schema.index_jobs
    with write_transaction(store.engine) as connection:
        connection.execute(
            sa.update(j).where(j.c.id == job.id).values(**changes, updated_at=_now())
        )
    return replace(job, **changes)


def jobs(store: Store, url: str, kind: str | None = None, status: str | None = None) -> list[Job]:
    """The jobs of ``url`` (newest first), of ``kind`` and in ``status`` when given."""
    j = schema.index_jobs
    query = sa.select(j).where(j.c.url == redact(url)).order_by(j.c.id.desc())
    if kind is not None:
        query = query.where(j.c.kind == kind)
    if status is not None:
        query = query.where(j.c.status == status)
    with store.engine.connect() as connection:
        return [_job(row) for row in connection.execute(query).mappings()]


def running(store: Store, url: str) -> Job | None:
    """The unfinished job of ``url``, if a run was interrupted."""
    found = jobs(store, url, status=RUNNING)
    return found[0] if found else None


def last_done(store: Store, url: str, kind: str | None = None) -> Job | None:
    """The newest finished job of ``url`` (of ``kind``)."""
    found = jobs(store, url, kind=kind, status=DONE)
    return found[0] if found else None
