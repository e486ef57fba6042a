"""The version page on a version not projected yet: a quick layout first, then the full one.

A fresh store (400 items, 32 dimensions, 6 Gaussian blobs, texts but no labels, so the
page colours by clusters) per module: each test opens a version nobody projected yet.
The full layout the server computes in the background must be the store's artifact that
`embver project` reads, and the page must morph to it without a reload.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_browser import (  # noqa: F401  (the module's fixtures, shared rather than copied)
    _chromium_installed,
    _ensure_front_end,
    browser,
    page,
    painted_share,
    serving,
    shot,
)

import embver
from embver.project.api import project
from embver.project.layout import pca_layout
from embver.server import create_app
from embver.server.binary import decode_codes, decode_points
from embver.server.layouts import STAGES

BASE = "http://127.0.0.1:8765"
N_ITEMS, DIM = 400, 32
SPACES = ("api", "browser")


def _blobs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(6, DIM))
    return (centres[rng.integers(0, 6, N_ITEMS)] + rng.normal(size=(N_ITEMS, DIM))).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def blobs_store(tmp_path_factory):
    """One uncached version per space; the 'browser' one is left for the browser test."""
    root = tmp_path_factory.mktemp("progressive") / "project"
    store = embver.init(root)
    recipe = embver.Recipe(architecture="blobs", extraction="raw", weights="w0", dim=DIM)
    for n, name in enumerate(SPACES):
        ids = [f"{name}-{i:04d}" for i in range(N_ITEMS)]
        texts = [f"blob point {i}" for i in range(N_ITEMS)]
        store.space(name).register(_blobs(n), ids=ids, recipe=recipe, texts=texts)
    yield store
    store.close()


def _wait_full(client: TestClient, ref: str, timeout: float = 120) -> list[dict]:
    """Poll the layout status until the job ends; every status seen, in order."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/versions/{ref}/layout-status").json()
        seen.append(status)
        if status["stage"] in ("full", "failed"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the layout of {ref} did not finish in {timeout} s: {seen[-1]}")


def _in_order(stages: list[str]) -> bool:
    ranks = [STAGES.index(s) for s in stages]
    return ranks == sorted(ranks)


def test_points_answer_quick_then_full_and_the_full_one_is_the_stores_artifact(
    blobs_store, tmp_path
):
    ref = "api@1.0.0"
    vectors = blobs_store.get(ref).vectors()
    with TestClient(create_app(blobs_store), base_url=BASE) as client:
        first = client.get(f"/api/versions/{ref}/points")
        assert first.headers["x-embver-stage"] == "quick"
        # the quick layout is the PCA of the unit vectors (all rows: fewer than the sample)
        [(quick, _)] = decode_points(first.content)
        pca = pca_layout(vectors, dims=2, metric="cosine")
        for axis in range(2):
            assert abs(np.corrcoef(quick[:, axis], pca[:, axis])[0, 1]) > 0.999
        # the clusters do not hold the colours back: one pending category meanwhile
        codes, legend = decode_codes(client.get(f"/api/versions/{ref}/colors").content)
        if legend.get("pending"):
            assert legend["title"] == "cluster" and set(codes.tolist()) == {0}
        seen = _wait_full(client, ref)
        final = seen[-1]
        assert final["stage"] == "full", final
        assert final["history"] == [s for s in STAGES if s in final["history"]]
        assert final["history"][-1] == "full" and "layout" in final["history"]
        assert _in_order([s["stage"] for s in seen])
        assert final["fraction"] == 1.0 and final["items"] == N_ITEMS
        full = client.get(f"/api/versions/{ref}/points")
        assert full.headers["x-embver-stage"] == "full"
        [(coords, _)] = decode_points(full.content)
        codes, legend = decode_codes(
            client.get(f"/api/versions/{ref}/colors", params={"by": "cluster"}).content
        )
    # `embver project`'s call reads the artifact the server wrote: nothing is recomputed
    projection = project(blobs_store, ref, method="umap", dims=2, seed=0)
    assert projection.cached
    spread = np.ptp(projection.coords, axis=0).max()
    assert np.abs(coords - projection.coords).max() <= spread / 65535 + 1e-6
    assert "pending" not in legend
    assert np.array_equal(
        pd.factorize(codes)[0], pd.factorize(projection.clusters.astype(np.int64))[0]
    )
    # and so does the CLI, in a process of its own
    out = tmp_path / "layout.csv"
    root = str(blobs_store.location.root)
    command = [sys.executable, "-m", "embver.cli", "--store", root, "project", ref, "--json"]
    result = subprocess.run([*command, "-o", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert '"cached": true' in result.stdout
    table = pd.read_csv(out)
    assert table["id"].tolist() == blobs_store.get(ref).ids
    assert np.abs(coords - table[["x", "y"]].to_numpy()).max() <= spread / 65535 + 1e-5


def test_status_of_an_unknown_method_is_refused_in_one_line(blobs_store):
    with TestClient(create_app(blobs_store), base_url=BASE) as client:
        response = client.get("/api/versions/api@1.0.0/layout-status", params={"method": "mds"})
    assert response.status_code == 400
    assert "umap" in response.json()["detail"] and "\n" not in response.json()["detail"]


def test_page_shows_the_quick_layout_then_morphs_to_the_full_one(page, blobs_store):  # noqa: F811
    _ensure_front_end()
    with serving(create_app(blobs_store)) as url:
        page.goto(url + "/#/version/browser@1.0.0")
        page.wait_for_function("window.__embver && window.__embver.firstPaint")
        page.evaluate("window.__sameDocument = true")
        assert page.evaluate("window.__embver.layoutStages[0]") == "quick"
        first = shot(page, "progressive-quick", page.locator("#plot"))
        assert painted_share(first) > 0.005
        page.wait_for_function("window.__embver.ready")
        assert page.evaluate("window.__sameDocument") is True  # no reload
        assert page.evaluate("window.__embver.layoutStages") == ["quick", "full"]
        polled = page.evaluate("window.__embver.statusStages")
        assert polled[-1] == "full" and _in_order(polled)
        assert "ready" in page.locator(".layout-progress").inner_text()
        # the page now shows the full layout: the one the server serves as full
        drawn = page.evaluate("['x', 'y'].map((a) => Array.from(window.__embver.panes[0][a]))")
        full = page.evaluate(
            "fetch('/api/versions/browser@1.0.0/points')"
            ".then((r) => r.headers.get('X-Embver-Stage'))"
        )
        assert full == "full"
        shot(page, "progressive-full", page.locator("#plot"))
        legend = page.locator(".legend-title").inner_text()
        assert legend == "cluster" and page.locator(".legend-row").count() >= 2
    projection = project(blobs_store, "browser@1.0.0", method="umap", dims=2, seed=0)
    assert projection.cached
    # drawn coordinates are the full layout scaled into [-0.95, 0.95]: same shape
    x, y = np.asarray(drawn[0]), np.asarray(drawn[1])
    assert np.corrcoef(x, projection.coords[:, 0])[0, 1] > 0.999
    assert np.corrcoef(y, projection.coords[:, 1])[0, 1] > 0.999
    assert page.console_errors == []
