"""Retrieval figures against closed forms on a toy set and against pytrec_eval on random data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import pytrec_eval

from embver.errors import InvalidInputError
from embver.evaluate import read_qrels, retrieval

# eight items at 0°, 10°, …, 70° and five queries at 0°: the ranking is item-0, item-1, …
ANGLES = np.deg2rad(np.arange(8) * 10.0)
ITEMS = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=1).astype(np.float32)
ITEM_IDS = [f"item-{i}" for i in range(8)]
QUERIES = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (5, 1))
QUERY_IDS = ["q1", "q2", "q3", "q4", "q5"]
TOY_QRELS = {
    "q1": {"item-0": 1},
    "q2": {"item-1": 1},
    "q3": {"item-3": 1, "item-5": 1},
    "q4": {"item-0": 2, "item-2": 1},
    "q5": {"item-7": 1, "item-6": 0},
}


def hand_figures(relevant: dict[str, int], ranking: list[str], k: int) -> dict[str, float]:
    """Recall@k, nDCG@10, reciprocal rank and average precision, as trec_eval defines them."""
    hits = [relevant.get(item, 0) for item in ranking]
    positive = [r for r, grade in enumerate(hits, 1) if grade > 0]
    total = sum(1 for g in relevant.values() if g > 0)
    dcg = sum(g / math.log2(r + 1) for r, g in enumerate(hits[:10], 1))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(r + 1) for r, g in enumerate(ideal, 1))
    return {
        f"recall@{k}": sum(1 for r in positive if r <= k) / total,
        "ndcg@10": dcg / idcg,
        "mrr": 1 / positive[0] if positive else 0.0,
        "map": sum((i + 1) / r for i, r in enumerate(positive)) / total,
    }


def test_toy_figures_are_the_closed_forms():
    found = retrieval(ITEMS, ITEM_IDS, QUERIES, QUERY_IDS, TOY_QRELS, k=3)
    figures = {f.name: f for f in found.figures}
    q3 = figures["map"].per_unit[2]
    assert q3 == pytest.approx((1 / 4 + 2 / 6) / 2)
    assert figures["ndcg@10"].per_unit[3] == pytest.approx(2.5 / (2 + 1 / math.log2(3)))
    for i, query in enumerate(QUERY_IDS):
        expected = hand_figures(TOY_QRELS[query], ITEM_IDS, 3)
        for name, value in expected.items():
            assert figures[name].per_unit[i] == pytest.approx(value, abs=1e-12), (query, name)
    assert found.headline.name == "ndcg@10"
    assert figures["recall@3"].unit_ids == tuple(QUERY_IDS)
    assert figures["recall@3"].chance == pytest.approx(3 / 8)


def brute_run(items: np.ndarray, queries: np.ndarray, depth: int) -> list[np.ndarray]:
    unit_items = items / np.linalg.norm(items, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    similarity = unit_queries.astype(np.float64) @ unit_items.T.astype(np.float64)
    return [np.argsort(-row, kind="stable")[:depth] for row in similarity]


def test_random_data_scores_as_pytrec_eval_scores_a_brute_force_run():
    rng = np.random.default_rng(4)
    items = rng.normal(size=(400, 16)).astype(np.float32)
    queries = rng.normal(size=(60, 16)).astype(np.float32)
    item_ids = [f"d{i}" for i in range(400)]
    query_ids = [f"q{i}" for i in range(60)]
    near = brute_run(items, queries, 40)
    # judged: a few of each query's true top 40, at random grades, plus random far items
    qrels = {
        q: {item_ids[j]: int(rng.integers(0, 3)) for j in rng.choice(near[i], 4, replace=False)}
        | {item_ids[j]: 1 for j in rng.choice(400, 2, replace=False)}
        for i, q in enumerate(query_ids)
    }
    found = retrieval(items, item_ids, queries, query_ids, qrels, k=20)
    run = {
        q: {item_ids[j]: float(s) for s, j in zip(range(20, 0, -1), near[i][:20], strict=True)}
        for i, q in enumerate(query_ids)
    }
    measures = {"recall.20", "ndcg_cut.10", "recip_rank", "map"}
    expected = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    keys = {"recall@20": "recall_20", "ndcg@10": "ndcg_cut_10", "mrr": "recip_rank", "map": "map"}
    for figure in found.figures:
        values = [expected[q][keys[figure.name]] for q in query_ids]
        assert figure.per_unit == pytest.approx(values, abs=1e-12)
        assert figure.value == pytest.approx(np.mean(values), abs=1e-12)
        assert figure.low <= figure.value <= figure.high


def test_chance_is_the_figure_of_a_random_ranking():
    rng = np.random.default_rng(5)
    items = rng.normal(size=(50, 8)).astype(np.float32)
    item_ids = [f"d{i}" for i in range(50)]
    queries = rng.normal(size=(30, 8)).astype(np.float32)
    query_ids = [f"q{i}" for i in range(30)]
    qrels = {q: {item_ids[j]: 1 for j in rng.choice(50, 5, replace=False)} for q in query_ids}
    found = retrieval(items, item_ids, queries, query_ids, qrels, k=5)
    # E[DCG@10] of a random ranking: each rank holds a relevant item with probability 5/50
    expected_ndcg = sum(0.1 / math.log2(r + 1) for r in range(1, 11)) / sum(
        1 / math.log2(r + 1) for r in range(1, 6)
    )
    assert found.figure("ndcg@10").chance == pytest.approx(expected_ndcg, abs=0.01)
    assert found.figure("recall@5").chance == pytest.approx(5 / 50)
    # random vectors are a random ranking: each figure lies near its chance
    for figure in found.figures:
        assert abs(figure.value - figure.chance) < 0.15


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("qrels.txt", "q1 0 item-0 1\nq1 0 item-2 0\nq2 0 item-1 2\n"),
        ("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\titem-0\t1\nq1\titem-2\t0\nq2\titem-1\t2\n"),
        (
            "qrels.jsonl",
            json.dumps({"query": "q1", "relevant": {"item-0": 1, "item-2": 0}})
            + "\n"
            + json.dumps({"query-id": "q2", "corpus-id": "item-1", "score": 2})
            + "\n",
        ),
    ],
)
def test_every_qrels_format_reads_to_the_same_judgements(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert read_qrels(path) == {"q1": {"item-0": 1, "item-2": 0}, "q2": {"item-1": 2}}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.txt", "q1 item-0 1\n", r"bad.txt line 1: expected 'qid 0 docid grade'"),
        (
            "bad.tsv",
            "query-id\tcorpus-id\tscore\nq1\titem-0\thigh\n",
            "bad.tsv line 2: grade 'high'",
        ),
        ("bad.jsonl", '{"q": 1}\n', "bad.jsonl line 1: expected"),
        ("empty.txt", "\n", "holds no judgements"),
    ],
)
def test_malformed_qrels_are_refused_naming_the_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        read_qrels(path)


def test_judgements_of_unknown_items_are_refused_with_the_first_few_and_the_count():
    qrels = dict(TOY_QRELS) | {"q1": {f"ghost-{i}": 1 for i in range(5)}}
    with pytest.raises(
        InvalidInputError,
        match=r"qrels name 5 unknown item ids: 'ghost-0', 'ghost-1', 'ghost-2' \(and 2 more\); "
        "register those items",
    ):
        retrieval(ITEMS, ITEM_IDS, QUERIES, QUERY_IDS, qrels, k=3)


def test_judged_queries_without_a_vector_are_refused():
    qrels = dict(TOY_QRELS) | {"q9": {"item-1": 1}}
    with pytest.raises(
        InvalidInputError, match=r"1 judged queries have no vector: 'q9'; pass their query vectors"
    ):
        retrieval(ITEMS, ITEM_IDS, QUERIES, QUERY_IDS, qrels, k=3)


def test_k_beyond_the_items_is_refused():
    with pytest.raises(InvalidInputError, match="k=9 exceeds the 8 items"):
        retrieval(ITEMS, ITEM_IDS, QUERIES, QUERY_IDS, TOY_QRELS, k=9)


def test_the_closed_form_chance_is_what_random_rankings_score():
    """random_ranking_chance against its oracle: 400 seeded random rankings of 60 items
    scored by pytrec_eval, graded judgements and 1 to 12 relevant items per query."""
    from embver.evaluate.retrieval import random_ranking_chance, simulated_chance

    rng = np.random.default_rng(11)
    item_ids = [f"d{i}" for i in range(60)]
    qrels = {
        f"q{q}": {
            item_ids[j]: int(rng.integers(1, 4)) for j in rng.choice(60, 1 + q % 12, replace=False)
        }
        for q in range(40)
    }
    judged = list(qrels)
    for depth in (10, 25):
        exact = random_ranking_chance(qrels, judged, len(item_ids), 5, depth)
        simulated = simulated_chance(qrels, judged, item_ids, 5, depth, seed=3, rounds=400)
        assert set(exact) == set(simulated)
        for name, value in exact.items():
            assert value == pytest.approx(simulated[name], abs=0.006), (depth, name)
