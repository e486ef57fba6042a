"""Retrieval against relevance judgements (qrels): recall@k, nDCG@10, MRR and MAP per query.

The ranking is one exact search (:func:`embver.neighbors.knn`) of the
judged queries among the items, ``depth = max(k, 10)`` deep; pytrec_eval scores
it. MRR and MAP are therefore those of the top ``depth`` (what trec_eval reports
for a run of that depth). pytrec_eval is handed the score ``depth − rank`` rather
than the similarity, so its tie-breaking (by document id) never reorders the search.

Chance, the expected figure of a uniformly random ranking: recall@k is exactly
k/n for a query with a relevant item (|rel ∩ top k| has mean |rel|·k/n), 0 for
one with none; nDCG@10, MRR and MAP in closed form too (see
:func:`random_ranking_chance`; :func:`simulated_chance`, seeded random rankings
scored by pytrec_eval, is its oracle in the tests).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from embver.errors import InvalidInputError
from embver.evaluate._inputs import check_k, check_rounds, prepared_vectors, show
from embver.evaluate.results import Evaluation, make_figure
from embver.neighbors import canonical_metric, knn

Qrels = dict[str, dict[str, int]]

#: rankings are at least this deep, for nDCG@10
NDCG_DEPTH: Final = 10


def read_qrels(path: str | os.PathLike[str]) -> Qrels:
    """Relevance judgements ``{query id: {item id: grade}}`` from a file.

    Formats: TREC (``qid 0 docid grade``, whitespace-separated), BEIR TSV
    (``query-id<TAB>corpus-id<TAB>score`` after a header line), JSONL of
    ``{"query": id, "relevant": {doc: grade}}`` or ``{"query-id", "corpus-id",
    "score"}`` rows. A ``.jsonl``/``.json`` suffix means JSONL; otherwise a
    first line starting ``query-id`` means BEIR, anything else TREC.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"qrels file {str(path)!r} does not exist; give the path of one")
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix.lower() in (".jsonl", ".json"):
        qrels = _qrels_jsonl(path.name, lines)
    elif lines and lines[0].lower().startswith("query-id"):
        qrels = _qrels_beir(path.name, lines)
    else:
        qrels = _qrels_trec(path.name, lines)
    if not qrels:
        raise InvalidInputError(f"qrels file {path.name!r} holds no judgements; check the file")
    return qrels


def _grade(name: str, number: int, text: str) -> int:
    try:
        return int(float(text))
    except ValueError:
        raise InvalidInputError(
            f"{name} line {number}: grade {text!r} is not a number; grades are integers"
        ) from None


def _add(qrels: Qrels, query: object, item: object, grade: int) -> None:
    qrels.setdefault(str(query), {})[str(item)] = grade


def _qrels_trec(name: str, lines: list[str]) -> Qrels:
    qrels: Qrels = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise InvalidInputError(
                f"{name} line {number}: expected 'qid 0 docid grade', got {line.strip()!r}"
            )
        _add(qrels, fields[0], fields[2], _grade(name, number, fields[3]))
    return qrels


def _qrels_beir(name: str, lines: list[str]) -> Qrels:
    qrels: Qrels = {}
    for number, row in enumerate(csv.reader(lines[1:], delimiter="\t"), start=2):
        if not row:
            continue
        if len(row) != 3:
            raise InvalidInputError(
                f"{name} line {number}: expected 'query-id<TAB>corpus-id<TAB>score', got {row!r}"
            )
        _add(qrels, row[0], row[1], _grade(name, number, row[2]))
    return qrels


def _qrels_jsonl(name: str, lines: list[str]) -> Qrels:
    qrels: Qrels = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInputError(f"{name} line {number} is not JSON: {line[:60]!r}") from None
        if isinstance(row, dict) and "relevant" in row and "query" in row:
            for item, grade in dict(row["relevant"]).items():
                _add(qrels, row["query"], item, _grade(name, number, str(grade)))
        elif isinstance(row, dict) and {"query-id", "corpus-id", "score"} <= row.keys():
            _add(qrels, row["query-id"], row["corpus-id"], _grade(name, number, str(row["score"])))
        else:
            raise InvalidInputError(
                f"{name} line {number}: expected {{'query', 'relevant'}} or "
                f"{{'query-id', 'corpus-id', 'score'}}, got {line[:60]!r}"
            )
    return qrels


