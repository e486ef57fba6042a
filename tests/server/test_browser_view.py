"""What a person sees on the plots: colours, framing, the hover card, legend names.

Headless Chromium driven by Playwright, with the browser fixtures of ``test_browser``
(same flags, same skip/fail rules). Screenshots land in ``test-artifacts/ui-view-*.png``.
``topics`` is a small text space whose four clusters each have their own words, so
the legend can be checked for names a person recognises.
"""

# ruff: noqa: F811 -- test arguments named after the fixtures imported from test_browser
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_browser import (  # the module's fixtures, shared rather than copied
    _chromium_installed,  # noqa: F401
    _free_port,
    _unavailable,
    browser,  # noqa: F401
    open_page,
    page,  # noqa: F401
    server_url,  # noqa: F401
    shot,
)

import embver
from embver.server import create_app
from embver.server.frontend_build import build_front_end, is_built

#: WCAG 2.1 non-text contrast (1.4.11): a graphical object needs 3:1 against what is next to it
MIN_CONTRAST = 3.0
#: a drawn point's centre pixel may blend a little with its neighbours, never fade to the page
MIN_PIXEL_CONTRAST = 2.5

TOPICS = {
    "rivers": ["river", "boat", "fish", "ferry", "water", "bridge", "harbour", "canal"],
    "kitchen": ["oven", "bread", "flour", "butter", "recipe", "bake", "knife", "pan"],
    "space": ["rocket", "orbit", "planet", "comet", "launch", "star", "moon", "telescope"],
    "music": ["guitar", "drum", "melody", "chord", "singer", "piano", "concert", "rhythm"],
}
PER_TOPIC = 60


# -- colour arithmetic (WCAG relative luminance) -----------------------------------
def luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance of sRGB colours, array (..., 3) of 0-255 → (...)."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    """WCAG contrast ratio (1 … 21) of colours (..., 3) against one background (3,)."""
    a, b = luminance(rgb), luminance(background)
    return (np.maximum(a, b) + 0.05) / (np.minimum(a, b) + 0.05)


def hex_rgb(colour: str) -> np.ndarray:
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)])


# -- page helpers -------------------------------------------------------------------
DRAWN_POINTS = """() => window.__embver.panes.map((p) => {
  const box = p.canvas.getBoundingClientRect();
  const at = [];
  for (let i = 0; i < p.n; i++) at.push(p.scatterplot.getScreenPosition(i));
  return { box: { left: box.left, top: box.top, width: box.width, height: box.height },
           at, codes: Array.from(p.codes), radius: p.scatterplot.get('pointSize') / 2 };
})"""


def drawn_points(page) -> list[dict]:
    """Per pane: its canvas box and every point's canvas-local position (n, 2), codes (n,)."""
    panes = page.evaluate(DRAWN_POINTS)
    for pane in panes:
        pane["at"] = np.asarray(pane["at"], dtype=np.float64)
        pane["codes"] = np.asarray(pane["codes"])
    return panes


def assert_framed(pane: dict, name: str) -> None:
    """Every point lies inside its canvas and the layout fills it (not a blob in a corner)."""
    w, h, r = pane["box"]["width"], pane["box"]["height"], pane["radius"]
    x, y = pane["at"][:, 0], pane["at"][:, 1]
    outside = int(((x < r) | (x > w - r) | (y < r) | (y > h - r)).sum())
    assert outside == 0, f"{name}: {outside} of {len(x)} points outside the {w:.0f}×{h:.0f} pane"
    filled = max((x.max() - x.min()) / w, (y.max() - y.min()) / h)
    assert filled > 0.8, f"{name}: the layout fills only {filled:.0%} of the pane"


def move_point_to(page, pane: int, index: int, target: tuple[float, float]) -> dict:
    """Pan pane ``pane`` by dragging (as a person would) until point ``index`` sits at ``target``.

    Returns the point's page position afterwards.
    """
    where = f"window.__embver.panes[{pane}].screenOf({index})"
    start = page.evaluate(where)
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    dx, dy = target[0] - start["x"], target[1] - start["y"]
    for step in range(1, 11):
        page.mouse.move(start["x"] + dx * step / 10, start["y"] + dy * step / 10)
    page.mouse.up()
    page.wait_for_timeout(200)
    return page.evaluate(where)


def hover_card_box(page, point: dict) -> dict:
    page.mouse.move(point["x"] - 25, point["y"] - 25)
    page.mouse.move(point["x"], point["y"], steps=5)
    card = page.locator("#hover-card")
    card.wait_for(state="visible")
    page.wait_for_timeout(300)  # a thumbnail may still be loading and grow the card
    return card.bounding_box()


