"""The version page's first frame on a big uncached version: the sampled preview.

Above ``QUICK_SAMPLE`` items the first ``/points?preview=true`` answers with the quick
layout of just the sampled rows its PCA axes are fitted on, read without the content-hash
check (a segment's hash covers all its rows) and marked unverified; the page then asks
for every row (the checked full read), which starts the full layout. The sample is set
to 300 here so that 1 200 items are "big" (the server runs in this process).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_browser import (  # noqa: F401  (the module's fixtures, shared rather than copied)
    _chromium_installed,
    _ensure_front_end,
    browser,
    page,
    serving,
    shot,
)
from test_progressive import _wait_full

import embver
from embver.project.api import cached_projection, project
from embver.server import create_app, data
from embver.server.binary import decode_points_and_rows

BASE = "http://127.0.0.1:8765"
N_ITEMS, DIM, SAMPLE = 1200, 24, 300


@pytest.fixture(autouse=True)
def _small_sample(monkeypatch):
    monkeypatch.setattr(data, "QUICK_SAMPLE", SAMPLE)


def _blobs(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(6, DIM))
    points = centres[rng.integers(0, 6, N_ITEMS)] + rng.normal(size=(N_ITEMS, DIM))
    return points.astype(np.float32)


def _store(root: Path, spaces: tuple[str, ...]) -> embver.Store:
    store = embver.init(root)
    recipe = embver.Recipe(architecture="blobs", extraction="raw", weights="w0", dim=DIM)
    for n, name in enumerate(spaces):
        ids = [f"{name}-{i:05d}" for i in range(N_ITEMS)]
        texts = [f"blob point {i}" for i in range(N_ITEMS)]
        store.space(name).register(_blobs(n), ids=ids, recipe=recipe, texts=texts)
    return store


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    """Uncached versions, one per test that opens one."""
    spaces = ("api", "small", "browser", "started")
    store = _store(tmp_path_factory.mktemp("preview") / "project", spaces)
    yield store
    store.close()


def _sampled_rows() -> np.ndarray:
    """The rows an independent reading of the contract names: a seeded sample (seed 0)."""
    rows = np.random.default_rng(0).choice(N_ITEMS, size=SAMPLE, replace=False)
    return np.sort(rows)


def _oracle_layout(vectors: np.ndarray) -> np.ndarray:
    """PCA of the unit rows by SVD (not the eigh of the code under test): (n, 2)."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centred = unit - unit.mean(axis=0)
    _, _, axes = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    return centred @ axes[:2].T


def _damage_a_vector(version: embver.Version, vectors: np.ndarray, row: int) -> None:
    """Flip one bit of row ``row``'s first value in the (uncompressed) data file."""
    [path] = Path(version.data_uri).glob("data/*.lance")
    content = bytearray(path.read_bytes())
    offset = bytes(content).find(vectors[row].tobytes())
    assert offset >= 0, "vectors are stored uncompressed"
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))


def test_preview_is_the_quick_layout_of_the_sampled_rows_and_starts_the_job(big_store):
    ref = "api@1.0.0"
    vectors = big_store.get(ref).vectors()
    app = create_app(big_store)
    with TestClient(app, base_url=BASE) as client:
        first = client.get(f"/api/versions/{ref}/points", params={"preview": "true"})
        assert first.headers["x-embver-stage"] == "preview"
        assert first.headers["x-embver-verified"] == "false"
        # the server's own time on the frame, which the page's resource timing reads
        timing = first.headers["server-timing"]
        assert timing.startswith("frame;dur=") and timing.endswith(';desc="preview"')
        assert float(timing.split("dur=")[1].split(";")[0]) > 0
        [(preview, _)], rows = decode_points_and_rows(first.content)
        assert rows is not None and np.array_equal(rows, _sampled_rows())
        # the full layout starts with the preview, before the page asks for every row
        version = big_store.get(ref)
        assert app.state.data.jobs.get(version, "umap") is not None
        assert app.state.data.jobs.has_worker
        oracle = _oracle_layout(vectors[rows])
        for axis in range(2):
            assert abs(np.corrcoef(preview[:, axis], oracle[:, axis])[0, 1]) > 0.9999
        every = client.get(f"/api/versions/{ref}/points")
        assert every.headers["x-embver-stage"] == "quick"
        assert every.headers["x-embver-verified"] == "true"
        [(quick, _)], none = decode_points_and_rows(every.content)
        assert none is None and quick.shape == (N_ITEMS, 2)
        # the preview's points are where the checked frame draws the same items
        spread = np.ptp(quick, axis=0).max()
        assert np.abs(preview - quick[rows]).max() <= 2 * spread / 65535
        assert _wait_full(client, ref)[-1]["stage"] == "full"
        full = client.get(f"/api/versions/{ref}/points", params={"preview": "true"})
        assert full.headers["x-embver-stage"] == "full"
        assert full.headers["x-embver-verified"] == "true"
        [(coords, _)], none = decode_points_and_rows(full.content)
    assert none is None
    projection = project(big_store, ref, method="umap", dims=2, seed=0)
    assert projection.cached
    assert np.abs(coords - projection.coords).max() <= np.ptp(projection.coords) / 65535 + 1e-6


