"""Task evaluations recorded against versions: what was measured, on which data, with what.

A record is the task's name, its parameters, the digest of the data it was measured on
(labels, qrels, pairs), the figures as JSON, and the key of an ``eval-scores`` artifact
holding the per-item or per-query scores behind them (so two versions can be compared
pairwise later without recomputing either). The store keeps records; it measures nothing
(:mod:`embver.evaluate` does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.store import schema
from embver.store.actor import default_actor
from embver.store.catalog import write_transaction

if TYPE_CHECKING:
    from embver.store.store import Store
    from embver.store.version import Version

#: the artifact kind of the per-unit scores behind a record's figures
SCORES_KIND = "eval-scores"


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation of one version, as the catalog keeps it."""

    version_id: int
    task: str
    key: str
    params: dict[str, Any]
    data_digest: str
    figures: list[dict[str, Any]]
    scores_key: str | None
    created_at: dt.datetime
    author: str | None

    def figure(self, name: str) -> dict[str, Any] | None:
        """The recorded figure called ``name``, if this evaluation has one."""
        return next((f for f in self.figures if f.get("name") == name), None)


def _record(row: sa.RowMapping) -> EvaluationRecord:
    return EvaluationRecord(
        version_id=int(row["version_id"]),
        task=str(row["task"]),
        key=str(row["key"]),
        params=dict(row["params"]),
        data_digest=str(row["data_digest"]),
        figures=list(row["figures"]),
        scores_key=row["scores_key"],
        created_at=row["created_at"],
        author=row["author"],
    )


def find(store: Store, version: Version, key: str) -> EvaluationRecord | None:
    """The evaluation of ``version`` recorded under ``key``, if there is one."""
    e = schema.evaluations
    query = sa.select(e).where(e.c.version_id == version.id, e.c.key == key)
    with store.engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return None if row is None else _record(row)


def of_versions(store: Store, versions: Sequence[Version]) -> list[EvaluationRecord]:
    """Every evaluation recorded for ``versions``, oldest first."""
    if not versions:
        return []
    e = schema.evaluations
    query = sa.select(e).where(e.c.version_id.in_([v.id for v in versions])).order_by(e.c.id)
    with store.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [_record(row) for row in rows]


def headlines(
    store: Store, versions: Sequence[Version], task: str | None = None
) -> dict[int, dict[str, Any]]:
    """Per version id, the main figure of its newest evaluation (on ``task``, or on any)."""
    latest: dict[int, EvaluationRecord] = {}
    for found in of_versions(store, versions):
        if task is None or found.task == task:
            latest[found.version_id] = found
    return {i: r.figure(r.task) or r.figures[0] for i, r in latest.items() if r.figures}


def record(
    store: Store,
    version: Version,
    *,
    task: str,
    key: str,
    params: Mapping[str, Any],
    data_digest: str,
    figures: Sequence[Mapping[str, Any]],
    scores: bytes | None,
    author: str | None = None,
) -> EvaluationRecord:
    """Record an evaluation of ``version``: the scores artifact first, then the catalog row.

    Recording the same ``key`` twice keeps the first record (a concurrent writer that
    measured the same thing wrote the same figures).
    """
    scores_key = None
    if scores is not None:
        scores_key = f"{version.id}-{key}"
        if store.artifacts.get(SCORES_KIND, scores_key) is None:
            store.artifacts.put(
                SCORES_KIND, scores_key, scores, meta={"task": task}, versions=(version.id,)
            )
    values = {
        "version_id": version.id,
        "task": task,
        "key": key,
        "params": dict(params),
        "data_digest": data_digest,
        "figures": [dict(f) for f in figures],
        "scores_key": scores_key,
        "created_at": dt.datetime.now(dt.timezone.utc),
        "author": author or default_actor(),
    }
    e = schema.evaluations
    with write_transaction(store.engine) as connection:
        exists = connection.execute(
            sa.select(e.c.id).where(e.c.version_id == version.id, e.c.key == key)
        ).first()
        if exists is None:
            connection.execute(e.insert().values(**values))
    found = find(store, version, key)
    assert found is not None
    return found


def scores(store: Store, evaluation: EvaluationRecord) -> bytes | None:
    """The per-unit scores artifact's bytes (checked against its hash), if it was kept."""
    if evaluation.scores_key is None:
        return None
    artifact = store.artifacts.get(SCORES_KIND, evaluation.scores_key)
    return None if artifact is None else artifact.payload
