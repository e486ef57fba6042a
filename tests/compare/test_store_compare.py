"""store.compare, store.adapter, the PATCH verdict at registration, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import ortho_group

import embver
from embver.cli import cli
from embver.compare import Comparison
from embver.errors import InvalidInputError, NotFoundError


def recipe(weights: str, dim: int = 24, architecture: str = "arch") -> embver.Recipe:
    return embver.Recipe(architecture=architecture, extraction="mean", weights=weights, dim=dim)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, dim))
    return (centres[rng.integers(0, 8, size=n)] + 0.4 * rng.normal(size=(n, dim))).astype(
        np.float32
    )


@pytest.fixture
def two_versions(store):
    """1.0.0 over items 0..299; a rotated PATCH over items 20..319 (20 ids on each side only)."""
    x = clustered(320, 24, seed=0)
    ids = [f"item-{i:04d}" for i in range(320)]
    space = store.space("signs")
    space.register(x[:300], ids=ids[:300], recipe=recipe("w1"))
    rotation = ortho_group.rvs(24, random_state=1).astype(np.float32)
    space.register(x[20:] @ rotation, ids=ids[20:], recipe=recipe("w2"))
    return store


def test_compare_reports_ids_on_one_side_only(two_versions):
    report = two_versions.compare("signs@1.0.0", "signs@1.0.1", k=(5, 10), clusters=False)
    assert isinstance(report, Comparison)
    assert report.n_shared == 280
    assert report.only_old == {"count": 20, "examples": [f"item-{i:04d}" for i in range(10)]}
    assert report.only_new["count"] == 20 and report.only_new["examples"][0] == "item-0300"


def test_shared_vectors_pair_the_items_both_versions_hold(two_versions):
    from embver.compare.api import Pairing, shared_vectors

    pairing = shared_vectors(two_versions, "signs@1.0.0", "signs@1.0.1")
    assert isinstance(pairing, Pairing)
    assert (pairing.old.ref, pairing.new.ref) == ("signs@1.0.0", "signs@1.0.1")
    assert pairing.ids == [f"item-{i:04d}" for i in range(20, 300)]
    assert pairing.x.shape == (280, 24) and pairing.y.shape == (280, 24)
    assert pairing.x.dtype == np.float32 and pairing.y.dtype == np.float32
    # row i of x and of y is the same item: the PATCH is the old vectors rotated
    rotation = ortho_group.rvs(24, random_state=1).astype(np.float32)
    np.testing.assert_allclose(pairing.x @ rotation, pairing.y, atol=1e-4)
    assert pairing.only_old == {"count": 20, "examples": [f"item-{i:04d}" for i in range(10)]}
    assert pairing.only_new["count"] == 20 and pairing.only_new["examples"][0] == "item-0300"
    with pytest.raises(AttributeError):
        pairing.ids = []  # type: ignore[misc]


def test_compare_of_a_rotation_keeps_structure_but_not_vectors(two_versions):
    report = two_versions.compare("signs@1.0.0", "signs@1.0.1", k=(5, 10), clusters=False)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["neighbourhood"]["10"]["overlap"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert data["structure"]["cka"] == pytest.approx(1.0, abs=1e-6)
    assert data["same_space"]["cosine"]["median"] < 0.5
    best = max(s["retention"] for s in data["migration"]["scores"] if s["kind"] == "procrustes")
    assert best == pytest.approx(1.0, abs=1e-6)
    text = report.to_text()
    assert "debiased CKA" in text and "only in old: 20" in text


def test_a_rotated_patch_is_recorded_as_adapter(two_versions):
    assert two_versions.get("signs@1.0.1").verdict["label"] == "adapter"


def test_adapter_fit_store_and_transform(two_versions):
    from embver.compare.api import fit_adapter

    fitted = fit_adapter(two_versions, "signs@1.0.0", "signs@1.0.1", kind="procrustes")
    assert fitted.retention == pytest.approx(1.0, abs=1e-6)
    loaded = two_versions.adapter("signs@1.0.0", "signs@1.0.1")
    old = two_versions.get("signs@1.0.0").vectors(["item-0100"])
    new = two_versions.get("signs@1.0.1").vectors(["item-0100"])
    mapped = loaded.transform(old)
    cosine = float(mapped[0] @ new[0] / np.linalg.norm(mapped[0]) / np.linalg.norm(new[0]))
    assert cosine == pytest.approx(1.0, abs=1e-5)


def test_adapter_across_dimensions(store):
    x = clustered(200, 16, seed=2)
    ids = [f"i{i}" for i in range(200)]
    store.space("a").register(x, ids=ids, recipe=recipe("w", dim=16))
    basis = ortho_group.rvs(32, random_state=3)[:16].astype(np.float32)
    store.space("b").register(x @ basis, ids=ids, recipe=recipe("w", dim=32))
    from embver.compare.api import fit_adapter

    fitted = fit_adapter(store, "a@1.0.0", "b@1.0.0", kind="ridge")
    assert fitted.transform(x[:3]).shape == (3, 32) and fitted.retention > 0.95
    report = store.compare("a@1.0.0", "b@1.0.0", k=10, clusters=False, migration=False)
    assert report.same_space is None and report.dims == (16, 32)


def test_missing_adapter_names_the_command(two_versions):
    with pytest.raises(NotFoundError, match="adapter fit"):
        two_versions.adapter("signs@1.0.0", "signs@1.0.1")


def test_too_few_shared_items_are_refused(store):
    store.space("a").register(clustered(10, 24, 0), ids=list("abcdefghij"), recipe=recipe("w"))
    store.space("b").register(clustered(10, 24, 1), ids=list("abcklmnopq"), recipe=recipe("w"))
    with pytest.raises(InvalidInputError, match="share 3 item ids"):
        store.compare("a@1.0.0", "b@1.0.0")


def test_cli_compare_json_and_text(two_versions):
    runner = CliRunner()
    root = str(two_versions.location.root)
    args = ["--store", root, "compare", "signs@1.0.0", "signs@1.0.1", "--k", "5,10"]
    result = runner.invoke(cli, [*args, "--no-clusters", "--no-maps", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ks"] == [5, 10] and data["only_old"]["count"] == 20
    text = runner.invoke(cli, [*args, "--no-clusters", "--no-maps"])
    assert "neighbourhood" in text.output and "linear CKA" in text.output


def test_cli_compare_shows_every_figure_beside_its_floor_or_chance(two_versions):
    runner = CliRunner()
    root = str(two_versions.location.root)
    args = ["--store", root, "compare", "signs@1.0.0", "signs@1.0.1", "--k", "5,10"]
    data = json.loads(runner.invoke(cli, [*args, "--json"]).output)
    clusters, migration = data["clusters"], data["migration"]
    assert clusters["floor"]["ari"] > clusters["chance_ari_p95"] > 0  # a rotation: no change
    assert not (clusters["split"] or clusters["merged"] or clusters["new"] or clusters["vanished"])
    assert migration["chance"] == pytest.approx(5 / (migration["pool"] - 1))
    assert migration["chance_full"] == pytest.approx(5 / 279)
    assert data["structure"]["spearman"]["pairs"] == 280 * 279 // 2
    text = runner.invoke(cli, args).output
    for shown in ("noise", "(floor", "chance p95", "beyond the floor", "all 280 items", "(all)"):
        assert shown in text, shown


def test_cli_adapter_fit_then_apply(two_versions, tmp_path):
    runner = CliRunner()
    root = str(two_versions.location.root)
    fit = runner.invoke(
        cli, ["--store", root, "adapter", "fit", "signs@1.0.0", "signs@1.0.1", "--json"]
    )
    assert fit.exit_code == 0, fit.output
    assert json.loads(fit.output)["retention"] > 0.95
    fitted = json.loads(fit.output)  # 280 shared items: 56 test items, chance k/(h-1), k/(n-1)
    assert fitted["pool"] == 56 and fitted["chance"] == pytest.approx(10 / 55)
    assert fitted["n_items"] == 280 and fitted["chance_full"] == pytest.approx(10 / 279)
    assert fitted["retention_full"] == pytest.approx(1.0, abs=1e-6)
    shown = runner.invoke(cli, ["--store", root, "adapter", "fit", "signs@1.0.0", "signs@1.0.1"])
    assert "on 56 test items (chance 0.1818)" in shown.output and "against all 280" in shown.output
    stored = runner.invoke(
        cli, ["--store", root, "adapter", "show", "signs@1.0.0", "signs@1.0.1", "--json"]
    )
    assert json.loads(stored.output)["chance_full"] == pytest.approx(10 / 279)
    out = tmp_path / "mapped.npy"
    applied = runner.invoke(
        cli, ["--store", root, "adapter", "apply", "signs@1.0.0", "signs@1.0.1", "-o", str(out)]
    )
    assert applied.exit_code == 0, applied.output
    assert np.load(out).shape == (300, 24)
    assert len(out.with_suffix(".ids.txt").read_text().split()) == 300


def test_strict_mode_refuses_a_breaking_patch(store):
    from embver.errors import VerdictError

    x = clustered(200, 24, seed=4)
    ids = [f"i{i}" for i in range(200)]
    space = store.space("strict")
    space.register(x, ids=ids, recipe=recipe("w1"))
    store.set_setting("strict", True)
    unrelated = np.random.default_rng(5).normal(size=x.shape).astype(np.float32)
    with pytest.raises(VerdictError, match="breaking"):
        space.register(unrelated, ids=ids, recipe=recipe("w2"))
    assert [str(v.number) for v in store.versions("strict")] == ["1.0.0"]
