"""The UI's HTTP API against a real store of real data (scikit-learn digits)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import embver
from embver.server import create_app
from embver.server.binary import (
    decode_codes,
    decode_points,
    decode_points_and_rows,
    encode_points,
)

BASE = "http://127.0.0.1:8765"
MUTATE = {"X-Embver-Request": "1", "Content-Type": "application/json"}
#: median on-screen move of an item between the panes of a small PATCH, in units of A's
#: spread; measured aligned: umap 0.34, pca 0.03, tsne 0.07 (independent layouts fitted by
#: Procrustes afterwards: 0.68, 0.03, 0.09)
MAX_MEDIAN_DISPLACEMENT = 0.5


@pytest.fixture(scope="module")
def client(digits_store):
    root = digits_store.location.root.parent
    app = create_app(digits_store, media_roots=[root], default_method="pca")
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def test_spaces_list_versions_with_bumps_and_verdicts(client):
    spaces = client.get("/api/spaces").json()
    assert [s["space"] for s in spaces] == ["digits", "digits-ink"]
    versions = {v["version"]: v for v in spaces[0]["versions"]}
    assert {k: v["bump"] for k, v in versions.items()} == {
        "1.0.0": "major",
        "1.0.1": "patch",
        "1.1.0": "minor",
    }
    assert versions["1.0.1"]["verdict"]["label"] == "drop-in"
    assert versions["1.1.0"]["parent"] == "1.0.0"


def test_space_detail_has_lineage_and_alias_history(client):
    detail = client.get("/api/spaces/digits").json()
    edges = {(e["from"], e["to"]) for e in detail["edges"] if e["kind"] == "parent"}
    assert edges == {("digits@1.0.0", "digits@1.0.1"), ("digits@1.0.0", "digits@1.1.0")}
    history = detail["aliases"]["production"]["history"]
    assert [(h["from"], h["to"], h["reason"]) for h in history][:2] == [
        (None, "1.0.0", "first release"),
        ("1.0.0", "1.0.1", "retrained on more data"),
    ]


def test_lineage_includes_composite_edges(client):
    composite = client.get("/api/spaces/digits-ink").json()
    assert {
        "from": "digits@1.0.0",
        "to": "digits-ink@1.0.0",
        "kind": "component",
        "bump": None,
    } in (composite["edges"])
    component = client.get("/api/spaces/digits").json()
    assert component["versions"][0]["used_by"] == ["digits-ink@1.0.0"]


def test_recipe_diff_names_the_changed_field_and_bump(client):
    diff = client.get("/api/recipe-diff", params={"a": "digits@1.0.0", "b": "digits@1.1.0"}).json()
    assert diff["bump"] == "minor"
    assert {c["field"] for c in diff["changes"]} == {"extraction"}


def test_points_are_binary_with_at_most_12_bytes_per_point(client, digits_store):
    response = client.get("/api/versions/digits@1.0.0/points", params={"method": "pca"})
    assert response.headers["content-type"] == "application/octet-stream"
    [(coords, _)] = decode_points(response.content)
    assert coords.shape == (600, 2)
    colours = client.get("/api/versions/digits@1.0.0/colors", params={"by": "label"})
    codes, legend = decode_codes(colours.content)
    per_point = (len(response.content) + len(colours.content)) / 600
    assert per_point <= 12, per_point
    # The layout is the PCA of the (cosine: unit) vectors: one axis is the first component.
    vectors = digits_store.get("digits@1.0.0").vectors()
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    centred = vectors - vectors.mean(axis=0)
    first = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
    assert max(abs(np.corrcoef(first, coords[:, i])[0, 1]) for i in range(2)) > 0.99
    names = [c["name"] for c in legend["categories"]]
    labels = digits_store.items("digits")["label"].tolist()
    assert [names[c] for c in codes] == labels


def test_a_frame_of_some_items_carries_their_positions():
    coords = np.random.default_rng(0).normal(size=(37, 2)).astype(np.float32)
    rows = np.sort(np.random.default_rng(1).choice(10_000, size=37, replace=False))
    [(decoded, _)], positions = decode_points_and_rows(encode_points([coords], rows=rows))
    assert np.array_equal(positions, rows)
    assert np.abs(decoded - coords).max() <= np.ptp(coords) / 65535
    [(same, _)], none = decode_points_and_rows(encode_points([coords]))
    assert none is None and np.array_equal(same, decoded)
    with pytest.raises(ValueError, match="36 positions for 37 points"):
        encode_points([coords], rows=rows[:-1])


def test_colour_by_metadata_and_cluster(client):
    assert client.get("/api/versions/digits@1.0.0/metadata-keys").json() == ["batch", "ink"]
    codes, legend = decode_codes(
        client.get("/api/versions/digits@1.0.0/colors", params={"by": "meta:batch"}).content
    )
    assert {c["name"]: c["count"] for c in legend["categories"]} == {"early": 500, "late": 100}
    codes, legend = decode_codes(
        client.get("/api/versions/digits@1.0.0/colors", params={"by": "cluster"}).content
    )
    assert len(codes) == 600 and legend["title"] == "cluster"


def test_item_neighbours_search_and_dimensions(client, digits_store):
    item = client.get("/api/versions/digits@1.0.0/items/3").json()
    assert item["id"] == "digit-0003" and item["has_image"] is True
    result = client.get("/api/versions/digits@1.0.0/neighbors/3", params={"k": 5}).json()
    vectors = digits_store.get("digits@1.0.0").vectors()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ unit[3]
    scores[3] = -np.inf
    assert [n["index"] for n in result["neighbors"]] == list(np.argsort(-scores)[:5])
    hits = client.get("/api/versions/digits@1.0.0/search", params={"q": "sample 17"}).json()[
        "positions"
    ]
    assert 17 in hits and all("sample 17" in f"sample {h}" or str(h).startswith("17") for h in hits)
    dims = client.get("/api/versions/digits@1.0.0/dimensions").json()
    assert dims["dim"] == 64 and abs(sum(dims["variance_share"]) - 1) < 1e-3
    top = client.get("/api/versions/digits@1.0.0/dimensions/20").json()["top"]
    assert top[0]["value"] == pytest.approx(float(vectors[:, 20].max()))


def test_item_image_is_served_from_its_registered_uri(client):
    response = client.get("/api/versions/digits@1.0.0/items/3/image")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert client.get("/api/versions/digits@1.0.0/items/300/image").status_code == 404


def test_drift_of_a_metadata_batch(client):
    result = client.get(
        "/api/versions/digits@1.0.0/drift", params={"key": "batch", "value": "late"}
    ).json()
    assert result["batch"] == list(range(500, 600))
    refused = client.get(
        "/api/versions/digits@1.0.0/drift", params={"key": "batch", "value": "none"}
    )
    assert refused.status_code == 400


def test_compare_panes_overlap_movers_and_clusters(client):
    params = {"a": "digits@1.0.0", "b": "digits@1.1.0"}
    panes = decode_points(client.get("/api/compare/points", params=params).content)
    assert len(panes) == 2 and panes[0][0].shape == panes[1][0].shape == (600, 2)
    codes, legend = decode_codes(client.get("/api/compare/colors", params=params).content)
    assert legend["kind"] == "sequential" and codes.max() <= 10
    report = client.get("/api/compare", params=params).json()
    assert report["shared"] == 600 and 0 < report["overlap_mean"] <= 1
    assert report["report"]["neighbourhood"]["10"]["overlap"]["mean"] == pytest.approx(
        report["overlap_mean"], abs=1e-6
    )
    movers = client.get("/api/compare/movers", params={**params, "count": 3}).json()["movers"]
    assert len(movers) == 3 and movers[0]["overlap"] <= movers[-1]["overlap"]
    flows = client.get("/api/compare/clusters", params=params).json()["flows"]
    assert sum(f["size"] for f in flows) == 600


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_point_neighbours_are_the_ones_embver_compare_counts(tmp_path, metric):
    """The UI's neighbours of a point are neighbors.knn's, ties included.

    40 distinct vectors five times each: every point ties with four copies of itself,
    then with groups of five, so the 10th neighbour is one of five tied items and only
    one shared search decides the same one as `embver compare`.
    """
    from embver.compare.structure import pair_similarities
    from embver.neighbors import knn

    rng = np.random.default_rng(3)
    vectors = np.repeat(rng.normal(size=(40, 8)).astype(np.float32), 5, axis=0)
    ids = [f"item-{i:03d}" for i in range(200)]
    store = embver.init(tmp_path / "project")
    recipe = embver.Recipe(
        architecture="gauss", extraction="raw", weights="w", dim=8, metric=metric
    )
    store.space("tied").register(vectors, ids=ids, recipe=recipe)
    with TestClient(create_app(store, default_method="pca"), base_url=BASE) as client:
        for position in (0, 7, 123):
            found = client.get(f"/api/versions/tied@1.0.0/neighbors/{position}").json()
            expected = knn(vectors, 10, query_ids=np.array([position]), metric=metric)[0]
            assert [n["index"] for n in found["neighbors"]] == expected.tolist()
            scores = pair_similarities(vectors, np.full(10, position), expected, metric)
            assert [n["score"] for n in found["neighbors"]] == pytest.approx(scores, abs=1e-5)
    store.close()


def _cosine_neighbours(unit: np.ndarray, k: int) -> np.ndarray:
    """Brute-force k nearest rows (n, k) of unit rows (n, d) by cosine, self excluded."""
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def moved_tail(tmp_path_factory):
    """Two versions of 200 items whose last 60 move to random places: most of those tie at
    Jaccard 0, and the order among them is only known from the second measure."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = x.copy()
    y[140:] = rng.normal(size=(60, 8))
    store = embver.init(tmp_path_factory.mktemp("movers") / "project")
    space = store.space("moved")
    recipe = dict(architecture="gauss", extraction="raw", dim=8)
    ids = [f"item-{i:03d}" for i in range(200)]
    v1 = space.register(x, ids=ids, recipe=embver.Recipe(weights="w0", **recipe))
    space.register(y, ids=ids, recipe=embver.Recipe(weights="w1", **recipe), parent=v1)
    app = create_app(store, default_method="pca")
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client, store, x, y
    store.close()