def test_small_versions_get_the_checked_quick_layout_first(big_store, monkeypatch):
    monkeypatch.setattr(data, "QUICK_SAMPLE", N_ITEMS)
    with TestClient(create_app(big_store), base_url=BASE) as client:
        first = client.get("/api/versions/small@1.0.0/points", params={"preview": "true"})
        [(coords, _)], rows = decode_points_and_rows(first.content)
        assert first.headers["x-embver-stage"] in ("quick", "full")
        assert first.headers["x-embver-verified"] == "true"
        assert rows is None and coords.shape == (N_ITEMS, 2)
        _wait_full(client, "small@1.0.0")  # the job it started ends before the store does


def test_a_worker_started_with_the_server_runs_the_first_job_and_leaves_with_it(big_store):
    """As `embver ui` starts: the layout worker has loaded its libraries before the
    server answers, the preview hands it the job, and it exits when the server stops."""
    ref = "started@1.0.0"
    app = create_app(big_store, layout_worker_at_start=True)
    jobs = app.state.data.jobs
    assert not jobs.has_worker
    with TestClient(app, base_url=BASE) as client:
        worker = jobs._worker
        assert worker is not None and worker.ready.is_set() and jobs.has_worker
        first = client.get(f"/api/versions/{ref}/points", params={"preview": "true"})
        assert first.headers["x-embver-stage"] == "preview"
        assert jobs._worker is worker and jobs.get(big_store.get(ref), "umap") is not None
        statuses = _wait_full(client, ref)
    assert statuses[-1]["stage"] == "full"
    worker.process.join(timeout=30)
    assert worker.process.exitcode == 0 and not jobs.has_worker
    assert project(big_store, ref, method="umap", dims=2, seed=0).cached


@pytest.fixture
def damaged(tmp_path):
    """A store whose one version has a flipped bit in a row the preview does not read."""
    store = _store(tmp_path / "project", ("api",))
    version = store.get("api@1.0.0")
    unread = np.setdiff1d(np.arange(N_ITEMS), _sampled_rows())[7]
    _damage_a_vector(version, version.vectors(), int(unread))
    yield store
    store.close()


def test_a_damaged_version_is_previewed_unverified_and_its_full_read_refused(damaged):
    ref = "api@1.0.0"
    app = create_app(damaged)
    with TestClient(app, base_url=BASE) as client:
        first = client.get(f"/api/versions/{ref}/points", params={"preview": "true"})
        assert first.status_code == 200 and first.headers["x-embver-verified"] == "false"
        every = client.get(f"/api/versions/{ref}/points")
        # the job the preview started read the vectors checked too: it failed there
        statuses = _wait_full(client, ref)
    assert every.status_code == 500
    detail = every.json()["detail"]
    assert "damaged" in detail and "embver verify" in detail and "\n" not in detail
    last = statuses[-1]
    assert last["stage"] == "failed" and "clusters" not in last["reached"]
    assert last["message"] == detail and not last["layout_ready"]
    version = damaged.get(ref)
    assert cached_projection(damaged, version, method="umap", dims=2, seed=0) is None


def _event_names(browser_page) -> list[str]:
    return [e["name"] for e in browser_page.evaluate("window.__embver.events")]


def test_page_draws_the_preview_before_every_row_and_before_the_full_layout(page, big_store):  # noqa: F811
    _ensure_front_end()
    with serving(create_app(big_store)) as url:
        page.goto(url + "/#/version/browser@1.0.0")
        page.wait_for_function("window.__embver && window.__embver.ready")
        events = page.evaluate("window.__embver.events")
        names = _event_names(page)
        drawn = page.evaluate("['x', 'y'].map((a) => Array.from(window.__embver.panes[0][a]))")
        verified = page.locator("#plot").get_attribute("data-verified")
        shot(page, "preview-then-full", page.locator("#plot"))
    # by the order of the page's steps: the preview first, every row next (the request
    # that starts the full layout), the background job's progress, the full layout last
    assert names[0] == "frame:preview", names
    assert names.index("frame:quick") < names.index("frame:full")
    statuses = [n for n in names if n.startswith("status:")]
    assert statuses and names.index(statuses[0]) > names.index("frame:quick")
    assert statuses[-1] == "status:full" and "frame:full" in names
    preview, every = events[0], events[names.index("frame:quick")]
    assert preview["points"] == SAMPLE and preview["verified"] is False
    assert "not yet checked" in preview["progress"]
    assert every["points"] == N_ITEMS and every["verified"] is True
    assert verified == "true"
    assert page.evaluate("window.__embver.layoutStages") == ["preview", "quick", "full"]
    projection = project(big_store, "browser@1.0.0", method="umap", dims=2, seed=0)
    assert projection.cached
    for axis in range(2):
        assert np.corrcoef(drawn[axis], projection.coords[:, axis])[0, 1] > 0.999
    assert page.console_errors == []


def test_page_withdraws_the_preview_when_the_full_read_fails_its_check(page, damaged):  # noqa: F811
    _ensure_front_end()
    with serving(create_app(damaged)) as url:
        page.goto(url + "/#/version/api@1.0.0")
        page.wait_for_function("window.__embver && window.__embver.ready")
        names = _event_names(page)
        plot = page.locator("#plot")
        assert plot.get_attribute("data-verified") == "failed"
        assert "damaged" in plot.inner_text() and "embver verify" in plot.inner_text()
        assert page.locator("#plot canvas").count() == 0
        assert "withdrawn" in page.locator(".layout-progress").inner_text()
    assert names == ["frame:preview", "colours", "frame:withdrawn"]
