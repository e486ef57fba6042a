"""Checks shared by the tasks: vectors with their ids, labels as codes, parameters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embver.errors import InvalidInputError
from embver.neighbors import canonical_metric, prepare


def show(values: Sequence[object], count: int = 3) -> str:
    """ "'a', 'b', 'c' (and 4 more)": the first few of ``values`` for a one-line error."""
    head = ", ".join(repr(v) for v in list(values)[:count])
    rest = len(values) - count
    return head + (f" (and {rest} more)" if rest > 0 else "")


def check_ids(ids: Sequence[str], rows: int, name: str = "ids") -> tuple[str, ...]:
    """``ids`` as a tuple of strings, one per row and all distinct."""
    out = tuple(str(i) for i in ids)
    if len(out) != rows:
        raise InvalidInputError(
            f"{name} has {len(out)} entries for {rows} vectors; give one id per row"
        )
    if len(set(out)) != len(out):
        twice = [i for i, count in Counter(out).items() if count > 1]
        raise InvalidInputError(f"{name} repeats {show(twice)}; give each vector its own id")
    return out


def prepared_vectors(
    vectors: np.ndarray, ids: Sequence[str], metric: str, name: str = "vectors"
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Float32 (n, d) rows ready for :func:`embver.neighbors.knn` and their ids."""
    array = prepare(np.asarray(vectors), canonical_metric(metric))
    return array, check_ids(ids, array.shape[0], f"{name} ids")


@dataclass(frozen=True)
class Labels:
    """Labels of n items as codes into ``classes`` (sorted, as scikit-learn orders them)."""

    codes: np.ndarray  # int64 (n,)
    classes: tuple[str, ...]
    counts: np.ndarray  # int64 (len(classes),)


def encode_labels(labels: Sequence[object], rows: int) -> Labels:
    """Codes of ``labels`` (n,) into their sorted distinct values; at least two classes."""
    values = np.asarray([str(label) for label in labels])
    if values.shape[0] != rows:
        raise InvalidInputError(
            f"labels has {values.shape[0]} entries for {rows} vectors; give one label per item"
        )
    classes, codes = np.unique(values, return_inverse=True)
    if classes.shape[0] < 2:
        raise InvalidInputError(
            f"labels name a single class ({show(list(classes))}); give at least two"
        )
    return Labels(
        codes=codes.astype(np.int64),
        classes=tuple(str(c) for c in classes),
        counts=np.bincount(codes).astype(np.int64),
    )


def check_k(k: int, available: int, what: str = "neighbours") -> None:
    """Refuse ``k`` unless it is an integer in [1, available]."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k={k!r} must be a positive integer")
    if k > available:
        raise InvalidInputError(f"k={k} exceeds the {available} {what} there are; use a smaller k")


def check_folds(folds: int, labels: Labels) -> None:
    """Refuse ``folds`` < 2 or more folds than the smallest class has items."""
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise InvalidInputError(f"folds={folds!r} must be an integer of at least 2")
    smallest = int(np.argmin(labels.counts))
    if folds > labels.counts[smallest]:
        raise InvalidInputError(
            f"folds={folds} exceeds the smallest class ({labels.classes[smallest]!r} has "
            f"{labels.counts[smallest]} items); use folds <= {labels.counts[smallest]} "
            "or drop that label"
        )


def check_rounds(rounds: int, name: str = "chance_rounds") -> None:
    if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
        raise InvalidInputError(f"{name}={rounds!r} must be a positive integer")