def test_movers_break_jaccard_ties_by_how_far_old_neighbours_moved(moved_tail):
    client, store, x, y = moved_tail
    params = {"a": "moved@1.0.0", "b": "moved@1.0.1", "count": 10}
    result = client.get("/api/compare/movers", params=params).json()
    # the independent expectation: Jaccard at k=10, then cosine to the old neighbours
    # minus cosine to the new ones (lower: the old neighbours moved farther away)
    unit_x = x / np.linalg.norm(x, axis=1, keepdims=True)
    unit_y = y / np.linalg.norm(y, axis=1, keepdims=True)
    old, new = _cosine_neighbours(unit_x, 10), _cosine_neighbours(unit_y, 10)
    pairs = zip(old, new, strict=True)
    jaccard = np.array([len(set(o) & set(n)) / len(set(o) | set(n)) for o, n in pairs])
    gap = np.einsum("id,ikd->i", unit_y, unit_y[old] - unit_y[new]) / 10
    expected = np.lexsort((gap, jaccard))[:10]
    assert np.sum(jaccard == 0) > 20  # many ties, so position order would be wrong
    assert [m["item"]["id"] for m in result["movers"]] == [f"item-{i:03d}" for i in expected]
    assert [m["index"] for m in result["movers"]] == expected.tolist()
    assert result["ties"] == {
        "k": 10,
        "jaccard": 0.0,
        "tied": int(np.sum(jaccard == 0)),
        "of": 200,
        "tie_break": "similarity_gap",
    }
    # the same list `embver compare` prints
    from embver.compare.api import compare

    cli = compare(store, "moved@1.0.0", "moved@1.0.1", clusters=False, migration=False)
    assert [m["item"]["id"] for m in result["movers"]] == [m["id"] for m in cli.movers]
    assert result["ties"] == cli.mover_ties
    # and the report's movers when it has no comparison at hand
    from embver.report.figures import fallback_movers

    report = fallback_movers(store.get("moved@1.0.0"), store.get("moved@1.0.1"), k=10)
    assert [m["id"] for m in report] == [m["id"] for m in cli.movers]
    assert [m["old_neighbours"] for m in report] == [m["old_neighbours"] for m in cli.movers]