def assert_inside_viewport(page, box: dict, point: dict, name: str) -> None:
    size = page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0, f"{name}: card at {box} starts off screen"
    assert box["x"] + box["width"] <= size["width"], f"{name}: card {box} runs off the right"
    assert box["y"] + box["height"] <= size["height"], f"{name}: card {box} runs off the bottom"
    covers = (
        box["x"] <= point["x"] <= box["x"] + box["width"]
        and box["y"] <= point["y"] <= box["y"] + box["height"]
    )
    assert not covers, f"{name}: the card {box} covers the hovered point {point}"


# -- tests --------------------------------------------------------------------------
COMPARE = "/#/compare/digits@1.0.0/digits@1.1.0"


def test_every_overlap_bin_is_visible_on_the_plot_background(page, server_url):
    open_page(page, server_url + COMPARE)
    page.wait_for_timeout(300)
    pixels = shot(page, "view-compare-overlap")
    background = pixels[int(page.locator("#pane-a").bounding_box()["y"]) + 3, 40]
    for n, pane in enumerate(drawn_points(page)):
        column = np.rint(pane["box"]["left"] + pane["at"][:, 0]).astype(int)
        row = np.rint(pane["box"]["top"] + pane["at"][:, 1]).astype(int)
        seen = contrast(pixels[row, column], background)
        invisible = pane["codes"][seen < MIN_PIXEL_CONTRAST]
        bins, counts = np.unique(invisible, return_counts=True)
        assert not len(invisible), (
            f"pane {n}: {len(invisible)} of {len(seen)} points fade into the background "
            f"(overlap bin: count {dict(zip((bins / 10).tolist(), counts.tolist(), strict=True))})"
        )
    # every colour of the scale, present on this page or not, against the plot background
    palette = page.evaluate("window.__embver.palette")
    assert hex_rgb(palette["background"]).tolist() == background.tolist()
    faint = {c: round(float(contrast(hex_rgb(c), background)), 2) for c in palette["sequential"]}
    faint = {c: ratio for c, ratio in faint.items() if ratio < MIN_CONTRAST}
    assert not faint, f"overlap colours below {MIN_CONTRAST}:1 on {palette['background']}: {faint}"


@pytest.mark.parametrize("route", ["/#/version/digits@1.0.0", COMPARE], ids=["version", "compare"])
def test_the_scatter_is_fitted_to_its_pane_on_load_and_on_resize(page, server_url, route):
    name = route.split("/")[2]
    page.set_viewport_size({"width": 760, "height": 900})  # panes taller than wide
    open_page(page, server_url + route)
    shot(page, f"view-{name}-narrow")
    for n, pane in enumerate(drawn_points(page)):
        assert_framed(pane, f"{name} pane {n}, 760×900")
    page.set_viewport_size({"width": 1500, "height": 640})  # panes wider than tall
    page.wait_for_timeout(400)
    shot(page, f"view-{name}-wide")
    for n, pane in enumerate(drawn_points(page)):
        assert_framed(pane, f"{name} pane {n}, resized to 1500×640")


def test_hover_card_stays_inside_the_viewport_near_the_edges(page, server_url):
    open_page(page, server_url + "/#/version/digits@1.0.0")
    plot = page.locator("#plot").bounding_box()
    point = move_point_to(page, 0, 7, (plot["x"] + 40, plot["y"] + plot["height"] - 8))
    box = hover_card_box(page, point)
    shot(page, "view-hover-bottom")
    assert_inside_viewport(page, box, point, "near the bottom edge")

    open_page(page, server_url + COMPARE)
    right = page.locator("#pane-b").bounding_box()
    corner = (right["x"] + right["width"] - 8, right["y"] + right["height"] - 8)
    point = move_point_to(page, 1, 7, corner)
    box = hover_card_box(page, point)
    shot(page, "view-hover-right")
    assert_inside_viewport(page, box, point, "in the bottom-right corner of pane B")