def _check_qrels(
    qrels: Mapping[str, Mapping[str, int]], items: set[str], queries: set[str]
) -> None:
    """Refuse judgements of items that are not there or of queries with no vector."""
    unknown = sorted({i for judged in qrels.values() for i in judged if i not in items})
    if unknown:
        raise InvalidInputError(
            f"qrels name {len(unknown)} unknown item ids: {show(unknown)}; "
            "register those items or drop their judgements"
        )
    missing = sorted(q for q in qrels if q not in queries)
    if missing:
        raise InvalidInputError(
            f"{len(missing)} judged queries have no vector: {show(missing)}; "
            "pass their query vectors or drop their judgements"
        )
    if not qrels:
        raise InvalidInputError("qrels hold no queries; give at least one judged query")


def _measures(k: int) -> dict[str, str]:
    """Figure name → pytrec_eval result key."""
    return {
        f"ndcg@{NDCG_DEPTH}": f"ndcg_cut_{NDCG_DEPTH}",
        f"recall@{k}": f"recall_{k}",
        "mrr": "recip_rank",
        "map": "map",
    }


def score_rankings(
    qrels: Mapping[str, Mapping[str, int]],
    query_ids: Sequence[str],
    ranked: np.ndarray,
    item_ids: Sequence[str],
    k: int,
) -> dict[str, np.ndarray]:
    """pytrec_eval's per-query figures (float64 (q,) per figure name) of ``ranked`` (q, depth).

    Row i of ``ranked`` holds item rows, best first, for ``query_ids[i]``.
    """
    import pytrec_eval

    depth = ranked.shape[1]
    scores = [float(depth - r) for r in range(depth)]
    run = {
        q: {item_ids[j]: s for j, s in zip(row, scores, strict=True)}
        for q, row in zip(query_ids, ranked.tolist(), strict=True)
    }
    names = _measures(k)
    measures = {f"recall.{k}", f"ndcg_cut.{NDCG_DEPTH}", "recip_rank", "map"}
    judged = {q: dict(qrels[q]) for q in query_ids}
    result = pytrec_eval.RelevanceEvaluator(judged, measures).evaluate(run)
    return {
        name: np.array([result[q][key] if q in result else 0.0 for q in query_ids])
        for name, key in names.items()
    }


def random_rankings(queries: int, depth: int, items: int, rng: np.random.Generator) -> np.ndarray:
    """Rows (queries, depth) of distinct item rows drawn uniformly without replacement."""
    if items <= 4 * depth:
        return np.argsort(rng.random((queries, items)), axis=1)[:, :depth]
    out = rng.integers(0, items, size=(queries, depth))
    while True:
        ordered = np.sort(out, axis=1)
        repeated = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if repeated.size == 0:
            return out
        out[repeated] = rng.integers(0, items, size=(repeated.size, depth))


def retrieval(
    item_vectors: np.ndarray,
    item_ids: Sequence[str],
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    k: int = 10,
    *,
    metric: str = "cosine",
    seed: int = 0,
) -> Evaluation:
    """nDCG@10, recall@k, MRR and MAP of searching the judged queries among the items.

    Parameters
    ----------
    item_vectors : array of shape (n, d)
    item_ids : sequence of n str
    query_vectors : array of shape (q, d)
        Queries without judgements are not evaluated.
    query_ids : sequence of q str
    qrels : {query id: {item id: grade}}
        Grades >= 1 are relevant; every id must be one of the given items and queries.
    k : int
        Cut-off of recall, 1 <= k <= n.

    Returns
    -------
    Evaluation
        Units are the judged queries (qrels order); per_unit the query's figure.
    """
    metric = canonical_metric(metric)
    items, item_ids = prepared_vectors(item_vectors, item_ids, metric, "item")
    queries, query_ids = prepared_vectors(query_vectors, query_ids, metric, "query")
    check_k(k, items.shape[0], "items")
    _check_qrels(qrels, set(item_ids), set(query_ids))
    judged = [str(q) for q in qrels]
    row = {q: i for i, q in enumerate(query_ids)}
    depth = min(max(k, NDCG_DEPTH), items.shape[0])
    rows = np.array([row[q] for q in judged], dtype=np.int64)
    ranked = knn(items, depth, queries=queries[rows], metric=metric, prepared=True)
    figures = score_rankings(qrels, judged, ranked, item_ids, k)
    chance = random_ranking_chance(qrels, judged, len(item_ids), k, depth)
    params: dict[str, Any] = {"k": int(k), "depth": depth, "metric": metric, "seed": int(seed)}
    return Evaluation(
        task="retrieval",
        params=params,
        figures=tuple(
            make_figure("retrieval", name, values, judged, params, chance=chance[name],
                        unit_kind="queries")
            for name, values in figures.items()
        ),
    )  # fmt: skip