@pytest.fixture(scope="module")
def default_client(digits_store):
    """The app as `embver ui` builds it: no default method, so UMAP up to 50 000 items."""
    app = create_app(digits_store, media_roots=[digits_store.location.root.parent])
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def test_the_default_layout_is_umap_and_compare_answers_with_it(default_client):
    info = default_client.get("/api/versions/digits@1.0.0").json()
    assert info["default_method"] == "umap"
    params = {"a": "digits@1.0.0", "b": "digits@1.0.1"}
    default = default_client.get("/api/compare/points", params=params)
    assert default.status_code == 200, default.text
    named = default_client.get("/api/compare/points", params={**params, "method": "umap"})
    assert named.content == default.content


@pytest.mark.parametrize("method", ["umap", "pca", "tsne"])
def test_compare_aligns_pane_b_onto_pane_a_with_every_layout(default_client, digits_store, method):
    """A PATCH (pixels plus a little noise): pane B starts from and is fitted onto pane A."""
    from embver.project.align import align_to, displacement
    from embver.project.api import PROJECTION_KIND, project

    params = {"a": "digits@1.0.0", "b": "digits@1.0.1", "method": method}
    response = default_client.get("/api/compare/points", params=params)
    assert response.status_code == 200, response.text
    (pane_a, _), (pane_b, _) = decode_points(response.content)
    assert pane_a.shape == pane_b.shape == (600, 2)
    ids = digits_store.get("digits@1.0.0").ids
    moved = float(np.median(displacement(pane_b, ids, pane_a, ids)))
    assert moved < MAX_MEDIAN_DISPLACEMENT
    # no further than B laid out on its own and fitted onto A afterwards (PCA: the same;
    # float32 coordinates, hence the relative tolerance)
    alone = project(digits_store, "digits@1.0.1", method=method).coords
    fitted = align_to(alone, ids, pane_a, ids)
    assert moved <= float(np.median(displacement(fitted, ids, pane_a, ids))) * 1.001
    aligned = [
        a.meta
        for a in digits_store.artifacts.find(PROJECTION_KIND)
        if a.meta["ref"] == "digits@1.0.1" and a.meta["method"] == method and a.meta["aligned_to"]
    ]
    assert [m["aligned_to"] for m in aligned] == ["digits@1.0.0"]
    assert all(m["params"] == {} for m in aligned)
    codes, legend = decode_codes(
        default_client.get("/api/compare/colors", params={**params, "by": "cluster"}).content
    )
    assert len(codes) == 600 and legend["title"] == "cluster"
    flows = default_client.get("/api/compare/clusters", params=params).json()["flows"]
    assert sum(f["size"] for f in flows) == 600