def metric_table(page) -> dict[str, tuple[str, str]]:
    """The compare page's metric table: name → (value, chance / null / floor) as shown."""
    page.locator(".metric-table tbody tr").first.wait_for()
    rows = page.eval_on_selector_all(
        ".metric-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    return {name: (value, level) for name, value, _, level in rows}


def test_metric_table_shows_each_figure_beside_its_chance_level_or_floor(page, server_url):
    open_page(page, server_url + COMPARE)
    table = metric_table(page)
    report = page.evaluate(
        "fetch('/api/compare?a=digits@1.0.0&b=digits@1.1.0').then(r => r.json())"
    )["report"]
    shot(page, "view-compare-metrics", page.locator(".metrics"))
    mig, clusters = report["migration"], report["clusters"]
    pool, full = f"test pool of {mig['n_holdout']}", f"all {mig['n_items']} items"
    retention = {name: level for name, (_, level) in table.items() if "retention" in name}
    in_pool = [level for name, level in retention.items() if pool in name]
    at_full = [level for name, level in retention.items() if full in name]
    # every map's score in its held-out pool (chance k/(h-1)), the chosen maps' also
    # against the full index (chance k/(n-1)), as `embver compare` prints them
    assert len(in_pool) == len(mig["scores"]) + 2 and len(at_full) == 2, table
    assert all(level == f"chance {mig['chance']:.3f}" for level in in_pool), retention
    assert all(level == f"chance {mig['chance_full']:.3f}" for level in at_full), retention
    ari = next(level for name, (_, level) in table.items() if name.startswith("cluster ARI"))
    assert f"floor {clusters['floor']['ari']:.3f}" in ari, table
    assert f"chance p95 {clusters['chance_ari_p95']:.3f}" in ari, table
    spearman = next(level for name, (_, level) in table.items() if "rank corr" in name)
    assert spearman == f"chance {report['structure']['spearman']['chance']:.3f}", table
    assert all(level.strip() for _, level in table.values()), table  # no figure stands alone


def test_movers_say_how_many_items_tie(page, server_url):
    open_page(page, server_url + COMPARE)
    ties = page.evaluate(
        "fetch('/api/compare/movers?a=digits@1.0.0&b=digits@1.1.0&count=10')"
        ".then(r => r.json()).then(r => r.ties)"
    )
    assert ties["tied"] > 1  # the last shown shares its Jaccard with others
    note = page.locator(".mover-ties")
    note.wait_for(timeout=60_000)
    assert f"{ties['tied']} of {ties['of']} items tie at Jaccard {ties['jaccard']:.2f}" in (
        note.inner_text()
    )


# -- a labelled text space -----------------------------------------------------------
def build_topics_store(root) -> embver.Store:
    """Four topics × 60 short texts; vectors are a topic centre plus noise (24-d)."""
    rng = np.random.default_rng(3)
    centres = rng.normal(scale=4.0, size=(len(TOPICS), 24))
    texts, labels, vectors = [], [], []
    for t, (topic, words) in enumerate(TOPICS.items()):
        for _ in range(PER_TOPIC):
            texts.append(" and ".join(rng.choice(words, size=3, replace=False)))
            labels.append(topic)
            vectors.append(centres[t] + rng.normal(size=24))
    ids = [f"note-{i:03d}" for i in range(len(texts))]
    store = embver.init(root)
    space = store.space("topics")
    recipe = embver.Recipe(architecture="bag-of-topics", extraction="mean", weights="w0", dim=24)
    first = space.register(
        np.asarray(vectors, np.float32), ids=ids, recipe=recipe, texts=texts, labels=labels
    )
    moved = np.asarray(vectors) + rng.normal(scale=0.3, size=(len(ids), 24))
    space.register(
        moved.astype(np.float32),
        ids=ids,
        recipe=embver.Recipe(architecture="bag-of-topics", extraction="mean", weights="w1", dim=24),
        parent=first,
    )
    return store


@pytest.fixture(scope="module")
def topics_url(tmp_path_factory):
    import uvicorn

    if not is_built():
        try:
            build_front_end()
        except (RuntimeError, OSError) as exc:
            _unavailable(f"front end not built: {exc}")
    store = build_topics_store(tmp_path_factory.mktemp("topics") / "project")
    app = create_app(store, default_method="pca")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def topic_of(name: str) -> set[str]:
    """Topics whose words a cluster name "3: oven, bread, flour (60)" lists."""
    terms = name.split(":", 1)[1].rsplit("(", 1)[0].replace(",", " ").split()
    return {topic for topic, words in TOPICS.items() for term in terms if term in words}


def test_cluster_legend_names_clusters_by_their_top_terms(page, topics_url):
    open_page(page, topics_url + "/#/version/topics@1.0.0")
    # the items have labels, so the page opens coloured by label; the clusters are one choice away
    assert page.locator("select.colour-by").input_value() == "label"
    page.select_option("select.colour-by", "cluster")
    page.wait_for_function("document.querySelector('.legend-row')?.textContent.includes(':')")
    rows = page.locator(".legend-row").all_inner_texts()
    shot(page, "view-topics-legend")
    clusters = [r for r in rows if not r.startswith("noise")]
    assert len(clusters) >= 3, rows
    assert not [r for r in rows if r.startswith("cluster ")], rows
    # each cluster is named by words of one topic, and the names tell the topics apart
    assert all(len(topic_of(r)) == 1 for r in clusters), rows
    assert len(set().union(*(topic_of(r) for r in clusters))) == len(clusters), rows

    open_page(page, topics_url + "/#/compare/topics@1.0.0/topics@1.0.1")
    flows = page.locator(".clusters li")
    flows.first.wait_for()
    text = flows.all_inner_texts()
    shot(page, "view-topics-compare")
    assert not [f for f in text if "cluster " in f], text
    assert all(len(topic_of(f.split("→")[0])) == 1 for f in text if not f.startswith("noise")), text
