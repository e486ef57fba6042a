"""Task evaluation of stored versions: measured once, recorded against the version, read back.

:func:`evaluate` gathers what a task needs from the store (the version's vectors, the
items' labels, a qrels or pairs file, the query vectors), runs it through
:func:`embver.evaluate.run_task`, and records the figures (catalog) and the per-unit
scores behind them (an artifact) under a key over the task, its parameters and a digest
of its data. The same evaluation asked again is read back, not recomputed.
:func:`compare_tasks` gives the paired difference of two versions on one task and
:func:`best_by` the version with the highest figure among those evaluated alike.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.core.recipe import fingerprint
from embver.errors import InvalidInputError, NotFoundError
from embver.evaluate.registry import TASKS, run_task
from embver.evaluate.results import Evaluation, Figure, PairedDifference, paired_difference
from embver.store import evaluations as records

if TYPE_CHECKING:
    from embver.compare.api import Pairing
    from embver.compare.comparison import Comparison
    from embver.store import Store, Version

#: what a task may be given besides the version: a qrels file or mapping, a pairs file or
#: list, and the query vectors as a version of another space (``"queries@1.0.0"``)
Qrels = Mapping[str, Mapping[str, int]]
#: query vectors given directly: (vectors (q, d) float32, their q ids)
QueryVectors = tuple[np.ndarray, Sequence[str]]


@dataclass(frozen=True)
class TaskData:
    """The inputs of one evaluation, resolved, with the digest that names them. The vectors
    are read by :meth:`item_vectors` / :meth:`query_vectors` only when the task runs: a
    recorded evaluation is found by the digest, which needs none of them."""

    version: Version
    ids: list[str]
    rows: np.ndarray | None  # positions of ``ids`` in the version (None: all, in order)
    labels: list[object] | None
    qrels: Qrels | None
    queries: Version | tuple[np.ndarray, list[str]] | None
    pairs: list[tuple[str, str, float]] | None
    digest: str

    def item_vectors(self) -> np.ndarray:
        """The evaluated items' vectors, (len(ids), d) float32."""
        vectors = self.version.vectors()
        return vectors if self.rows is None else vectors[self.rows]

    def query_vectors(self) -> tuple[np.ndarray, list[str]] | None:
        """The query vectors (q, d) and their ids, if the task has queries."""
        if isinstance(self.queries, tuple) or self.queries is None:
            return self.queries
        return self.queries.vectors(), self.queries.ids


def evaluate(
    store: Store,
    ref: str | Version,
    task: str = "knn-accuracy",
    *,
    qrels: str | os.PathLike[str] | Qrels | None = None,
    pairs: str | os.PathLike[str] | Sequence[tuple[str, str, float]] | None = None,
    queries: str | Version | QueryVectors | None = None,
    seed: int = 0,
    refresh: bool = False,
    **params: Any,
) -> Evaluation:
    """Evaluate version ``ref`` on ``task``, recording the result (or reading it back).

    Parameters
    ----------
    task : a built-in task (``embver.evaluate.TASKS``) or one registered with
        :func:`embver.evaluate.register_task`
    qrels : retrieval judgements (TREC, BEIR TSV or JSONL file, or a mapping)
    pairs : scored pairs for ``sts`` (TSV/CSV/JSONL file, or a list)
    queries : the query vectors for ``retrieval``: a version of another space
    refresh : measure again even when the same evaluation is recorded
    params : the task's parameters (``k``, ``folds``, …)
    """
    version = _resolve(store, ref)
    data = task_data(store, version, task, qrels=qrels, pairs=pairs, queries=queries)
    settings = {**params, "seed": seed}
    key = fingerprint({"task": task, "params": settings, "data": data.digest})
    found = None if refresh else records.find(store, version, key)
    if found is not None:
        return from_record(found, records.scores(store, found))
    result = run_task(
        task, data.item_vectors(), data.ids, labels=data.labels, qrels=data.qrels,
        queries=data.query_vectors(), pairs=data.pairs, seed=seed, **params,
    )  # fmt: skip
    records.record(
        store, version, task=task, key=key, params=settings, data_digest=data.digest,
        figures=[f.to_dict() for f in result.figures], scores=scores_bytes(result),
    )  # fmt: skip
    return result


