"""Evaluations of stored versions: recorded once, read back, compared pairwise, used to pick
`best`, measured at PATCH registration; on real BBC vectors through all-MiniLM-L6-v2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import embver
from embver.cli import cli
from embver.errors import InvalidInputError, VerdictError
from embver.evaluate.api import best_by, compare_tasks, evaluate, evaluations
from embver.store import schema


def _sharpened(vectors: np.ndarray, labels: list[str], pull: float) -> np.ndarray:
    """Each unit vector moved ``pull`` of the way to its label's centroid: what a fine-tune
    on the labels does to a space (its categories get sharper), renormalised."""
    codes = np.unique(labels, return_inverse=True)[1]
    centroids = np.stack([vectors[codes == c].mean(axis=0) for c in range(codes.max() + 1)])
    out = (1 - pull) * vectors + pull * centroids[codes]
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _noisy(vectors: np.ndarray, scale: float, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = vectors + scale * rng.standard_normal(vectors.shape).astype(np.float32) / 20
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _recipe(weights: str, extraction: str = "mean") -> embver.Recipe:
    return embver.Recipe(architecture="minilm-l6", extraction=extraction, weights=weights, dim=384)


@pytest.fixture
def news(tmp_path, bbc):
    """Space "news": 1.0.0 the real vectors with labels; 1.1.0 sharpened on the labels
    (MINOR, so no verdict is measured); 1.2.0 the real vectors drowned in noise."""
    store = embver.init(tmp_path / "project")
    space = store.space("news")
    space.register(
        bbc.vectors, ids=bbc.ids, recipe=_recipe("w1"), texts=bbc.texts, labels=bbc.labels
    )
    space.register(
        _sharpened(bbc.vectors, bbc.labels, 0.5), ids=bbc.ids, recipe=_recipe("w1", "ft")
    )
    space.register(_noisy(bbc.vectors, 4.0), ids=bbc.ids, recipe=_recipe("w1", "noisy"))
    yield store
    store.close()


def _rows(store) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(sa.select(sa.func.count()).select_from(schema.evaluations)).scalar()
        )


def test_an_evaluation_is_recorded_once_and_read_back_with_its_scores(news):
    first = evaluate(news, "news@1.0.0", "knn-accuracy", k=5)
    assert _rows(news) == 1
    again = evaluate(news, "news@1.0.0", "knn-accuracy", k=5)
    assert _rows(news) == 1  # read back, not recorded twice
    for a, b in zip(first.figures, again.figures, strict=True):
        assert (a.name, a.value, a.low, a.high, a.chance) == (
            b.name,
            b.value,
            b.low,
            b.high,
            b.chance,
        )
        np.testing.assert_array_equal(a.per_unit, b.per_unit)
        assert a.unit_ids == b.unit_ids
    # other parameters are another evaluation
    evaluate(news, "news@1.0.0", "knn-accuracy", k=15)
    assert _rows(news) == 2
    assert [e.params["k"] for e in evaluations(news, "news@1.0.0")] == [5, 15]
    # the real BBC space is far above chance (5 balanced topics: 0.2)
    assert first.headline.chance == pytest.approx(0.2, abs=0.01)
    assert first.headline.low > 0.8


def test_sharper_is_significantly_better_and_noise_significantly_worse(news):
    better = compare_tasks(news, "news@1.0.0", "news@1.1.0", "knn-accuracy")
    worse = compare_tasks(news, "news@1.0.0", "news@1.2.0", "knn-accuracy")
    same = compare_tasks(news, "news@1.0.0", "news@1.0.0", "knn-accuracy")
    head = {d.name: d for d in better}["knn-accuracy"]
    assert head.significant and head.low > 0
    assert "news@1.1.0 is better on knn-accuracy" in head.sentence("news@1.0.0", "news@1.1.0")
    assert {d.name: d for d in worse}["knn-accuracy"].high < 0
    assert not {d.name: d for d in same}["knn-accuracy"].significant


def test_best_by_picks_the_highest_figure_and_says_why(news):
    for ref in ("news@1.0.0", "news@1.1.0", "news@1.2.0"):
        evaluate(news, ref, "knn-accuracy")
    best, why = best_by(news, "news", "knn-accuracy")
    assert best.ref == "news@1.1.0" and why["candidates"] == 3
    root = str(news.location.root)
    result = CliRunner().invoke(
        cli, ["--store", root, "alias", "set", "news", "best", "--by", "knn-accuracy"]
    )
    assert result.exit_code == 0, result.output
    assert news.get("news@best").ref == "news@1.1.0"
    reason = news.alias_history("news", "best")[-1]["reason"]
    assert "best by knn-accuracy among 3 evaluated" in reason and "news@1.1.0" in reason


def test_best_by_needs_evaluations_first(news, store_snapshot):
    before = store_snapshot(news)
    result = CliRunner().invoke(
        cli,
        [
            "--store",
            str(news.location.root),
            "alias",
            "set",
            "news",
            "best",
            "--by",
            "label-purity",
        ],
    )
    assert result.exit_code != 0
    assert "no version of 'news' has been evaluated on 'label-purity'" in str(result.exception)
    assert store_snapshot(news) == before


def test_cli_eval_prints_figures_with_chance_and_compares(news):
    root = str(news.location.root)
    result = CliRunner().invoke(
        cli, ["--store", root, "eval", "news@1.0.0", "--task", "label-purity", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (
        data["task"] == "label-purity" and data["figures"][0]["chance"] < data["figures"][0]["low"]
    )
    text = CliRunner().invoke(
        cli, ["--store", root, "eval", "news@1.0.0", "news@1.1.0", "--compare"]
    )
    assert text.exit_code == 0, text.output
    assert "news@1.1.0 is better on knn-accuracy" in text.output
    log = CliRunner().invoke(cli, ["--store", root, "log", "news"])
    import re

    assert re.search(
        r"1\.1\.0 .* knn-accuracy 1\.000 \[\d\.\d+, \d\.\d+\] \(chance 0\.\d+\)", log.output
    )


def test_a_patch_records_whether_it_is_better_on_the_default_task(news):
    """With eval.default set, a PATCH's verdict says whether it is also better, and the
    parent's and child's figures are recorded for `log` and `best --by`."""
    news.set_setting("eval.default", "knn-accuracy")
    space = news.space("news")
    parent = news.get("news@1.0.0")
    child = space.register(
        _sharpened(parent.vectors(), list(news.items("news")["label"]), 0.6),
        ids=parent.ids, recipe=_recipe("w2"), parent="1.0.0",
    )  # fmt: skip
    assert str(child.number) == "1.0.1"
    task = child.verdict["task"]
    assert task["name"] == "knn-accuracy" and task["significant"] and task["difference"] > 0
    assert task["child"] > task["parent"]
    recorded = {r.version_id for r in _records(news)}
    assert {parent.id, child.id} <= recorded
    shown = CliRunner().invoke(cli, ["--store", str(news.location.root), "show", "news@1.0.1"])
    assert (
        "but better on knn-accuracy (+" in shown.output
        or "; better on knn-accuracy (+" in shown.output
    )


def test_strict_refuses_a_patch_that_loses_too_much_on_the_task(news, store_snapshot):
    news.set_setting("eval.default", "knn-accuracy")
    news.set_setting("strict", "true")
    news.set_setting("eval.max_loss", 0.02)
    parent = news.get("news@1.0.0")
    before = store_snapshot(news)
    with pytest.raises(VerdictError, match=r"loses 0\.\d+ on knn-accuracy .* eval.max_loss=0.02"):
        news.space("news").register(
            _noisy(parent.vectors(), 3.0), ids=parent.ids, recipe=_recipe("w3"), parent="1.0.0"
        )
    assert store_snapshot(news) == before


def test_bad_evaluations_are_refused_in_one_line_and_leave_the_store_unchanged(
    news, store_snapshot, tmp_path
):
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tnot-an-item\t1\n", encoding="utf-8")
    vectors = news.get("news@1.0.0").vectors()[:50]
    news.space("plain").register(vectors, ids=[f"p{i}" for i in range(50)], recipe=_recipe("w1"))
    before = store_snapshot(news)
    with pytest.raises(InvalidInputError, match="unknown task 'knn-acc'; choose one of: knn-acc"):
        evaluate(news, "news@1.0.0", "knn-acc")
    with pytest.raises(InvalidInputError, match="unknown item ids: 'not-an-item'"):
        evaluate(news, "news@1.0.0", "retrieval", qrels=qrels, queries="news@1.0.0")
    with pytest.raises(InvalidInputError, match="give the version holding the query vectors"):
        evaluate(news, "news@1.0.0", "retrieval", qrels=qrels, queries="queries.txt")
    with pytest.raises(InvalidInputError, match="task 'knn-accuracy' needs labels"):
        evaluate(news, "plain@1.0.0", "knn-accuracy")
    assert store_snapshot(news) == before
    assert _rows(news) == 0


def _records(store):
    from embver.store.evaluations import of_versions

    return of_versions(store, store.versions("news"))


def test_compare_breaks_the_change_down_by_label(news, bbc):
    """Sharpened on the labels, every topic's neighbourhoods are purer in 1.1.0: `embver
    compare` lists each label with its count, purity old -> new and its chance level."""
    root = str(news.location.root)
    argv = ["--store", root, "compare", "news@1.0.0", "news@1.1.0", "--no-clusters", "--json"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["by_label"]
    assert {r["label"] for r in rows} == set(bbc.labels)
    assert all(r["count"] == 60 and r["change"] > 0 for r in rows)
    # an oracle: purity of one label by a direct loop over exact cosine neighbours
    vectors = news.get("news@1.0.0").vectors()
    labels = np.asarray(bbc.labels)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    k = rows[0]["k"]
    near = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    mine = labels == rows[0]["label"]
    expected = float((labels[near[mine]] == rows[0]["label"]).mean())
    assert rows[0]["purity_a"] == pytest.approx(expected, abs=1e-9)
    text = CliRunner().invoke(cli, argv[:-1])
    assert "by label (k=" in text.output and "sharper" in text.output
    # once both are evaluated, compare also says which is better on the task
    for ref in ("news@1.0.0", "news@1.1.0"):
        evaluate(news, ref, "knn-accuracy")
    tasks = json.loads(CliRunner().invoke(cli, argv).output)["tasks"]
    head = next(r for r in tasks if r["name"] == "knn-accuracy")
    assert head["b"] > head["a"] and head["difference"]["significant"]
    assert "news@1.1.0 is better on knn-accuracy" in head["sentence"]
