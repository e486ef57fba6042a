"""The PATCH verdict and the migration maps, on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from embver.compare.maps import fit_map, map_from_bytes
from embver.compare.migration import fit_migration
from embver.compare.verdict import patch_verdict


@pytest.fixture
def clustered():
    """600 items in 12 clusters, 32 dims: neighbour structure like a small embedding."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 32))
    return centres[rng.integers(0, 12, size=600)] + 0.35 * rng.normal(size=(600, 32))


def test_a_tiny_perturbation_is_drop_in(clustered):
    rng = np.random.default_rng(1)
    verdict = patch_verdict(
        clustered, clustered + 1e-3 * rng.normal(size=clustered.shape), "cosine"
    )
    assert verdict.label == "drop-in"
    figures = verdict.to_dict()["figures"]
    assert figures["median_cosine"] > 0.999 and figures["cr_at_k_ci"][0] >= 0.95


def test_a_rotation_needs_an_adapter(clustered):
    rotation = ortho_group.rvs(32, random_state=2)
    verdict = patch_verdict(clustered, clustered @ rotation, "cosine")
    assert verdict.label == "adapter"
    best = verdict.to_dict()["figures"]["best_map"]
    assert best["retention"] >= 0.95 and best["kind"] in ("procrustes", "ridge")


def test_unrelated_vectors_are_breaking(clustered):
    rng = np.random.default_rng(3)
    verdict = patch_verdict(clustered, rng.normal(size=clustered.shape), "cosine")
    assert verdict.label == "breaking"
    assert any("retention" in reason for reason in verdict.reasons)


def test_verdict_to_dict_names_the_thresholds(clustered):
    data = patch_verdict(clustered, clustered, "l2").to_dict()
    assert data["label"] == "drop-in"
    assert data["thresholds"] == {
        "drop_in_median_cosine": 0.99,
        "drop_in_cr10_lower": 0.95,
        "adapter_retention": 0.95,
    }


@pytest.mark.parametrize("kind", ["procrustes", "ridge"])
def test_linear_maps_recover_a_map_across_dimensions(kind, clustered):
    rng = np.random.default_rng(4)
    basis = ortho_group.rvs(48, random_state=4)[:32]  # 32 → 48, semi-orthogonal
    target = 2.0 * clustered @ basis + 1.0
    fitted = fit_map(kind, clustered[:400], target[:400], metric_source="l2", metric_target="l2")
    mapped = fitted.transform(clustered[400:])
    assert mapped.shape == (200, 48)
    np.testing.assert_allclose(mapped, target[400:], atol=1e-3)
    again = map_from_bytes(fitted.to_bytes())
    np.testing.assert_array_equal(again.transform(clustered[400:]), mapped)
    assert rng is not None


def test_mlp_beats_linear_maps_on_a_nonlinear_change(clustered):
    target = np.tanh(1.5 * clustered[:, :16]) + 0.3 * clustered[:, 16:] ** 2
    migration = fit_migration(
        clustered, target, kinds=("ridge", "mlp"), directions=("old->new",), seed=0
    )
    by_kind = {s.kind: s.retention for s in migration.scores}
    assert by_kind["mlp"] >= by_kind["ridge"] - 0.02
    mlp = migration.maps[("mlp", "old->new")]
    assert map_from_bytes(mlp.to_bytes()).transform(clustered[:5]).shape == (5, 16)


def test_retention_of_an_exact_map_is_one(clustered):
    rotation = ortho_group.rvs(32, random_state=5)
    migration = fit_migration(clustered, clustered @ rotation, kinds=("procrustes",), seed=0)
    for score in migration.scores:
        assert score.retention == pytest.approx(1.0, abs=1e-9)
    assert migration.to_dict()["retention_of_reembed"] == 1.0