def _resolve(store: Store, ref: str | Version) -> Version:
    return ref if not isinstance(ref, str) else store.get(ref)


def task_data(
    store: Store,
    version: Version,
    task: str,
    *,
    qrels: str | os.PathLike[str] | Qrels | None = None,
    pairs: str | os.PathLike[str] | Sequence[tuple[str, str, float]] | None = None,
    queries: str | Version | QueryVectors | None = None,
) -> TaskData:
    """The inputs ``task`` reads for ``version``, checked, with their digest.

    Labels come from the items (those without a label are left out of label tasks);
    qrels and pairs files are read; query vectors come from the version ``queries``.
    """
    if task not in TASKS:
        raise InvalidInputError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    ids = version.ids
    rows = None
    needs = TASKS[task].needs
    labels = _labels(store, version, ids) if "labels" in needs else None
    if labels is not None:
        rows = np.array([i for i, label in enumerate(labels) if label is not None], np.int64)
        ids = [ids[i] for i in rows]
        labels = [labels[i] for i in rows]
    judged = _qrels(qrels) if qrels is not None else None
    scored = _pairs(pairs) if pairs is not None else None
    query_data = _queries(store, queries) if queries is not None else None
    digest = fingerprint(
        {
            "items": fingerprint(ids),
            "labels": fingerprint(labels) if labels is not None else None,
            "qrels": fingerprint(judged) if judged is not None else None,
            "pairs": fingerprint(scored) if scored is not None else None,
            "queries": query_data[1] if query_data is not None else None,
        }
    )
    return TaskData(
        version=version, ids=ids, rows=rows, labels=labels, qrels=judged,
        queries=query_data[0] if query_data is not None else None, pairs=scored, digest=digest,
    )  # fmt: skip


def _labels(store: Store, version: Version, ids: list[str]) -> list[object] | None:
    items = store.items(version.space, ids=ids)
    if "label" not in items.columns:
        return None
    by_id = dict(zip(items["id"], items["label"], strict=True))
    labels = [_label(by_id.get(i)) for i in ids]
    return labels if any(label is not None for label in labels) else None


