"""The widgets' state, kernel side: the frames the front end draws and the traits Python reads.

Each widget's binary traits are checked against independent computations: the positions
against the projection embver computes for the version, the colours against the items'
labels and clusters, the comparison's overlap colours against k-NN lists computed here
with numpy; and against the UI itself: the same bytes as its /points and /colors answers.
"""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import embver
from embver.errors import InvalidInputError
from embver.project.api import project
from embver.server import create_app
from embver.server.binary import decode_codes, decode_points
from embver.widgets import ComparisonWidget, VersionWidget

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def versions(toy_store):
    return toy_store.get("toy@1.0.0"), toy_store.get("toy@1.0.1")


@pytest.fixture(scope="module")
def version_widget(versions):
    return embver.widget(versions[0], method="pca")


def test_points_are_the_projection_of_the_version_in_its_order(toy_store, versions, version_widget):
    v1, _ = versions
    assert isinstance(version_widget, VersionWidget)
    assert version_widget._ids == v1.ids
    [(coords, bounds)] = decode_points(version_widget._points)
    expected = np.asarray(project(toy_store, v1, method="pca", dims=2, seed=0).coords)[:, :2]
    # 16-bit grid over the (square) bounding box: at most half a step off
    step = max(bounds[1] - bounds[0], bounds[3] - bounds[2]) / 65535
    assert np.abs(coords - expected).max() <= step


def test_colours_are_the_items_labels_by_default_and_clusters_on_request(
    toy_store, versions, version_widget
):
    v1, _ = versions
    labels = toy_store.items("toy", ids=v1.ids).set_index("id").loc[v1.ids, "label"].tolist()
    codes, legend = decode_codes(version_widget._codes)
    assert legend["title"] == "label"
    names = [legend["categories"][c]["name"] for c in codes]
    assert names == labels
    assert {c["name"]: c["count"] for c in legend["categories"]} == {
        label: labels.count(label) for label in set(labels)
    }

    widget = embver.widget(v1, method="pca", color_by="cluster")
    codes, legend = decode_codes(widget._codes)
    clusters = np.asarray(project(toy_store, v1, method="pca", dims=2, seed=0).clusters)
    # the same partition as the projection's clusters (codes are ordered by size)
    pairs = set(zip(codes.tolist(), clusters.tolist(), strict=True))
    assert len(pairs) == len(set(codes.tolist())) == len(set(clusters.tolist()))
    assert legend["title"] == "cluster"

    widget.color_by = "meta:batch"
    codes, legend = decode_codes(widget._codes)
    batch = [legend["categories"][c]["name"] for c in codes]
    assert batch == ["early"] * 120 + ["late"] * 120


def test_frames_are_byte_for_byte_the_uis(toy_store, versions, version_widget):
    v1, v2 = versions
    app = create_app(toy_store, default_method="pca")
    with TestClient(app, base_url=BASE) as client:
        points = client.get(f"/api/versions/{v1.ref}/points?method=pca").content
        colours = client.get(f"/api/versions/{v1.ref}/colors?by=default&method=pca").content
        pair = f"a={v1.ref}&b={v2.ref}&method=pca"
        compare_points = client.get(f"/api/compare/points?{pair}").content
        compare_colours = client.get(f"/api/compare/colors?{pair}&by=overlap").content
    assert version_widget._points == points
    assert version_widget._codes == colours
    assert version_widget.frame_bytes == len(points) + len(colours)
    comparison = ComparisonWidget(v1, v2, method="pca")
    assert comparison._points == compare_points
    assert comparison._codes == compare_colours


def test_a_selection_from_the_front_end_is_read_as_item_ids_and_set_back(versions):
    v1, _ = versions
    widget = embver.widget(v1, method="pca")
    widget._selection = [42, 3, 7]  # what the lasso sends: positions
    assert widget.selected_ids == ["toy-003", "toy-007", "toy-042"]
    widget.selected_ids = ["toy-100", "toy-005"]  # selects in the view; kept in point order
    assert widget._selection == [5, 100]
    assert widget.selected_ids == ["toy-005", "toy-100"]
    with pytest.raises(InvalidInputError, match="not points of this widget"):
        widget.selected_ids = ["toy-005", "no-such-item"]
    assert widget.selected_ids == ["toy-005", "toy-100"] and widget._selection == [5, 100]
    with pytest.raises(InvalidInputError, match="colour by 'shape' is unknown"):
        widget.color_by = "shape"
    assert widget.color_by == "default"


def test_the_hovered_item_is_the_one_at_that_position(versions, version_widget):
    item = version_widget._item(17)
    assert item["id"] == "toy-017" and item["label"] == "dog"
    assert item["text"] == "a dog, number 17" and item["metadata"] == {"batch": "early"}


def _knn(vectors: np.ndarray, k: int) -> np.ndarray:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1)[:, :k]


def test_comparison_panes_overlap_and_selection(toy_store, versions):
    v1, v2 = versions
    comparison = toy_store.compare(v1, v2, k=10, clusters=False, migration=False)
    widget = embver.widget(comparison, store=toy_store, method="pca")
    assert isinstance(widget, ComparisonWidget) and widget._refs == [v1.ref, v2.ref]
    (coords_a, _), (coords_b, bounds_b) = decode_points(widget._points)
    expected_a = np.asarray(project(toy_store, v1, method="pca", dims=2, seed=0).coords)[:, :2]
    step = max(bounds_b[1] - bounds_b[0], bounds_b[3] - bounds_b[2]) / 65535
    assert np.abs(coords_a - expected_a).max() <= step * 2
    # B is fitted onto A: a little noise moves every point a little, none far
    spread = np.linalg.norm(expected_a - expected_a.mean(axis=0), axis=1).mean()
    assert np.median(np.linalg.norm(coords_b - coords_a, axis=1)) < 0.2 * spread

    codes, legend = decode_codes(widget._codes)
    old, new = _knn(v1.vectors(), 10), _knn(v2.vectors(), 10)
    overlap = np.array([len(set(a) & set(b)) / 10 for a, b in zip(old, new, strict=True)])
    assert legend["kind"] == "sequential"
    assert codes.tolist() == np.rint(overlap * 10).astype(int).tolist()

    widget._selection = [1, 0]
    assert widget.selected_ids == ["toy-000", "toy-001"]
    widget.morph = 0.5
    with pytest.raises(InvalidInputError, match="outside 0"):
        widget.morph = 1.5
    assert widget.morph == 0.5


def test_bad_input_is_one_line_naming_the_fix(toy_store, versions):
    v1, v2 = versions
    comparison = toy_store.compare(v1, v2, k=10, clusters=False, migration=False)
    with pytest.raises(InvalidInputError, match=r"embver.widget\(comparison, store=store\)"):
        embver.widget(comparison)
    with pytest.raises(InvalidInputError, match="takes a Version or a Comparison"):
        embver.widget("toy@1.0.0")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="layout method 'spiral' is unknown"):
        embver.widget(v1, method="spiral")
