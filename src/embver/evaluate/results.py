"""What a task evaluation returns: figures with intervals and chance, and paired differences.

A :class:`Figure` keeps its per-unit scores (``per_unit``, one per item, query or
pair) and their ``unit_ids`` so that two versions evaluated on the same units can
be compared pairwise by :func:`paired_difference`. Most figures are the mean of
``per_unit`` (``aggregate="mean"``); a few are not a mean of anything (Spearman,
macro-F1, NMI, ARI), and keep in ``columns`` the per-unit arrays the statistic is
recomputed from on every bootstrap resample:

==========  ===============================  ==========================================
aggregate   columns                          per_unit
==========  ===============================  ==========================================
mean        ()                               the score itself
spearman    (similarity, gold), float64      the pair's similarity
macro-f1    (true code, predicted code)      the item's correctness (mean = accuracy)
nmi, ari    (true code, cluster id)          1 if the item's label is its cluster's
                                             majority label (mean = cluster purity)
==========  ===============================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from embver.compare.stats import BOOTSTRAP_RESAMPLES, bootstrap_mean_interval
from embver.core.display import Part, RichDisplay, Table, Text
from embver.errors import InvalidInputError

#: the level of every interval here
LEVEL: Final = 0.95


def _mean(columns: Sequence[np.ndarray]) -> float:
    return float(np.mean(columns[0]))


def _spearman(columns: Sequence[np.ndarray]) -> float:
    from scipy.stats import spearmanr

    x, y = columns
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")  # a constant side has no ranking
    return float(spearmanr(x, y).statistic)


def macro_f1(true: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 of integer codes ``true`` and ``predicted`` (m,), as sklearn's ``f1_score``.

    Averaged over the classes present in either array; a class never predicted
    scores 0 (sklearn's ``zero_division`` default).
    """
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    size = int(max(true.max(), predicted.max())) + 1
    hits = np.bincount(true[true == predicted], minlength=size)
    total = np.bincount(true, minlength=size) + np.bincount(predicted, minlength=size)
    present = total > 0
    return float(np.mean(2.0 * hits[present] / total[present]))


def _macro_f1(columns: Sequence[np.ndarray]) -> float:
    return macro_f1(columns[0], columns[1])


def _nmi(columns: Sequence[np.ndarray]) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(columns[0], columns[1]))


def _ari(columns: Sequence[np.ndarray]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(columns[0], columns[1]))


AGGREGATES: Final[Mapping[str, Callable[[Sequence[np.ndarray]], float]]] = {
    "mean": _mean,
    "spearman": _spearman,
    "macro-f1": _macro_f1,
    "nmi": _nmi,
    "ari": _ari,
}


def statistic(aggregate: str, columns: Sequence[np.ndarray]) -> float:
    """The figure ``aggregate`` of per-unit ``columns`` (each (m,)); see the module table."""
    function = AGGREGATES.get(aggregate)
    if function is None:
        raise InvalidInputError(
            f"aggregate={aggregate!r} is unknown; use one of {', '.join(AGGREGATES)}"
        )
    return function(columns)


def bootstrap_interval(
    aggregate: str,
    columns: Sequence[np.ndarray],
    *,
    seed: int = 0,
    rounds: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """Percentile-bootstrap 95 % interval of ``statistic(aggregate, columns)`` over the units."""
    if aggregate == "mean":
        return bootstrap_mean_interval(columns[0], seed=seed, resamples=rounds, level=LEVEL)
    draws = _resampled(columns, lambda rows: statistic(aggregate, rows), seed, rounds)
    return _percentiles(draws)


def _resampled(
    columns: Sequence[np.ndarray],
    function: Callable[[list[np.ndarray]], float],
    seed: int,
    rounds: int,
) -> np.ndarray:
    if rounds < 1:
        raise InvalidInputError(f"rounds={rounds} must be at least 1")
    rng = np.random.default_rng(seed)
    units = columns[0].shape[0]
    out = np.empty(rounds)
    for r in range(rounds):
        rows = rng.integers(0, units, size=units)
        out[r] = function([column[rows] for column in columns])
    return out


def _percentiles(draws: np.ndarray) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - LEVEL) / 2.0
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail))