def _label(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


def _qrels(qrels: str | os.PathLike[str] | Qrels) -> dict[str, dict[str, int]]:
    from embver.evaluate.retrieval import read_qrels

    if isinstance(qrels, (str, os.PathLike)):
        return read_qrels(qrels)
    return {str(q): {str(i): int(g) for i, g in judged.items()} for q, judged in qrels.items()}


def _pairs(
    pairs: str | os.PathLike[str] | Sequence[tuple[str, str, float]],
) -> list[tuple[str, str, float]]:
    from embver.evaluate.similarity import read_pairs

    if isinstance(pairs, (str, os.PathLike)):
        return read_pairs(pairs)
    return [(str(a), str(b), float(score)) for a, b, score in pairs]


def _queries(
    store: Store, queries: str | Version | QueryVectors
) -> tuple[Version | tuple[np.ndarray, list[str]], str]:
    """The queries (their version, or vectors (q, d) with ids) and a digest of them (a
    version's content hash: its vectors are read only if the task runs)."""
    if isinstance(queries, tuple):
        import hashlib

        vectors = np.ascontiguousarray(queries[0], dtype=np.float32)
        ids = [str(i) for i in queries[1]]
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise InvalidInputError(
                f"queries: {vectors.shape} vectors for {len(ids)} ids; give (vectors (q, d), q ids)"
            )
        return (vectors, ids), hashlib.sha256(vectors.tobytes()).hexdigest()[:24] + fingerprint(ids)
    if isinstance(queries, str) and "@" not in queries:
        raise InvalidInputError(
            f"queries={queries!r}: give the version holding the query vectors, "
            "e.g. 'my-queries@1.0.0', or a file of query texts (id, text) when the "
            "version keeps its model"
        )
    version = _resolve(store, queries)
    return version, version.content_hash


# -- recorded evaluations ---------------------------------------------------------------
def scores_bytes(evaluation: Evaluation) -> bytes:
    """The per-unit arrays of every figure of ``evaluation`` as one ``.npz``."""
    arrays: dict[str, np.ndarray] = {}
    for index, figure in enumerate(evaluation.figures):
        arrays[f"{index}.per_unit"] = np.asarray(figure.per_unit, dtype=np.float64)
        arrays[f"{index}.unit_ids"] = np.asarray(figure.unit_ids, dtype=np.str_)
        for column, values in enumerate(figure.columns):
            arrays[f"{index}.column.{column}"] = np.asarray(values)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def from_record(record: records.EvaluationRecord, scores: bytes | None) -> Evaluation:
    """The :class:`Evaluation` a record holds, its per-unit scores read back from ``scores``."""
    arrays: Mapping[str, np.ndarray] = {}
    if scores is not None:
        with np.load(io.BytesIO(scores), allow_pickle=False) as loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    figures = []
    for index, data in enumerate(record.figures):
        columns: list[np.ndarray] = []
        while f"{index}.column.{len(columns)}" in arrays:
            columns.append(arrays[f"{index}.column.{len(columns)}"])
        figures.append(
            Figure(
                task=data["task"],
                name=data["name"],
                value=float(data["value"]),
                low=float(data["low"]),
                high=float(data["high"]),
                chance=float(data["chance"]),
                units=int(data["units"]),
                per_unit=arrays.get(f"{index}.per_unit", np.empty(0)),
                unit_ids=tuple(str(i) for i in arrays.get(f"{index}.unit_ids", ())),
                params=dict(data.get("params", {})),
                aggregate=data.get("aggregate", "mean"),
                columns=tuple(columns),
                unit_kind=data.get("unit_kind", "items"),
            )
        )
    params = {k: v for k, v in record.params.items() if k != "seed"}
    return Evaluation(task=record.task, params=params, figures=tuple(figures))


def evaluations(store: Store, ref: str | Version) -> list[Evaluation]:
    """Every evaluation recorded for version ``ref``, oldest first."""
    version = _resolve(store, ref)
    return [from_record(r, records.scores(store, r)) for r in records.of_versions(store, [version])]


def compare_tasks(
    store: Store, a: str | Version, b: str | Version, task: str = "knn-accuracy", **options: Any
) -> list[PairedDifference]:
    """B − A on every figure of ``task`` (each evaluated, or read back, with ``options``),
    paired over the units both versions hold."""
    return pair_figures(evaluate(store, a, task, **options), evaluate(store, b, task, **options))


def pair_figures(first: Evaluation, second: Evaluation) -> list[PairedDifference]:
    """B − A on every figure with per-unit scores that both evaluations of one task hold."""
    return [paired_difference(fa, second.figure(fa.name)) for fa in first.figures if fa.units]


def best_by(store: Store, space: str, task: str) -> tuple[Version, dict[str, Any]]:
    """The version of ``space`` with the highest ``task`` figure among those evaluated with
    the same task, parameters and data as the newest such evaluation; and the figures."""
    versions = store.versions(space)
    found = [r for r in records.of_versions(store, versions) if r.task == task]
    if not found:
        raise NotFoundError(
            f"no version of {space!r} has been evaluated on {task!r}; "
            f"run `embver eval {space}@<version> --task {task}` on the candidates first"
        )
    alike = [r for r in found if r.key == found[-1].key]
    by_id = {v.id: v for v in versions}
    scored = {r.version_id: (r.figure(task) or r.figures[0])["value"] for r in alike}
    winner = max(scored, key=lambda version_id: (scored[version_id], version_id))
    figures = {by_id[i].ref: round(float(value), 4) for i, value in scored.items()}
    return by_id[winner], {"task": task, "figures": figures, "candidates": len(scored)}


def patch_task(
    store: Store,
    old: np.ndarray,
    new: np.ndarray,
    *,
    space: str,
    ids: Sequence[str],
    task: str,
) -> dict[str, Any]:
    """The default task measured on a PATCH's shared items before it is registered:
    parent (``old`` (n, d)) and child (``new`` (n, d)) on the same ``ids``, the paired
    difference of the main figure, and, in strict mode with ``eval.max_loss`` set, a
    VerdictError when the child loses more than that (nothing is registered then)."""
    from embver.errors import VerdictError

    if task not in TASKS or TASKS[task].needs != ("labels",):
        return {"task": task, "skipped": "eval.default must be a task of the items' labels"}
    items = store.items(space, ids=list(ids))
    by_id = dict(zip(items["id"], items["label"], strict=True)) if "label" in items else {}
    labels = [_label(by_id.get(i)) for i in ids]
    keep = [i for i, label in enumerate(labels) if label is not None]
    if len(keep) < 20:
        return {"task": task, "skipped": f"{len(keep)} shared items have labels (20 needed)"}
    shared = [ids[i] for i in keep]
    given = [labels[i] for i in keep]
    parent = run_task(task, old[keep], shared, labels=given).headline
    child = run_task(task, new[keep], shared, labels=given).headline
    difference = paired_difference(parent, child)
    measured = {**difference.to_dict(), "parent": parent.value, "child": child.value}
    max_loss = store.setting("eval.max_loss")
    strict = bool(store.setting("strict")) and isinstance(max_loss, (int, float))
    if strict and difference.difference < -float(max_loss or 0):
        raise VerdictError(
            f"strict mode: this PATCH of {space} loses {-difference.difference:.3f} on "
            f"{difference.name} ({parent.value:.3f} -> {child.value:.3f}), more than "
            f"eval.max_loss={max_loss}; so it was refused. Register it as a MINOR, or "
            "`embver config eval.max_loss` to allow more"
        )
    return measured


def by_label(
    store: Store, a: str | Version, b: str | Version, k: int = 10, pairing: Pairing | None = None
) -> list[dict[str, Any]]:
    """Versions ``a`` and ``b`` compared per label of their shared items: count, label
    purity in each (and its change), the share of neighbours kept, and the purity chance
    level ``(count - 1) / (n - 1)``; the label that lost most first. Empty when the items
    have no labels or too few to hold ``k`` neighbours."""
    from embver.compare.api import shared_vectors
    from embver.evaluate.labels import per_label

    pairing = pairing or shared_vectors(store, a, b)
    labels = _labels(store, pairing.old, list(pairing.ids))
    if labels is None:
        return []
    keep = [i for i, label in enumerate(labels) if label is not None]
    if len(keep) < k + 2:
        return []
    ids = [pairing.ids[i] for i in keep]
    rows = per_label(
        pairing.x[keep], pairing.y[keep], ids, [str(labels[i]) for i in keep], k=k,
        metric=pairing.old.metric,
    )  # fmt: skip
    n = len(ids)
    return [{**r.to_dict(), "k": k, "chance": (r.count - 1) / (n - 1)} for r in rows]


def compare_with_labels(
    store: Store, a: str | Version, b: str | Version, **options: Any
) -> Comparison:
    """:func:`embver.compare.api.compare` of ``a`` and ``b``, broken down by label when
    the items have labels (:func:`by_label` at the smallest k): what ``embver compare``, the
    report and the UI show."""
    from embver.compare.api import compare, shared_vectors

    pairing = shared_vectors(store, a, b)  # read once, for the comparison and per label
    report = compare(store, a, b, pairing=pairing, **options)
    report.by_label = by_label(store, a, b, min(report.ks), pairing) if report.ks else []
    report.tasks = recorded_differences(store, _resolve(store, a), _resolve(store, b))
    return report


def recorded_differences(store: Store, va: Version, vb: Version) -> list[dict[str, Any]]:
    """The recorded task figures of B (``embver eval``) beside A's where A was evaluated
    alike (same task, parameters and data), with B − A and its paired 95 % interval."""
    of_a = {r.key: r for r in records.of_versions(store, [va])}
    rows = []
    for record in records.of_versions(store, [vb]):
        evaluation = from_record(record, records.scores(store, record))
        twin = of_a.get(record.key)
        other = from_record(twin, records.scores(store, twin)) if twin else None
        paired = {d.name: d for d in pair_figures(other, evaluation)} if other else {}
        for figure in evaluation.figures:
            before = other.figure(figure.name) if other else None
            difference = paired.get(figure.name)
            rows.append(
                {
                    "task": evaluation.task, "name": figure.name, "chance": figure.chance,
                    "a": before.value if before else None, "b": figure.value,
                    "difference": difference.to_dict() if difference else None,
                    "sentence": difference.sentence(va.ref, vb.ref) if difference else "",
                }
            )  # fmt: skip
    return rows
