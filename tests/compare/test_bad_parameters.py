"""One refusal per bad parameter, each naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from embver.compare.clusters import compare_clusterings
from embver.compare.comparison import compare_arrays
from embver.compare.maps import fit_map, map_from_bytes
from embver.compare.migration import fit_migration
from embver.compare.stats import bootstrap_mean_interval, summarize
from embver.compare.structure import linear_cka, pairwise_spearman
from embver.compare.trust import trustworthiness
from embver.compare.verdict import patch_verdict
from embver.errors import IntegrityError, InvalidInputError
from embver.neighbors import knn

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 8)).astype(np.float32)
Y = RNG.normal(size=(60, 6)).astype(np.float32)


def test_knn_refuses_k_zero():
    with pytest.raises(InvalidInputError, match="k=0"):
        knn(X, 0)


def test_knn_refuses_k_beyond_the_items():
    with pytest.raises(InvalidInputError, match="k=60 needs at least 61 items"):
        knn(X, 60)


def test_knn_refuses_an_unknown_metric():
    with pytest.raises(InvalidInputError, match="metric='hamming'"):
        knn(X, 5, metric="hamming")


def test_knn_refuses_nan():
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        knn(bad, 5)


def test_knn_refuses_one_dimensional_input():
    with pytest.raises(InvalidInputError, match="2-D"):
        knn(X[0], 5)


def test_knn_refuses_queries_of_another_dimension():
    with pytest.raises(InvalidInputError, match="dimension 6"):
        knn(X, 5, queries=Y)


def test_knn_refuses_a_zero_block():
    with pytest.raises(InvalidInputError, match="block=0"):
        knn(X, 5, block=0)


def test_compare_refuses_unpaired_rows():
    with pytest.raises(InvalidInputError, match="60 rows but new has 59"):
        compare_arrays(X, Y[:59])


def test_compare_refuses_a_too_large_k():
    with pytest.raises(InvalidInputError, match="k=59 is too large"):
        compare_arrays(X, Y, k=(10, 59))


def test_compare_refuses_an_empty_k():
    with pytest.raises(InvalidInputError, match="k is empty"):
        compare_arrays(X, Y, k=())


def test_compare_refuses_a_negative_sample():
    with pytest.raises(InvalidInputError, match="sample=-5"):
        compare_arrays(X, Y, sample=-5)


def test_compare_refuses_ids_of_the_wrong_length():
    with pytest.raises(InvalidInputError, match="ids has 3 entries"):
        compare_arrays(X, Y, ids=["a", "b", "c"])


def test_cka_refuses_unpaired_rows():
    with pytest.raises(InvalidInputError, match="x has 60 rows but y has 50 .*in the same order"):
        linear_cka(X, Y[:50])


def test_cka_refuses_constant_data():
    with pytest.raises(InvalidInputError, match="constant"):
        linear_cka(np.ones((10, 3)), Y[:10])


def test_spearman_refuses_too_few_pairs():
    with pytest.raises(InvalidInputError, match="pairs=2"):
        pairwise_spearman(X, Y, pairs=2)


def test_trustworthiness_refuses_k_of_half_the_items():
    with pytest.raises(InvalidInputError, match="below n/2"):
        trustworthiness(X, Y, k=30)


def test_clusterings_of_different_lengths_are_refused():
    with pytest.raises(InvalidInputError, match="differ in length"):
        compare_clusterings(np.zeros(5), np.zeros(6))


def test_cluster_share_outside_its_range_is_refused():
    with pytest.raises(InvalidInputError, match="share=0.7"):
        compare_clusterings(np.zeros(5), np.zeros(5), share=0.7)


def test_unknown_map_kind_is_refused():
    with pytest.raises(InvalidInputError, match="'spline'"):
        fit_map("spline", X, Y)


def test_unknown_direction_is_refused():
    with pytest.raises(InvalidInputError, match="direction 'sideways'"):
        fit_migration(X, Y, directions=("sideways",))


def test_map_of_the_wrong_input_dimension_is_refused():
    fitted = fit_map("ridge", X, Y)
    with pytest.raises(InvalidInputError, match="dimension 8; got 6"):
        fitted.transform(Y)


def test_stored_map_of_unknown_kind_is_refused():
    import io
    import json

    buffer = io.BytesIO()
    header = json.dumps({"kind": "other", "normalize_input": False}).encode()
    np.savez(buffer, __header__=np.frombuffer(header, dtype=np.uint8), weight=np.eye(2))
    with pytest.raises(InvalidInputError, match="unknown map kind 'other'"):
        map_from_bytes(buffer.getvalue())


def test_corrupt_stored_map_is_refused():
    payload = bytearray(fit_map("ridge", X, Y).to_bytes())
    payload[len(payload) // 2] ^= 0xFF
    with pytest.raises(IntegrityError, match="unreadable"):
        map_from_bytes(bytes(payload))


def test_migration_refuses_too_few_items():
    with pytest.raises(InvalidInputError, match="too few"):
        fit_migration(X[:12], Y[:12])


def test_verdict_refuses_unpaired_rows():
    with pytest.raises(InvalidInputError, match="old has 60 rows but new has 50 .*same order"):
        patch_verdict(X, X[:50], "cosine")


def test_verdict_refuses_three_items():
    with pytest.raises(InvalidInputError, match="at least 4"):
        patch_verdict(X[:3], X[:3], "cosine")


def test_summary_refuses_no_values():
    with pytest.raises(InvalidInputError, match="empty"):
        summarize(np.array([]))


def test_bootstrap_refuses_a_level_of_one():
    with pytest.raises(InvalidInputError, match="level=1.0"):
        bootstrap_mean_interval(np.ones(5), level=1.0)


#: every science function that takes two paired arrays, called with 60 rows against 59,
#: and the names its parameters give the two sides
UNPAIRED = {
    "compare_arrays": (lambda x, y: compare_arrays(x, y), "old", "new"),
    "linear_cka": (lambda x, y: linear_cka(x, y), "x", "y"),
    "fit_map": (lambda x, y: fit_map("ridge", x, y), "source", "target"),
    "fit_migration": (lambda x, y: fit_migration(x, y), "old", "new"),
    "patch_verdict": (lambda x, y: patch_verdict(x, y, "cosine"), "old", "new"),
    "trustworthiness": (lambda x, y: trustworthiness(x, y), "x", "y"),
}


@pytest.mark.parametrize("name", sorted(UNPAIRED))
def test_unpaired_rows_are_refused_with_one_message(name):
    # one check_paired() behind all of them: both shapes and what to do, whichever is called
    call, first, second = UNPAIRED[name]
    expected = (
        rf"^{first} has 60 rows but {second} has 59 \(shapes \(60, 8\) and \(59, 6\)\); "
        r"pass the vectors of the same items, in the same order, on both sides$"
    )
    with pytest.raises(InvalidInputError, match=expected):
        call(X, Y[:59])
