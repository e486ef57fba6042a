"""The widgets in a real JupyterLab, in Debian's Chromium driven by Playwright.

The test writes a notebook (nbformat) that opens the toy store and shows a widget; it
runs the notebook's cells through JupyterLab's own commands, as a person pressing
Shift+Enter would, and then: the scatter has drawn (non-blank pixels), hovering a point
shows its item, and a lasso drawn with the mouse selects, in the kernel, exactly the
items whose points lie inside it. Skipped without Chromium or the built front end unless
``EMBVER_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from embver.server.frontend_build import HEADLESS_CHROMIUM_FLAGS, build_front_end
from embver.widgets.scatter import BUNDLE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REQUIRED = os.environ.get("EMBVER_REQUIRE_BROWSER") == "1"
TIMEOUT_MS = 90_000


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (EMBVER_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if shutil.which("chromium") is None:
        _unavailable("chromium is not installed: apt-get install -y chromium")
    if not BUNDLE.is_file():
        try:
            build_front_end(force=True)
        except (RuntimeError, OSError) as exc:
            _unavailable(f"front end not built: {exc}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=HEADLESS_CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)


def open_notebook(browser, base: str, token: str, name: str):
    """The notebook open in JupyterLab with its kernel idle; returns the page."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/lab/tree/{name}?token={token}", timeout=TIMEOUT_MS)
    page.wait_for_function(
        """() => {
          const panel = window.jupyterapp?.shell.currentWidget;
          return panel?.sessionContext?.session?.kernel?.status === 'idle'
            && panel.content.widgets.length > 0;
        }""",
        timeout=TIMEOUT_MS,
        polling=250,
    )
    page.errors = errors
    return page


RUN_CELL = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""

OUTPUT_TEXT = """(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  return cell.outputArea.model.toJSON().map((o) => o.text ?? '').join('');
}"""


def run_cell(page, index: int) -> None:
    page.evaluate(RUN_CELL, index)


def printed(page, index: int, marker: str) -> str:
    """The line cell ``index`` printed after ``marker`` (waits for it)."""
    page.wait_for_function(
        f"({OUTPUT_TEXT})({index}).includes({json.dumps(marker)})", timeout=TIMEOUT_MS
    )
    text = page.evaluate(OUTPUT_TEXT, index)
    return text.split(marker, 1)[1].splitlines()[0].strip()