@pytest.fixture
def wide():
    """60 items of 300 dims mapped to 200 dims: fewer items than dimensions."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(60, 300))
    y = x @ rng.normal(size=(300, 200)) / 17 + 0.1 * rng.normal(size=(60, 200)) + 2.0
    return x, y


def test_dual_ridge_equals_the_primal_form(wide):
    from embver.compare.maps import fit_ridge

    x, y = wide
    primal = fit_ridge(x, y, metric_source="l2", metric_target="l2", dual=False)
    dual = fit_ridge(x, y, metric_source="l2", metric_target="l2", dual=True)
    assert float(dual.arrays["alpha"]) == float(primal.arrays["alpha"])
    np.testing.assert_allclose(dual.arrays["weight"], primal.arrays["weight"], atol=1e-8)
    np.testing.assert_allclose(dual.arrays["bias"], primal.arrays["bias"], atol=1e-8)
    # fewer rows than dimensions picks the dual form by itself
    auto = fit_ridge(x, y, metric_source="l2", metric_target="l2")
    np.testing.assert_array_equal(auto.arrays["weight"], dual.arrays["weight"])


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_dual_procrustes_equals_the_primal_form_on_the_training_span(wide, metric):
    from embver.compare.maps import fit_procrustes

    x, y = wide
    y = y[:, :150]
    primal = fit_procrustes(x, y, metric_source=metric, metric_target=metric, dual=False)
    dual = fit_procrustes(x, y, metric_source=metric, metric_target=metric, dual=True)
    # the training rows and (before normalisation) affine mixtures of them: where the
    # optimum is unique; a cosine map normalises the mixture off that affine span
    mixtures = np.random.default_rng(13).dirichlet(np.ones(60), size=25) @ x
    for vectors in (x, mixtures) if metric == "l2" else (x,):
        np.testing.assert_allclose(dual.transform(vectors), primal.transform(vectors), atol=1e-5)


def test_dual_procrustes_recovers_an_exact_rotation_of_wide_vectors():
    from embver.compare.maps import fit_procrustes

    rng = np.random.default_rng(14)
    x = rng.normal(size=(40, 256))
    rotation = ortho_group.rvs(256, random_state=14)
    fitted = fit_procrustes(x, 3.0 * x @ rotation + 1.0, metric_source="l2", metric_target="l2")
    np.testing.assert_allclose(fitted.transform(x), 3.0 * x @ rotation + 1.0, atol=1e-4)


def test_retention_of_an_exact_rotation_is_one_in_the_pool_and_the_full_index(clustered):
    rotation = ortho_group.rvs(32, random_state=6)
    migration = fit_migration(clustered, clustered @ rotation, kinds=("procrustes", "ridge"))
    for score in migration.scores:
        assert score.validation == pytest.approx(1.0, abs=1e-9)
        assert score.retention == pytest.approx(1.0, abs=1e-9)
        assert score.retention_full == pytest.approx(1.0, abs=1e-9)
    data = migration.to_dict()
    # 600 items: 120 test, 120 validation, 360 train; chance k/(h-1) and k/(n-1)
    assert (data["pool"], data["n_validation"], data["n_train"], data["n_items"]) == (
        120, 120, 360, 600,
    )  # fmt: skip
    assert data["chance"] == pytest.approx(10 / 119) and data["chance_full"] == pytest.approx(
        10 / 599
    )


def test_retention_of_unrelated_vectors_sits_at_its_closed_form_chance_level():
    rng = np.random.default_rng(15)
    n, k = 1500, 10
    source, target = rng.normal(size=(n, 16)), rng.normal(size=(n, 16))
    migration = fit_migration(source, target, kinds=("ridge",), directions=("old->new",), k=k)
    (score,) = migration.scores
    pool, queries = migration.n_holdout, migration.n_queries
    assert pool == 300 and migration.chance() == k / (pool - 1)
    # mean of `queries` per-query recalls, each a k-draw share: standard error ≈ √(c/k/queries)
    for value, chance in ((score.retention, k / (pool - 1)), (score.retention_full, k / (n - 1))):
        assert abs(value - chance) < 4 * np.sqrt(chance / k / queries) + 1e-3


def test_the_best_map_is_chosen_on_validation_items_not_on_the_reported_ones():
    from embver.compare.migration import MapScore, Migration

    scores = [
        MapScore("procrustes", "old->new", 0.90, 0.8, 1.0, 4, 4, validation=0.99),
        MapScore("ridge", "old->new", 0.97, 0.9, 1.0, 4, 4, validation=0.95),
    ]
    best = Migration(scores, 10, 5, 5, 2, n_validation=5, n_items=20).best("old->new")
    assert best is not None and best.kind == "procrustes" and best.retention == 0.90


def test_the_verdict_states_pool_size_and_chance_levels(clustered):
    rotation = ortho_group.rvs(32, random_state=2)
    verdict = patch_verdict(clustered, clustered @ rotation, "cosine")
    best = verdict.figures["best_map"]
    assert best["pool"] == 120 and best["chance"] == pytest.approx(10 / 119)
    assert best["n_items"] == 600 and best["chance_full"] == pytest.approx(10 / 599)
    assert best["retention_full"] == pytest.approx(1.0, abs=1e-9)
    assert "chosen on validation items" in verdict.reasons[-1] and "chance" in verdict.reasons[-1]


def test_the_chosen_map_is_refitted_on_train_and_validation_items():
    rng = np.random.default_rng(16)
    x = rng.normal(size=(30, 20))
    rotation = ortho_group.rvs(20, random_state=16)
    migration = fit_migration(
        x, x @ rotation, metric_old="l2", metric_new="l2", kinds=("procrustes",),
        directions=("old->new",), k=3,
    )  # fmt: skip
    # 6 test, 6 validation, 18 train items: 18 rows cannot pin down a 20-d rotation, 24 can
    assert (migration.n_holdout, migration.n_validation, migration.n_train) == (6, 6, 18)
    (train_only,) = migration.scores
    best = migration.best("old->new")
    assert best is migration.chosen["old->new"] and best.validation == train_only.validation
    fitted = migration.maps[("procrustes", "old->new")]
    np.testing.assert_allclose(fitted.transform(x), x @ rotation, atol=1e-4)
    assert best.retention_full == pytest.approx(1.0) and migration.to_dict()["best_old_to_new"][
        "retention_full"
    ] == pytest.approx(1.0)
