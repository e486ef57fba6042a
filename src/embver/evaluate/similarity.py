"""Semantic similarity (STS): Spearman correlation of vector similarity with gold scores.

Spearman is not a mean over pairs, so the figure keeps per pair the similarity
(``per_unit``) and ``columns = (similarity, gold)``; its interval, and a paired
difference between two versions, recompute Spearman on each bootstrap resample
of the pairs. Chance is 0 (no association).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embver.errors import InvalidInputError
from embver.evaluate._inputs import prepared_vectors, show
from embver.evaluate.results import Evaluation, make_figure
from embver.neighbors import canonical_metric

Pair = tuple[str, str, float]


def read_pairs(path: str | os.PathLike[str]) -> list[Pair]:
    """Scored pairs ``(id_a, id_b, score)`` from a TSV, CSV or JSONL file.

    TSV/CSV: three columns, an optional header (a first line whose third field is
    not a number); JSONL: ``{"id_a": …, "id_b": …, "score": …}`` per line.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"pairs file {str(path)!r} does not exist; give the path of one")
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix.lower() in (".jsonl", ".json"):
        pairs = [_json_pair(path.name, n, line) for n, line in enumerate(lines, 1) if line.strip()]
    else:
        pairs = _table_pairs(path.name, lines, "," if path.suffix.lower() == ".csv" else "\t")
    if not pairs:
        raise InvalidInputError(f"pairs file {path.name!r} holds no pairs; check the file")
    return pairs


def _score(name: str, number: int, text: object) -> float:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{name} line {number}: score {text!r} is not a number; give id_a, id_b, score"
        ) from None


def _json_pair(name: str, number: int, line: str) -> Pair:
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        raise InvalidInputError(f"{name} line {number} is not JSON: {line[:60]!r}") from None
    if not isinstance(row, dict) or not {"id_a", "id_b", "score"} <= row.keys():
        raise InvalidInputError(
            f"{name} line {number}: expected keys id_a, id_b, score; got {line[:60]!r}"
        )
    return str(row["id_a"]), str(row["id_b"]), _score(name, number, row["score"])


def _table_pairs(name: str, lines: list[str], delimiter: str) -> list[Pair]:
    rows = [(n, row) for n, row in enumerate(csv.reader(lines, delimiter=delimiter), 1) if row]
    if rows and len(rows[0][1]) == 3 and not _is_number(rows[0][1][2]):
        rows = rows[1:]  # a header
    pairs = []
    for number, row in rows:
        if len(row) != 3:
            raise InvalidInputError(
                f"{name} line {number}: expected 3 fields id_a, id_b, score; got {row!r}"
            )
        pairs.append((row[0], row[1], _score(name, number, row[2])))
    return pairs


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def pair_rows(
    ids: tuple[str, ...], pairs: Sequence[Pair]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (m,) of both sides of each pair and the gold scores float64 (m,)."""
    row = {item: i for i, item in enumerate(ids)}
    unknown = sorted({i for a, b, _ in pairs for i in (a, b) if i not in row})
    if unknown:
        raise InvalidInputError(
            f"pairs name {len(unknown)} unknown ids: {show(unknown)}; "
            "register those items or drop their pairs"
        )
    if len(pairs) < 3:
        raise InvalidInputError(
            f"{len(pairs)} pairs are too few for a correlation; give at least 3"
        )
    a = np.array([row[p[0]] for p in pairs], dtype=np.int64)
    b = np.array([row[p[1]] for p in pairs], dtype=np.int64)
    return a, b, np.array([float(p[2]) for p in pairs])


def similarities(prepared: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Similarity float64 (m,) of rows ``a`` and ``b`` of prepared vectors (n, d).

    Inner product for cosine (unit rows) and dot; minus the distance for l2.
    """
    x, y = prepared[a].astype(np.float64), prepared[b].astype(np.float64)
    if metric == "l2":
        return -np.sqrt(np.einsum("ij,ij->i", x - y, x - y))
    return np.einsum("ij,ij->i", x, y)


def sts(
    vectors: np.ndarray,
    ids: Sequence[str],
    pairs: Sequence[Pair],
    *,
    metric: str = "cosine",
    seed: int = 0,
) -> Evaluation:
    """Spearman correlation of the pairs' similarity with their gold scores.

    ``vectors`` (n, d) with ``ids`` (n,); ``pairs`` of ``(id_a, id_b, score)``.
    Units are the pairs, named ``"id_a\\tid_b"``.
    """
    metric = canonical_metric(metric)
    prepared, item_ids = prepared_vectors(vectors, ids, metric)
    a, b, gold = pair_rows(item_ids, pairs)
    similarity = similarities(prepared, a, b, metric)
    params = {"metric": metric, "seed": int(seed)}
    unit_ids = [f"{p[0]}\t{p[1]}" for p in pairs]
    figure = make_figure(
        "sts", "spearman", similarity, unit_ids, params, chance=0.0, aggregate="spearman",
        columns=(similarity, gold), unit_kind="pairs",
    )  # fmt: skip
    return Evaluation(task="sts", params=params, figures=(figure,))