def random_ranking_chance(
    qrels: Mapping[str, Mapping[str, int]], judged: Sequence[str], n: int, k: int, depth: int
) -> dict[str, float]:
    """The expected figures of a uniformly random ranking of the ``n`` items, exactly.

    Per query with ``R`` relevant items (grade >= 1) among ``n``, ranked ``depth`` deep
    (trec_eval's definitions, as pytrec_eval scores them):

    - recall@k: ``k / n``;
    - nDCG@10: every rank holds a uniformly drawn item, so E[DCG] = (Σ gains / n) ·
      Σ_{r<=10} 1 / log2(r + 1), over the query's ideal DCG;
    - MRR: Σ_r (1/r) · P(no relevant item in the first r - 1) · R / (n - r + 1);
    - MAP: (1/R) Σ_r P(relevant at r) · E[precision@r | relevant at r]
      = (1/R) Σ_r (R/n) · (1 + (r - 1)(R - 1)/(n - 1)) / r.

    Averaged over the judged queries (a query with nothing relevant scores 0 on all).
    """
    ranks = np.arange(1, depth + 1, dtype=np.float64)
    discount = 1.0 / np.log2(np.arange(2, NDCG_DEPTH + 2, dtype=np.float64))
    rank_discount = float(discount[: min(NDCG_DEPTH, depth)].sum())
    discounts = discount.tolist()
    totals = dict.fromkeys((f"ndcg@{NDCG_DEPTH}", f"recall@{k}", "mrr", "map"), 0.0)
    by_count: dict[int, tuple[float, float]] = {}  # MRR and MAP depend on R alone
    for query in judged:
        gains = sorted((float(g) for g in qrels[query].values() if g > 0), reverse=True)
        relevant = len(gains)
        if relevant == 0:
            continue
        ideal = sum(g * d for g, d in zip(gains[:NDCG_DEPTH], discounts, strict=False))
        totals[f"ndcg@{NDCG_DEPTH}"] += sum(gains) / n * rank_discount / ideal
        totals[f"recall@{k}"] += k / n
        if relevant not in by_count:
            by_count[relevant] = _random_mrr_map(relevant, n, ranks)
        mrr, average_precision = by_count[relevant]
        totals["mrr"] += mrr
        totals["map"] += average_precision
    return {name: total / len(judged) for name, total in totals.items()}


def _random_mrr_map(relevant: int, n: int, ranks: np.ndarray) -> tuple[float, float]:
    """Expected reciprocal rank and average precision of a random ranking ``len(ranks)``
    deep, for a query with ``relevant`` relevant items among ``n`` (formulas above)."""
    before = ranks[:-1]
    none_before = np.concatenate(
        [[1.0], np.cumprod((n - relevant - before + 1) / (n - before + 1))]
    )
    mrr = float((none_before * relevant / (n - ranks + 1) / ranks).sum())
    together = (ranks - 1) * (relevant - 1) / (n - 1) if n > 1 else np.zeros(ranks.shape[0])
    return mrr, float(((1.0 + together) / ranks).sum()) / n


def simulated_chance(
    qrels: Mapping[str, Mapping[str, int]],
    judged: list[str],
    item_ids: Sequence[str],
    k: int,
    depth: int,
    seed: int,
    rounds: int,
) -> dict[str, float]:
    """The mean figures of ``rounds`` seeded random rankings scored by pytrec_eval: the
    oracle of :func:`random_ranking_chance` (as costly as ``rounds`` evaluations)."""
    check_rounds(rounds)
    rng = np.random.default_rng(seed)
    n = len(item_ids)
    draws = [
        score_rankings(qrels, judged, random_rankings(len(judged), depth, n, rng), item_ids, k)
        for _ in range(rounds)
    ]
    return {name: float(np.mean([d[name].mean() for d in draws])) for name in draws[0]}
