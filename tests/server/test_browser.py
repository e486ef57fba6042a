"""The UI in Debian's Chromium, driven by Playwright, as a person would use it.

Screenshots land in ``test-artifacts/`` (git-ignored). Needs ``chromium`` on PATH
(``apt-get install -y chromium``) and the built front end (``npm ci && npm run build``
in ``frontend/``; built here when npm is available). Skipped without them, unless
``EMBVER_REQUIRE_BROWSER=1`` (CI), which makes their absence a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from embver.server import create_app
from embver.server.frontend_build import HEADLESS_CHROMIUM_FLAGS, build_front_end, is_built

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = HEADLESS_CHROMIUM_FLAGS
LOAD_TIMEOUT_MS = 180_000
# Harmless driver chatter from software WebGL, not errors of the page.
IGNORED_CONSOLE = re.compile(r"GPU stall due to ReadPixels|GL Driver Message")

# CI sets EMBVER_REQUIRE_BROWSER=1 so that a missing browser or bundle fails instead of skipping.
REQUIRED = os.environ.get("EMBVER_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (EMBVER_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed():
    if shutil.which("chromium") is None:
        _unavailable("chromium is not installed: apt-get install -y chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_front_end() -> None:
    if not is_built():
        try:
            build_front_end()
        except (RuntimeError, OSError) as exc:
            _unavailable(f"front end not built: {exc}")


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server_url(digits_store):
    _ensure_front_end()
    app = create_app(
        digits_store, media_roots=[digits_store.location.root.parent], default_method="pca"
    )
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module", params=["umap", "pca", "tsne"])
def layout_server_url(request, digits_store):
    """The UI with ``request.param`` as its layout; umap is the default of `embver ui`."""
    _ensure_front_end()
    method = None if request.param == "umap" else request.param
    app = create_app(
        digits_store, media_roots=[digits_store.location.root.parent], default_method=method
    )
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    page.console_errors = []  # type: ignore[attr-defined]

    def on_console(message):
        if message.type == "error" and not IGNORED_CONSOLE.search(message.text):
            page.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__embver && window.__embver.ready", timeout=LOAD_TIMEOUT_MS)
    assert not page.locator(".error").count(), page.locator(".error").all_inner_texts()


def shot(page, name: str, element=None) -> np.ndarray:
    """Save a screenshot to test-artifacts/ and return its pixels (h, w, 3)."""
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    png = (element or page).screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def painted_share(pixels: np.ndarray) -> float:
    """Share of pixels that differ from the white plot background."""
    return float((np.abs(pixels.astype(int) - 255).sum(axis=2) > 30).mean())


ISOLATED_POINT = """(pane) => {
  const p = window.__embver.panes[pane]; let best = 0, bestD = -1;
  for (let i = 0; i < p.n; i++) { let d = Infinity;
    for (let j = 0; j < p.n; j++) {
      if (i === j) continue;
      const dx = p.x[i] - p.x[j], dy = p.y[i] - p.y[j]; d = Math.min(d, dx*dx + dy*dy);
    }
    if (d > bestD && Math.abs(p.x[i]) < 0.8 && Math.abs(p.y[i]) < 0.8) { bestD = d; best = i; } }
  return { index: best, ...p.screenOf(best) };
}"""


@pytest.mark.parametrize(
    "name, route",
    [
        ("registry", "/#/"),
        ("version", "/#/version/digits@1.0.0"),
        ("compare", "/#/compare/digits@1.0.0/digits@1.1.0"),
    ],
)
def test_each_page_loads_without_console_errors(page, server_url, name, route):
    open_page(page, server_url + route)
    page.wait_for_timeout(500)
    shot(page, name)
    assert page.console_errors == []


def test_points_are_drawn(page, server_url):
    open_page(page, server_url + "/#/version/digits@1.0.0")
    pixels = shot(page, "version-plot", page.locator("#plot"))
    assert painted_share(pixels) > 0.01
    colours = {tuple(c) for c in pixels.reshape(-1, 3)[::7] // 32}
    assert len(colours) >= 6  # coloured by cluster, not one flat colour
    assert page.evaluate("window.__embver.firstPaint") > 0


def test_hover_shows_the_item_and_click_shows_neighbours(page, server_url):
    open_page(page, server_url + "/#/version/digits@1.0.0")
    point = page.evaluate(ISOLATED_POINT, 0)
    page.mouse.move(point["x"] - 30, point["y"] - 30)
    page.mouse.move(point["x"], point["y"], steps=5)
    card = page.locator("#hover-card")
    card.wait_for(state="visible")
    assert f"digit-{point['index']:04d}" in card.inner_text()
    assert card.locator("img").count() == (1 if point["index"] < 40 else 0)
    shot(page, "version-hover")
    page.mouse.click(point["x"], point["y"])
    page.locator(".neighbour-list li").first.wait_for()
    assert page.locator(".neighbour-list li").count() == 10


def test_search_selects_matching_points(page, server_url):
    open_page(page, server_url + "/#/version/digits@1.0.0")
    page.fill("input.search", "sample 12")
    page.wait_for_function("window.__embver.panes[0].selected().length > 0")
    selected = page.evaluate("window.__embver.panes[0].selected()")
    assert 12 in selected and all(str(i).startswith("12") for i in selected)


def lasso(page, centre, radius=70, steps=24):
    page.mouse.move(centre["x"] + radius, centre["y"])
    page.mouse.down()
    for step in range(1, steps + 1):
        angle = 2 * np.pi * step / steps
        page.mouse.move(centre["x"] + radius * np.cos(angle), centre["y"] + radius * np.sin(angle))
        page.wait_for_timeout(20)
    page.mouse.up()


def test_lasso_in_one_pane_selects_the_same_items_in_the_other(page, server_url):
    open_page(page, server_url + "/#/compare/digits@1.0.0/digits@1.1.0")
    page.select_option("select.mouse-mode", "lasso")
    centre = page.evaluate("window.__embver.panes[0].screenOf(0)")
    lasso(page, centre)
    page.wait_for_function("window.__embver.panes[0].selected().length > 0")
    # the library announces a selection on its next tick; the other pane follows then
    page.wait_for_function("window.__embver.panes[1].selected().length > 0")
    in_a = sorted(page.evaluate("window.__embver.panes[0].selected()"))
    in_b = sorted(page.evaluate("window.__embver.panes[1].selected()"))
    assert 0 in in_a and in_a == in_b
    shot(page, "compare-lasso")


def test_morph_moves_pane_a_onto_layout_b(page, server_url):
    open_page(page, server_url + "/#/compare/digits@1.0.0/digits@1.1.0")
    before = shot(page, "compare-before-morph", page.locator("#pane-a"))
    page.click("button.morph")
    page.wait_for_timeout(600)
    shot(page, "compare-mid-morph", page.locator("#pane-a"))
    page.wait_for_function("window.__embver.morph === 'done'")
    page.wait_for_timeout(300)
    after = shot(page, "compare-after-morph", page.locator("#pane-a"))
    same = page.evaluate(
        "(() => { const [a, b] = window.__embver.panes;"
        " const pa = a.scatterplot.get('points'), pb = b.scatterplot.get('points');"
        " const near = (u, v) => Math.abs(u - v) < 1e-6;"
        " return pa.every((p, i) => near(p[0], pb[i][0]) && near(p[1], pb[i][1])); })()"
    )
    assert same
    assert np.abs(before.astype(int) - after.astype(int)).sum(axis=2).astype(bool).mean() > 0.005


def test_compare_page_draws_both_aligned_panes_with_every_layout(page, layout_server_url):
    """The compare view, "compare with parent" of a PATCH, under each layout method."""
    open_page(page, layout_server_url + "/#/compare/digits@1.0.0/digits@1.0.1")
    info = page.evaluate("fetch('/api/versions/digits@1.0.0').then((r) => r.json())")
    method = info["default_method"]
    for pane in ("#pane-a", "#pane-b"):
        pixels = shot(page, f"compare-{method}-{pane[1:]}", page.locator(pane))
        assert painted_share(pixels) > 0.01, (method, pane)
    assert page.evaluate("window.__embver.panes.map((p) => p.n)") == [600, 600]
    page.locator(".clusters li").first.wait_for()  # where clusters went, in this layout
    assert not page.locator(".error").count(), page.locator(".error").all_inner_texts()
    assert page.console_errors == []


def test_alias_move_is_confirmed_and_shows_in_history(page, server_url, digits_store):
    open_page(page, server_url + "/#/space/digits")
    page.fill("input.move-alias", "best")
    page.select_option("select.move-target", "digits@1.1.0")
    page.fill("input.move-reason", "browser test: sqrt pixels look better")
    page.click("button.move-ask")
    page.locator(".confirm").wait_for(state="visible")
    assert "Move best to 1.1.0" in page.locator(".confirm").inner_text()
    assert "best" not in digits_store.aliases("digits")  # nothing moves before confirmation
    page.click("button.confirm-yes")
    # The page re-renders from the server: the new entry appears in the alias's history table.
    entry = page.locator("table.history tr", has_text="browser test: sqrt pixels look better")
    entry.wait_for()
    assert "1.1.0" in entry.inner_text() and "(ui)" in entry.inner_text()
    assert page.locator(".confirm").count() == 0 or not page.locator(".confirm").is_visible()
    shot(page, "registry-after-alias-move")
    history = digits_store.alias_history("digits", "best")
    assert history[-1]["to"] == "1.1.0" and history[-1]["reason"].startswith("browser test")
    assert page.console_errors == []


def test_version_page_colours_by_label_and_registry_shows_task_figures(
    page, server_url, digits_store
):
    from embver.evaluate.api import evaluate

    open_page(page, server_url + "/#/version/digits@1.0.0")
    assert page.locator("select.colour-by").input_value() == "label"
    legend = page.locator(".legend-box").inner_text()
    assert all(label in legend for label in set(digits_store.items("digits")["label"]))
    figure = evaluate(digits_store, "digits@1.1.0", "knn-accuracy").headline
    open_page(page, server_url + "/#/space/digits")
    row = page.locator("table.versions tr", has_text="1.1.0").first
    assert f"knn-accuracy {figure.value:.3f}" in row.inner_text()
    assert f"chance {figure.chance:.3f}" in row.inner_text()
    assert page.console_errors == []
