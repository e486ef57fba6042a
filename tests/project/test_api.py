"""Projections and drift of stored versions: caching, alignment, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.manifold import trustworthiness

from embver.cli import cli
from embver.errors import InvalidInputError
from embver.project.align import displacement
from embver.project.api import PROJECTION_KIND, drift, project


def test_projection_is_cached_and_asking_twice_computes_nothing(bbc_store, bbc, monkeypatch):
    import embver.project.api as api

    first = project(bbc_store, "news@1.0.0", method="pca")
    assert not first.cached

    def refuse(*args, **kwargs):
        raise AssertionError("a cached projection was computed again")

    monkeypatch.setattr(api, "compute_layout", refuse)
    monkeypatch.setattr(api, "cluster_vectors", refuse)
    second = project(bbc_store, "news@1.0.0", method="pca")
    assert second.cached
    np.testing.assert_array_equal(first.coords, second.coords)
    np.testing.assert_array_equal(first.clusters, second.clusters)
    assert second.ids == bbc.ids


def test_cache_key_depends_on_method_seed_and_params(bbc_store):
    keys = {
        project(bbc_store, "news@1.0.0", method="pca").key,
        project(bbc_store, "news@1.0.0", method="pca", seed=1).key,
        project(bbc_store, "news@1.0.0", method="pca", dims=3).key,
    }
    assert len(keys) == 3
    stored = bbc_store.artifacts.find(PROJECTION_KIND)
    assert keys <= {a.key for a in stored}
    meta = next(a.meta for a in stored if a.key in keys)
    assert "scipy" in meta["libraries"] and meta["method"] == "pca"


def test_umap_projection_of_a_stored_version(bbc_store, bbc):
    projection = project(bbc_store, "news@1.0.0")
    assert projection.coords.shape == (len(bbc.ids), 2)
    assert trustworthiness(bbc.vectors, projection.coords, n_neighbors=10, metric="cosine") >= 0.88
    assert projection.n_clusters >= 3
    again = project(bbc_store, "news@1.0.0")
    assert again.cached and again.key == projection.key


def test_patch_is_aligned_to_its_parent(bbc_store):
    parent = project(bbc_store, "news@1.0.0")
    child = project(bbc_store, "news@1.0.1", align_to="news@1.0.0")
    assert child.aligned_to == "news@1.0.0"
    moved = displacement(child.coords, child.ids, parent.coords, parent.ids)
    assert np.median(moved) < 0.2


def test_drift_of_a_batch_within_a_version(bbc_store):
    report = drift(bbc_store, "news@1.0.0", reference={"batch": "train"}, current={"batch": "june"})
    assert report.n_current == 100 and report.n_reference == 200
    assert report.mmd_p_value > 0.05  # the "june" batch is every third article: no drift
    assert report.psi is not None and report.psi_level == "stable"


def test_drift_selection_that_matches_nothing_is_refused(bbc_store):
    with pytest.raises(InvalidInputError, match="current selects 0"):
        drift(bbc_store, "news@1.0.0", reference={"batch": "train"}, current={"batch": "may"})


def test_unknown_method_is_refused_before_any_work(bbc_store):
    with pytest.raises(InvalidInputError, match="method"):
        project(bbc_store, "news@1.0.0", method="isomap")


@pytest.mark.parametrize(
    "method, params",
    [
        ("umap", {"align_to_ref": "news@1.0.0"}),
        ("umap", {"perplexity": 30}),
        ("pca", {"align_to_ref": "news@1.0.0"}),
        ("pca", {"n_neighbors": 15}),
        ("tsne", {"min_dist": 0.1}),
    ],
)
def test_a_parameter_the_method_does_not_take_is_refused_before_any_work(bbc_store, method, params):
    before = {a.key for a in bbc_store.artifacts.find(PROJECTION_KIND)}
    [name] = params
    with pytest.raises(InvalidInputError, match=rf"{method} takes no parameter {name!r}"):
        project(bbc_store, "news@1.0.1", method=method, align_to="news@1.0.0", **params)
    assert {a.key for a in bbc_store.artifacts.find(PROJECTION_KIND)} == before


TYPED_CALLS = """
from embver.project.api import project
from embver.store import Store


def lays_out(store: Store) -> None:
    project(store, "a@1.0.0", method="umap", align_to="a@0.9.0", n_neighbors=10)
    project(store, "a@1.0.0", method="umap", align_to_ref="a@0.9.0")
"""


def test_type_checking_refuses_a_misspelt_projection_keyword(tmp_path):
    """``project``'s parameters are typed (no ``**params: Any``): the keyword that broke the
    compare view (``align_to_ref=``) fails mypy at the call, the right ones pass."""
    import subprocess
    import sys
    from pathlib import Path

    caller = tmp_path / "caller.py"
    caller.write_text(TYPED_CALLS)
    config = Path(__file__).resolve().parents[2] / "pyproject.toml"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), str(caller)],
        capture_output=True,
        text=True,
        cwd=config.parent,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout
    assert 'caller.py:8: error: Unexpected keyword argument "align_to_ref"' in errors[0]


def test_cli_project_json_and_output(bbc_store, tmp_path):
    out = tmp_path / "layout.csv"
    root = str(bbc_store.location.root)
    argv = ["--store", root, "project", "news@1.0.0", "--method", "pca", "-o", str(out), "--json"]
    CliRunner().invoke(cli, argv)  # cached by now whichever test of this module ran first
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "pca" and data["items"] == 300 and data["cached"]
    assert data["cluster_summaries"][0]["top_terms"]
    assert out.read_text().splitlines()[0] == "id,x,y,cluster"


def test_cli_drift_text(bbc_store):
    root = str(bbc_store.location.root)
    result = CliRunner().invoke(
        cli,
        [
            "--store",
            root,
            "drift",
            "news@1.0.0",
            "--reference",
            "batch=train",
            "--current",
            "batch=june",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "MMD" in result.output and "PSI" in result.output


def test_cli_dimension_reads_a_principal_component(bbc_store):
    root = str(bbc_store.location.root)
    result = CliRunner().invoke(
        cli, ["--store", root, "dimension", "news@1.0.0", "--pc", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["axis"] == "PC 1" and 0 < data["variance_share"] < 1
    assert data["label_eta"] > 0.5  # the first direction of news embeddings separates topics
    assert len(data["top"]) == 5


def test_store_methods_delegate_to_the_project_api(bbc_store):
    projection = bbc_store.project("news@1.0.0", method="pca")
    assert (
        projection.cached and projection.key == project(bbc_store, "news@1.0.0", method="pca").key
    )
    report = bbc_store.drift("news@1.0.0", reference={"batch": "train"}, current={"batch": "june"})
    assert report.n_current == 100


def test_progress_hears_the_steps_of_a_computed_projection_only(bbc_store, bbc):
    heard: list[str] = []
    project(bbc_store, "news@1.0.0", method="pca", seed=11, progress=heard.append)
    assert heard == ["reading news@1.0.0", f"pca layout of {len(bbc.ids)} items", "clusters"]
    heard.clear()
    assert project(bbc_store, "news@1.0.0", method="pca", seed=11, progress=heard.append).cached
    assert heard == []