def inked_share(png: bytes, background=(255, 255, 255)) -> float:
    """Share of a screenshot's pixels that differ from the background."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    return float((np.abs(pixels - np.array(background)).sum(axis=2) > 30).mean())


@pytest.fixture(scope="module")
def notebook(browser, jupyterlab, toy_store):
    """A notebook with both widgets open in JupyterLab (its cells not yet run)."""
    root, base, token = jupyterlab
    write_notebook(
        root / "widgets.ipynb",
        [
            "import json, embver\n"
            f"store = embver.open({str(toy_store.location.root)!r})\n"
            "w = embver.widget(store.get('toy@1.0.0'), method='pca', height=400)\n"
            "w",
            "print('SELECTED', json.dumps(w.selected_ids))",
            "from embver.widgets import ComparisonWidget\n"
            "cw = ComparisonWidget(store.get('toy@1.0.0'), store.get('toy@1.0.1'), method='pca',"
            " height=360)\n"
            "cw",
            "print('SELECTED', json.dumps(cw.selected_ids), 'MORPH', cw.morph)",
        ],
    )
    page = open_notebook(browser, base, token, "widgets.ipynb")
    yield page
    assert not page.errors, page.errors
    page.close()


def view_of(page, kind: str) -> str:
    """A JS expression for the drawn view of ``kind`` (waits for its first frame)."""
    expression = f"window.__embverWidgets?.find((v) => v.kind === {json.dumps(kind)})"
    page.wait_for_function(f"{expression}?.firstPaint", timeout=TIMEOUT_MS)
    return expression


def lasso(page, centre: dict[str, float], radius: float) -> None:
    loop = [
        (centre["x"] + radius * np.cos(a), centre["y"] + radius * np.sin(a))
        for a in np.linspace(0, 2 * np.pi, 25)
    ]
    page.mouse.move(*loop[0])
    page.mouse.down()
    for x, y in loop[1:]:
        page.mouse.move(x, y)
        page.wait_for_timeout(15)
    page.mouse.up()


def screen_points(page, pane: str) -> list[dict[str, float]]:
    return page.evaluate(f"(p => Array.from({{ length: p.n }}, (_, i) => p.clientOf(i)))({pane})")


def test_version_widget_draws_hovers_and_sends_a_lasso_selection_to_python(notebook):
    page = notebook
    run_cell(page, 0)
    view = view_of(page, "version")
    canvas = page.locator(".embver-version canvas.scatter")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = canvas.screenshot(path=str(ARTIFACTS / "widget-version.png"))
    # 240 points of 7 px on a white pane: a few per cent of its pixels carry ink
    assert 0.005 < inked_share(shot) < 0.5

    # hover: the card shows the item under the pointer (asked of the kernel)
    at = page.evaluate(f"{view}.panes[0].clientOf(17)")
    page.mouse.move(at["x"], at["y"])
    card = page.locator(".embver-version .hover-card")
    card.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert card.locator(".item-id").inner_text() == "toy-017"
    assert "a dog, number 17" in card.inner_text()

    # lasso around point 17: the kernel's selected_ids are the points inside the loop
    page.select_option(".embver-version select.mouse-mode", "lasso")
    radius = 45
    lasso(page, at, radius)
    page.wait_for_function(f"{view}.panes[0].selected().length > 0")
    distance = [
        np.hypot(p["x"] - at["x"], p["y"] - at["y"])
        for p in screen_points(page, f"{view}.panes[0]")
    ]
    run_cell(page, 1)
    selected = json.loads(printed(page, 1, "SELECTED"))
    positions = [int(s.split("-")[1]) for s in selected]
    assert 17 in positions
    # every point well inside the loop is selected, none outside it
    assert {i for i, d in enumerate(distance) if d < radius - 3} <= set(positions)
    assert all(distance[i] < radius + 3 for i in positions)

    # the colour menu asks the kernel for other codes: the legend follows
    legend = page.locator(".embver-version .legend-title")
    assert legend.inner_text() == "label"
    page.select_option(".embver-version select.colour-by", "meta:batch")
    page.wait_for_function(
        "document.querySelector('.embver-version .legend-title')?.textContent === 'batch'"
    )
    rows = page.locator(".embver-version .legend-row").all_inner_texts()
    assert sorted(rows) == ["early (120)", "late (120)"]


def test_comparison_widget_links_its_panes_and_morphs(notebook):
    page = notebook
    run_cell(page, 2)
    view = view_of(page, "comparison")
    panes = page.locator(".embver-comparison canvas.scatter")
    assert panes.count() == 2
    for n, name in enumerate(("a", "b")):
        shot = panes.nth(n).screenshot(path=str(ARTIFACTS / f"widget-compare-{name}.png"))
        assert 0.005 < inked_share(shot) < 0.5

    # a lasso in pane A selects the same items in pane B and in the kernel
    page.select_option(".embver-comparison select.mouse-mode", "lasso")
    lasso(page, page.evaluate(f"{view}.panes[0].clientOf(17)"), 45)
    page.wait_for_function(f"{view}.panes[1].selected().length > 0")
    in_a = sorted(page.evaluate(f"{view}.panes[0].selected()"))
    in_b = sorted(page.evaluate(f"{view}.panes[1].selected()"))
    assert 17 in in_a and in_a == in_b

    # the slider at its end draws pane A at B's layout
    page.evaluate(
        "(() => { const s = document.querySelector('.embver-comparison input.morph');"
        " s.value = 1000; s.dispatchEvent(new Event('input')); })()"
    )
    page.wait_for_function(f"{view}.morph === 1")
    assert page.evaluate(f"{view}.panes[0].x === {view}.panes[1].x")
    run_cell(page, 3)
    line = printed(page, 3, "SELECTED")
    selected, morph = line.rsplit(" MORPH ", 1)
    assert [int(s.split("-")[1]) for s in json.loads(selected)] == in_a
    assert float(morph) == 1.0
