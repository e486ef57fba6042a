"""Tasks by name: the built-ins, tasks users register, and :func:`run_task` to run one.

A registered task is ``fn(vectors, ids, inputs, **params)`` with ``inputs`` a
:class:`TaskInputs`; it returns an :class:`Evaluation` or ``{name: value}``
(wrapped into figures with no interval, chance or units: NaN, NaN, 0).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from embver.errors import InvalidInputError
from embver.evaluate.labels import cluster_agreement, knn_accuracy, label_purity, linear_probe
from embver.evaluate.results import Evaluation, Figure
from embver.evaluate.retrieval import retrieval
from embver.evaluate.similarity import Pair, sts


@dataclass(frozen=True)
class TaskInputs:
    """What a task may read besides the vectors; ``queries`` is (vectors (q, d), ids (q,))."""

    labels: Sequence[object] | None = None
    qrels: Mapping[str, Mapping[str, int]] | None = None
    queries: tuple[np.ndarray, Sequence[str]] | None = None
    pairs: Sequence[Pair] | None = None


TaskFunction = Callable[..., "Evaluation | Mapping[str, float]"]


@dataclass(frozen=True)
class Task:
    """A task's name, its function and the inputs it needs (``needs``, names of TaskInputs)."""

    name: str
    run: TaskFunction
    needs: tuple[str, ...]
    parameters: tuple[str, ...]  # keyword parameters run_task accepts; () = any


def _labelled(fn: Callable[..., Evaluation]) -> TaskFunction:
    def run(
        vectors: np.ndarray, ids: Sequence[str], inputs: TaskInputs, **params: Any
    ) -> Evaluation:
        assert inputs.labels is not None
        return fn(vectors, ids, inputs.labels, **params)

    return run


def _retrieval(
    vectors: np.ndarray, ids: Sequence[str], inputs: TaskInputs, **params: Any
) -> Evaluation:
    assert inputs.queries is not None and inputs.qrels is not None
    query_vectors, query_ids = inputs.queries
    return retrieval(vectors, ids, query_vectors, query_ids, inputs.qrels, **params)


def _sts(vectors: np.ndarray, ids: Sequence[str], inputs: TaskInputs, **params: Any) -> Evaluation:
    assert inputs.pairs is not None
    return sts(vectors, ids, inputs.pairs, **params)


def _parameters(fn: Callable[..., Evaluation], data: int) -> tuple[str, ...]:
    """Names of ``fn``'s parameters after its first ``data`` (the inputs)."""
    return tuple(inspect.signature(fn).parameters)[data:]


def _builtins() -> dict[str, Task]:
    labelled: dict[str, Callable[..., Evaluation]] = {
        "knn-accuracy": knn_accuracy,
        "label-purity": label_purity,
        "cluster-agreement": cluster_agreement,
        "linear-probe": linear_probe,
    }
    tasks = {
        name: Task(name, _labelled(fn), ("labels",), _parameters(fn, 3))
        for name, fn in labelled.items()
    }
    tasks["retrieval"] = Task(
        "retrieval", _retrieval, ("qrels", "queries"), _parameters(retrieval, 5)
    )
    tasks["sts"] = Task("sts", _sts, ("pairs",), _parameters(sts, 3))
    return tasks


_REGISTRY: dict[str, Task] = _builtins()
BUILTIN_TASKS: Final = tuple(_REGISTRY)
#: every task by name, built-ins first; a read-only view that register_task extends
TASKS: Mapping[str, Task] = MappingProxyType(_REGISTRY)


def register_task(name: str, fn: TaskFunction, *, needs: Sequence[str] = ()) -> Task:
    """Register ``fn(vectors, ids, inputs, **params)`` as task ``name``.

    ``needs`` names the :class:`TaskInputs` fields it cannot run without.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"task name {name!r} must be a non-empty string")
    if name in _REGISTRY:
        raise InvalidInputError(f"task {name!r} is already registered; choose another name")
    if not callable(fn):
        raise InvalidInputError(f"task {name!r}: fn={fn!r} is not callable; pass a function")
    unknown = [n for n in needs if n not in TaskInputs.__dataclass_fields__]
    if unknown:
        fields = ", ".join(TaskInputs.__dataclass_fields__)
        raise InvalidInputError(f"task {name!r} needs unknown inputs {unknown}; use: {fields}")
    task = Task(name, fn, tuple(needs), ())
    _REGISTRY[name] = task
    return task


def run_task(
    name: str,
    vectors: np.ndarray,
    ids: Sequence[str],
    *,
    labels: Sequence[object] | None = None,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    queries: tuple[np.ndarray, Sequence[str]] | None = None,
    pairs: Sequence[Pair] | None = None,
    **params: Any,
) -> Evaluation:
    """Run task ``name`` on ``vectors`` (n, d) with ``ids`` (n,) and the inputs it needs."""
    task = _REGISTRY.get(name)
    if task is None:
        raise InvalidInputError(f"unknown task {name!r}; choose one of: {', '.join(_REGISTRY)}")
    inputs = TaskInputs(labels=labels, qrels=qrels, queries=queries, pairs=pairs)
    _check_inputs(task, inputs)
    _check_parameters(task, params)
    result = task.run(vectors, ids, inputs, **params)
    if isinstance(result, Evaluation):
        return result
    return _wrapped(name, result, params)


def _check_inputs(task: Task, inputs: TaskInputs) -> None:
    missing = [need for need in task.needs if getattr(inputs, need) is None]
    if not missing:
        return
    others = [t.name for t in _REGISTRY.values() if not set(t.needs) & set(missing)]
    given = " and ".join(missing)
    raise InvalidInputError(
        f"task {task.name!r} needs {given}; register the items with "
        f"{'=…, '.join(missing)}=… or choose {'/'.join(others) or 'another task'}"
    )


def _check_parameters(task: Task, params: Mapping[str, Any]) -> None:
    if not task.parameters:
        return
    unknown = [p for p in params if p not in task.parameters]
    if unknown:
        raise InvalidInputError(
            f"task {task.name!r} has no parameter {unknown[0]!r}; "
            f"its parameters are: {', '.join(task.parameters)}"
        )


def _wrapped(name: str, values: Mapping[str, float], params: dict[str, Any]) -> Evaluation:
    """An Evaluation of plain ``{figure: value}`` from a registered task."""
    if not isinstance(values, Mapping) or not values:
        raise InvalidInputError(
            f"task {name!r} returned {type(values).__name__}; return an Evaluation "
            "or a non-empty {figure name: value} dict"
        )
    nan = float("nan")
    figures = tuple(
        Figure(
            task=name, name=str(key), value=float(value), low=nan, high=nan, chance=nan,
            units=0, per_unit=np.empty(0), unit_ids=(), params=dict(params),
        )
        for key, value in values.items()
    )  # fmt: skip
    return Evaluation(task=name, params=dict(params), figures=figures)