def test_alias_move_is_recorded_with_its_reason(client):
    response = client.post(
        "/api/spaces/digits/aliases/staging",
        json={"version": "1.1.0", "reason": "try sqrt pixels"},
        headers=MUTATE,
    )
    assert response.status_code == 200
    assert response.json()["history"][-1]["reason"] == "try sqrt pixels"
    detail = client.get("/api/spaces/digits").json()
    assert detail["aliases"]["staging"]["version"] == "1.1.0"
    no_reason = client.post(
        "/api/spaces/digits/aliases/staging",
        json={"version": "1.0.0", "reason": " "},
        headers=MUTATE,
    )
    assert no_reason.status_code == 400
    assert client.get("/api/spaces/digits").json()["aliases"]["staging"]["version"] == "1.1.0"


@pytest.mark.parametrize(
    "path",
    ["/api/versions/digits@9.9.9", "/api/spaces/nope", "/api/versions/digits@1.0.0/items/600"],
)
def test_unknown_things_are_refused_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert response.json()["detail"]


def test_front_end_is_served(client):
    response = client.get("/")
    assert response.status_code in (200, 503)
    assert "embver" in response.text


def test_categorical_codes_keep_the_palette_and_name_every_code():
    from embver.server.data import categorical_codes

    values = [f"c{i % 20}" for i in range(200)]
    codes, legend = categorical_codes(values, title="t")
    assert len(legend["categories"]) == 20 and "other" not in str(legend)
    assert [legend["categories"][c]["name"] for c in codes] == values
    codes, legend = categorical_codes([*values, "c20", None], title="t")
    names = [c["name"] for c in legend["categories"]]
    assert names[-2:] == ["other", "missing"] and len(names) == 20
    assert names[codes[-1]] == "missing" and names[codes[-2]] == "other"


def test_points_are_coloured_by_label_by_default_when_items_have_labels(client, digits_store):
    codes, legend = decode_codes(client.get("/api/versions/digits@1.0.0/colors").content)
    assert legend["title"] == "label"
    names = [c["name"] for c in legend["categories"]]
    assert [names[c] for c in codes] == digits_store.items("digits")["label"].tolist()


def test_the_registry_shows_each_versions_task_figure_and_why_aliases_point_where(
    client, digits_store
):
    """A recorded evaluation is the version's figure in /api/spaces (interval and chance
    beside it); an alias says which version it points at and the reason of its last move."""
    from embver.evaluate.api import evaluate

    figure = evaluate(digits_store, "digits@1.0.0", "label-purity").headline
    detail = client.get("/api/spaces/digits").json()
    rows = {v["version"]: v for v in detail["versions"]}
    shown = rows["1.0.0"]["evaluation"]
    assert shown["name"] == "label-purity" and shown["value"] == pytest.approx(figure.value)
    assert shown["low"] <= shown["value"] <= shown["high"] and shown["chance"] < shown["low"]
    # a version shows a figure exactly when one was recorded for it (other tests may add some)
    from embver.store.evaluations import of_versions

    for version in digits_store.versions("digits"):
        recorded = of_versions(digits_store, [version])
        assert (rows[str(version.number)]["evaluation"] is None) == (not recorded)
    for alias, info in detail["aliases"].items():
        assert info["reason"] == info["history"][-1]["reason"], alias