@dataclass(frozen=True, eq=False)
class Figure:
    """One measured figure of one task, with its 95 % interval and chance level.

    ``per_unit`` is float64 (units,) aligned with ``unit_ids``; ``columns`` holds
    the arrays a non-mean ``aggregate`` is computed from (see the module table).
    """

    task: str
    name: str
    value: float
    low: float
    high: float
    chance: float
    units: int
    per_unit: np.ndarray
    unit_ids: tuple[str, ...]
    params: dict[str, Any]
    aggregate: str = "mean"
    columns: tuple[np.ndarray, ...] = ()
    unit_kind: str = "items"

    def statistic_columns(self) -> tuple[np.ndarray, ...]:
        """The arrays ``statistic(self.aggregate, ...)`` reads: ``columns``, or ``(per_unit,)``."""
        return self.columns if self.columns else (self.per_unit,)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able figure, without the per-unit arrays and ids."""
        return {
            "task": self.task,
            "name": self.name,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "chance": self.chance,
            "units": self.units,
            "unit_kind": self.unit_kind,
            "aggregate": self.aggregate,
            "params": dict(self.params),
        }

    def sentence(self) -> str:
        """E.g. "knn-accuracy 0.947 [0.920, 0.970] over 300 items (chance 0.200)"."""
        return (
            f"{self.name} {self.value:.3f} [{self.low:.3f}, {self.high:.3f}] over "
            f"{self.units} {self.unit_kind} (chance {self.chance:.3f})"
        )


def make_figure(
    task: str,
    name: str,
    per_unit: np.ndarray,
    unit_ids: Sequence[str],
    params: dict[str, Any],
    *,
    chance: float,
    aggregate: str = "mean",
    columns: tuple[np.ndarray, ...] = (),
    unit_kind: str = "items",
) -> Figure:
    """A :class:`Figure` whose value and interval are computed from ``per_unit``/``columns``.

    ``per_unit`` : float array of shape (units,); ``columns`` : arrays of shape (units,).
    The bootstrap is seeded by ``params["seed"]`` (0 when absent).
    """
    per_unit = np.asarray(per_unit, dtype=np.float64)
    stat_columns = columns if columns else (per_unit,)
    low, high = bootstrap_interval(aggregate, stat_columns, seed=int(params.get("seed", 0)))
    return Figure(
        task=task,
        name=name,
        value=statistic(aggregate, stat_columns),
        low=low,
        high=high,
        chance=float(chance),
        units=int(per_unit.shape[0]),
        per_unit=per_unit,
        unit_ids=tuple(unit_ids),
        params=dict(params),
        aggregate=aggregate,
        columns=columns,
        unit_kind=unit_kind,
    )


@dataclass(frozen=True, eq=False, repr=False)
class Evaluation(RichDisplay):
    """The figures one task measured on one set of vectors; ``headline`` is the main one."""

    task: str
    params: dict[str, Any]
    figures: tuple[Figure, ...]

    @property
    def headline(self) -> Figure:
        """The figure named like the task, else the first (retrieval: ndcg@10; sts: spearman)."""
        for figure in self.figures:
            if figure.name == self.task:
                return figure
        return self.figures[0]

    def figure(self, name: str) -> Figure:
        """The figure called ``name``."""
        for figure in self.figures:
            if figure.name == name:
                return figure
        names = ", ".join(f.name for f in self.figures)
        raise InvalidInputError(f"task {self.task!r} has no figure {name!r}; it has: {names}")

    def sentence(self) -> str:
        """E.g. "knn-accuracy: knn-accuracy 0.947 [0.920, 0.970] over 300 items (chance 0.200)"."""
        return f"{self.task}: {self.headline.sentence()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "params": dict(self.params),
            "headline": self.headline.name,
            "figures": [f.to_dict() for f in self.figures],
        }

    def __repr__(self) -> str:
        return f"<Evaluation {self.sentence()}>"

    def _display_title(self) -> str:
        return f"Evaluation: {self.task}"

    def _display_parts(self) -> list[Part]:
        rows = [
            (f.name, f.value, f"[{f.low:.3f}, {f.high:.3f}]", f.chance, f"{f.units} {f.unit_kind}")
            for f in self.figures
        ]
        params = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        columns = ("figure", "value", "95% interval", "chance", "over")
        return [Table(columns, rows), Text(f"parameters: {params or '—'}")]


@dataclass(frozen=True)
class PairedDifference:
    """B − A on one figure, with a paired-bootstrap 95 % interval over the shared units."""

    task: str
    name: str
    difference: float
    low: float
    high: float
    units: int
    significant: bool

    def sentence(self, a_name: str = "A", b_name: str = "B") -> str:
        """E.g. "B is better on knn-accuracy (+0.037 [+0.021, +0.052])"."""
        interval = f"({self.difference:+.3f} [{self.low:+.3f}, {self.high:+.3f}])"
        if not self.significant:
            return f"no significant difference on {self.name} {interval}"
        better = b_name if self.difference > 0 else a_name
        return f"{better} is better on {self.name} {interval}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "name": self.name,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "units": self.units,
            "significant": self.significant,
        }


def paired_difference(
    a: Figure, b: Figure, *, seed: int = 0, rounds: int = 2 * BOOTSTRAP_RESAMPLES
) -> PairedDifference:
    """B − A of the same figure on the units both hold, with a paired-bootstrap interval.

    Each resample draws the same shared units for both figures; the statistic
    (mean, Spearman, macro-F1, …) is recomputed on the resample for each side.
    """
    _check_comparable(a, b)
    rows_a, rows_b = _shared_rows(a, b)
    cols_a = [c[rows_a] for c in a.statistic_columns()]
    cols_b = [c[rows_b] for c in b.statistic_columns()]
    difference = statistic(b.aggregate, cols_b) - statistic(a.aggregate, cols_a)
    if a.aggregate == "mean":
        low, high = bootstrap_mean_interval(
            cols_b[0] - cols_a[0], seed=seed, resamples=rounds, level=LEVEL
        )
    else:
        width = len(cols_a)
        draws = _resampled(
            cols_a + cols_b,
            lambda rows: (
                statistic(b.aggregate, rows[width:]) - statistic(a.aggregate, rows[:width])
            ),
            seed,
            rounds,
        )
        low, high = _percentiles(draws)
    return PairedDifference(
        task=a.task,
        name=a.name,
        difference=float(difference),
        low=low,
        high=high,
        units=int(rows_a.shape[0]),
        significant=bool(low > 0 or high < 0),
    )


def _check_comparable(a: Figure, b: Figure) -> None:
    if (a.task, a.name, a.aggregate) != (b.task, b.name, b.aggregate):
        raise InvalidInputError(
            f"cannot pair {a.task}/{a.name} with {b.task}/{b.name}; "
            "compare the same figure of the same task"
        )
    if a.params != b.params:
        raise InvalidInputError(
            f"{a.name} was measured with different parameters ({a.params} and {b.params}); "
            "evaluate both versions with the same parameters"
        )


def _shared_rows(a: Figure, b: Figure) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``a`` and ``b`` holding the units both have, in ``a``'s order."""
    position = {unit: row for row, unit in enumerate(b.unit_ids)}
    pairs = [(row, position[u]) for row, u in enumerate(a.unit_ids) if u in position]
    if not pairs:
        raise InvalidInputError(
            f"the two {a.name} figures share no {a.unit_kind} "
            f"({a.units} and {b.units}); evaluate both versions on the same {a.unit_kind}"
        )
    rows = np.asarray(pairs, dtype=np.int64)
    return rows[:, 0], rows[:, 1]
