"""compare_arrays reports its steps as they start."""

from __future__ import annotations

import numpy as np

from embver.compare.comparison import compare_arrays


def test_progress_hears_each_step_as_it_starts(rng):
    old = rng.standard_normal((200, 8)).astype(np.float32)
    new = old + 0.01 * rng.standard_normal((200, 8)).astype(np.float32)
    heard: list[str] = []
    report = compare_arrays(old, new, k=5, progress=heard.append, clusters=False)
    # each step's name, then what it does: "neighbours: exact 5-NN of 200 queries among 200 items"
    names = [line.split(":")[0] for line in heard]
    assert names == list(report.timings)
    assert names[:3] == ["neighbours", "neighbourhood", "structure"] and "migration" in names
    assert heard[0] == "neighbours: exact 5-NN of 200 queries among 200 items"


def test_movers_break_ties_by_the_second_measure():
    from embver.compare.neighbourhood import tied_with_last, top_movers

    jaccard = np.array([0.0, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    gap = np.array([-0.1, -0.9, -0.5, -0.3, -0.7, 0.0, -0.2, -0.6])
    chosen = top_movers(jaccard, 4, tie_break=gap)
    assert chosen.tolist() == [4, 7, 2, 3]  # all at jaccard 0, farthest old neighbours first
    assert tied_with_last(jaccard, chosen) == 6


def test_compare_lists_the_tied_movers_whose_old_neighbours_moved_farthest():
    from embver.compare.comparison import compare_arrays
    from embver.compare.neighbourhood import overlap_scores
    from embver.neighbors import knn

    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 8))
    y = x.copy()
    y[140:] = rng.normal(size=(60, 8))  # the last 60 items move: Jaccard 0 for most of them
    report = compare_arrays(x, y, k=5, clusters=False, migration=False)
    _, jaccard = overlap_scores(knn(x, 5), knn(y, 5), 5)
    assert report.mover_ties["tied"] == int(np.sum(jaccard == 0)) > 20
    # the independent second measure: cosine to the old neighbours minus to the new ones
    unit = y / np.linalg.norm(y, axis=1, keepdims=True)
    old_nb, new_nb = knn(x, 5), knn(y, 5)
    gap = np.array([unit[i] @ unit[old_nb[i]].T.mean(1) - unit[i] @ unit[new_nb[i]].T.mean(1)
                    for i in range(200)])  # fmt: skip
    tied = np.flatnonzero(jaccard == 0)
    expected = tied[np.argsort(gap[tied], kind="stable")][:10]
    assert [m["id"] for m in report.movers] == [str(i) for i in expected]
    assert f"{report.mover_ties['tied']} of 200 items tie at jaccard 0.00" in report.to_text()
