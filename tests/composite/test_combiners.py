"""Combiners against hand computations and scikit-learn's PCA."""

from __future__ import annotations

import numpy as np
import pytest

import embver
from embver.composite.combiners import Fitted, combiner_from_config
from embver.errors import IntegrityError, InvalidInputError


@pytest.fixture
def blocks(rng):
    return [
        rng.normal(size=(30, 5)).astype(np.float32),
        rng.normal(size=(30, 3)).astype(np.float32) * 7,
    ]


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_concat_normalises_each_component_then_weights(blocks):
    out = embver.Concat(normalize="l2", weights=(1.0, 0.5)).combine(blocks, None)
    np.testing.assert_allclose(
        out, np.hstack([_unit(blocks[0]), 0.5 * _unit(blocks[1])]), rtol=1e-6
    )
    raw = embver.Concat(normalize=("none", "l2")).combine(blocks, None)
    np.testing.assert_allclose(raw, np.hstack([blocks[0], _unit(blocks[1])]), rtol=1e-6)


def test_zero_rows_stay_zero_under_l2(blocks):
    blocks[1][3] = 0
    out = embver.Concat().combine(blocks, None)
    assert np.all(out[3, 5:] == 0) and np.isfinite(out).all()


def test_mean_is_the_weighted_mean_of_unit_vectors(rng):
    a, b = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    out = embver.Mean(weights=(3, 1)).combine([a, b], None)
    np.testing.assert_allclose(out, (3 * _unit(a) + _unit(b)) / 4, rtol=1e-5)


def test_mean_refuses_unequal_dimensions(blocks):
    with pytest.raises(InvalidInputError, match=r"equal dimension, got dims \[5, 3\]"):
        embver.Mean().output_dim([5, 3])


def test_pca_projection_matches_scikit_learn(blocks):
    from sklearn.decomposition import PCA

    combiner = embver.LearnedProjection(dim=4)
    present = np.ones((30, 2), dtype=bool)
    fitted = combiner.fit(blocks, present)
    out = combiner.combine(blocks, fitted)
    inputs = np.hstack([_unit(blocks[0]), _unit(blocks[1])])
    reference = PCA(n_components=4, svd_solver="full").fit_transform(inputs)
    # same axes up to sign: |correlation| of each output column with sklearn's is 1
    for column in range(4):
        assert abs(np.corrcoef(out[:, column], reference[:, column])[0, 1]) == pytest.approx(
            1, abs=1e-4
        )
    variances = out.var(axis=0)
    assert np.all(np.diff(variances) <= 1e-6)  # ordered by explained variance


def test_pca_is_fitted_on_items_every_component_has(blocks):
    present = np.ones((30, 2), dtype=bool)
    present[:10, 1] = False
    fitted = embver.LearnedProjection(dim=3).fit(blocks, present)
    only_shared = embver.LearnedProjection(dim=3).fit([b[10:] for b in blocks], present[10:])
    assert fitted.hash == only_shared.hash


def test_fitted_parameters_round_trip_and_are_hash_checked(blocks):
    fitted = embver.LearnedProjection(dim=2).fit(blocks, np.ones((30, 2), dtype=bool))
    again = Fitted.from_bytes(fitted.to_bytes(), expected_hash=fitted.hash)
    assert again.hash == fitted.hash
    with pytest.raises(IntegrityError, match="corrupt"):
        Fitted.from_bytes(fitted.to_bytes(), expected_hash="fit:000")


def test_linear_projection_uses_the_given_map(blocks, rng):
    matrix, bias = rng.normal(size=(8, 2)), rng.normal(size=2)
    combiner = embver.LearnedProjection(dim=2, method="linear", matrix=matrix, bias=bias)
    out = combiner.combine(blocks, combiner.fit(blocks, np.ones((30, 2), dtype=bool)))
    expected = np.hstack([_unit(blocks[0]), _unit(blocks[1])]) @ matrix + bias
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_configs_round_trip():
    for combiner in (
        embver.Concat(weights=(1, 2)),
        embver.Mean(normalize="none"),
        embver.LearnedProjection(8),
    ):
        assert combiner_from_config(combiner.config()) == combiner


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: embver.Concat(normalize="zscore"), "normalize='zscore' is unknown"),
        (lambda: embver.Concat(weights=(1, -1)), "weights=.* are invalid"),
        (lambda: embver.Concat(weights=(0, 0)), "not all zero"),
        (lambda: embver.Concat(weights=(1, float("nan"))), "finite"),
        (lambda: embver.LearnedProjection(dim=0), "dim=0 is invalid"),
        (lambda: embver.LearnedProjection(dim=4, method="umap"), "method='umap' is unknown"),
        (lambda: embver.LearnedProjection(dim=4, method="linear"), "needs matrix"),
        (
            lambda: embver.LearnedProjection(dim=4, method="linear", matrix=np.ones((3, 2))),
            r"shape \(3, 2\)",
        ),
        (lambda: embver.LearnedProjection(dim=4, matrix=np.ones((3, 4))), "learns its map"),
        (lambda: embver.Concat(weights=(1, 2)).spec(3), "2 weights for 3 components"),
    ],
)
def test_bad_parameters_are_refused_by_name(make, message):
    with pytest.raises(InvalidInputError, match=message):
        make()


def test_pca_wider_than_the_data_is_refused(blocks):
    with pytest.raises(InvalidInputError, match="needs at least dim items"):
        embver.LearnedProjection(dim=9).fit(blocks, np.ones((30, 2), dtype=bool))
