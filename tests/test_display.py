"""Rich notebook display: every result type renders real HTML tables with its values, escapes
item text once, and a projection shows as an inline PNG with coloured points."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import embver
from embver.core.display import Image, RichDisplay, Table, Text

EVIL = "<script>alert(1)</script>"
LABELS = ("cats", "dogs", EVIL)


class _Page(HTMLParser):
    """What a browser would see: tags opened, table cells' text, image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_cell = tag in ("td", "th")
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_cell:
            self.cells[-1] += data


def parse(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    page.close()
    return page


def test_the_mixin_escapes_once_and_renders_every_form():
    class Shown(RichDisplay):
        def _display_title(self) -> str:
            return "title <b>"

        def _display_parts(self):
            return [Table(("a", "b"), [(EVIL, 0.25), (None, [1, 2])]), Text("x | y")]

    shown = Shown()
    markup = shown._repr_html_()
    page = parse(markup)
    assert "script" not in page.tags and "b" not in page.tags
    assert page.tags.count("table") == 1
    assert page.cells == ["a", "b", EVIL, "0.250", "—", "1, 2"]
    assert "&lt;script&gt;" in markup and "&amp;lt;" not in markup  # escaped exactly once
    markdown = shown._repr_markdown_()
    assert "| &lt;script&gt;alert(1)&lt;/script&gt; | 0.250 |" in markdown
    assert "x \\| y" in markdown
    assert shown.to_text().splitlines()[2].split() == ["a", "b"]


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """A store with a PATCH (drop-in), an alias, an evaluation, a composite and an adapter."""
    rng = np.random.default_rng(0)
    n, dim = 150, 16
    centres = rng.normal(size=(3, dim)) * 4
    codes = np.arange(n) % 3
    x = (centres[codes] + rng.normal(size=(n, dim))).astype(np.float32)
    ids = [f"item-{i:03d}" for i in range(n)]
    labels = [LABELS[c] for c in codes]
    texts = [f"text {i} {EVIL}" for i in range(n)]
    store = embver.init(tmp_path_factory.mktemp("display"))
    space = store.space("pets")
    recipe = embver.Recipe(architecture="arch", extraction="mean", weights="w1", dim=dim)
    v1 = space.register(x, ids=ids, recipe=recipe, texts=texts, labels=labels, author="ana")
    y = (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)
    v2 = space.register(y, ids=ids, recipe=dataclasses.replace(recipe, weights="w2"), parent=v1)
    store.set_alias("pets", "best", "1.0.1", reason="better")
    other = store.space("price")
    price = embver.Recipe(architecture="p", extraction="raw", weights="p1", dim=4)
    other.register(rng.normal(size=(n, 4)).astype(np.float32), ids=ids, recipe=price)
    store.composite("product", [("pets", "best"), ("price", "1.0.0")])
    yield store, space, v1, v2
    store.close()


def _html(obj: object) -> tuple[str, _Page]:
    markup = obj._repr_html_()  # type: ignore[attr-defined]
    return markup, parse(markup)


def test_a_space_shows_its_version_tree_as_a_table(shown):
    _store, space, v1, v2 = shown
    _markup, page = _html(space)
    assert "table" in page.tags
    assert "1.0.0" in page.cells and "└── 1.0.1" in page.cells
    assert "best" in page.cells and "patch" in page.cells
    assert v2.verdict["label"] in page.cells
    assert f"{v1.count} × {v1.dim}" in page.cells


def test_a_version_shows_recipe_counts_verdict_and_evaluations(shown):
    store, _space, _v1, v2 = shown
    evaluation = store.evaluate(v2, "knn-accuracy")
    _markup, page = _html(store.get("pets@1.0.1"))
    rows = dict(zip(page.cells[2::2], page.cells[3::2], strict=False))
    assert rows["items"] == "150" and rows["dim"] == "16" and rows["parent"] == "1.0.0"
    assert rows["weights"] == "w2" and rows["model"] == "not kept"
    assert rows["verdict"].startswith(v2.verdict["label"])
    assert f"{evaluation.headline.value:.3f}" in page.cells
    _figure_markup, figure_page = _html(evaluation)
    assert f"{evaluation.headline.chance:.3f}" in figure_page.cells


def test_a_comparison_shows_figures_with_chance_movers_and_escaped_labels(shown):
    store, _space, v1, v2 = shown
    comparison = store.compare(v1, v2, k=10, migration=False, clusters=False)
    assert isinstance(comparison, embver.Comparison)
    markup, page = _html(comparison)
    assert page.tags.count("table") >= 3  # figures, movers, by label
    row = page.cells.index("k-NN overlap, k=10 (mean)")
    overlap = comparison.neighbourhood["10"]
    assert page.cells[row + 1] == f"{overlap['overlap']['mean']:.3f}"
    assert page.cells[row + 3] == f"{overlap['chance_overlap']:.3f}"
    assert comparison.movers[0]["id"] in page.cells
    assert EVIL in page.cells  # the label, as text
    assert "script" not in page.tags and "&lt;script&gt;" in markup
    assert f"verdict: {v2.verdict['label']}" in "".join(page.text)
    assert repr(comparison) == "<Comparison pets@1.0.0 → pets@1.0.1, 150 shared items>"


def test_a_projection_is_an_inline_png_with_coloured_points(shown):
    from PIL import Image as PILImage

    store, _space, v1, _v2 = shown
    projection = store.project(v1, method="pca")
    _markup, page = _html(projection)
    assert "script" not in page.tags and "table" in page.tags
    (source,) = page.images
    assert source.startswith("data:image/png;base64,")
    picture = PILImage.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB")
    pixels = np.asarray(picture).reshape(-1, 3).astype(int)
    saturated = pixels[(pixels.max(axis=1) - pixels.min(axis=1)) > 60]
    hues = {tuple(p // 32) for p in saturated}
    assert len(saturated) > 100 and len(hues) >= 3  # three labels, three colours
    sizes = [int(c) for c in page.cells[4::3]]
    assert sum(sizes) == len(projection)
    assert re.search(r"!\[scatter of pets@1\.0\.0", projection._repr_markdown_())


def test_impact_drift_and_adapter_show_tables_with_their_values(shown):
    from embver.compare.api import fit_adapter

    store, _space, v1, v2 = shown
    impact = store.impact("pets@1.0.1")
    _, page = _html(impact)
    assert "product" in page.cells and impact.rows[0].bump.upper() in page.cells
    drift = store.drift(v1, reference=v1.ids[:75], current=v1.ids[75:], permutations=20)
    _, page = _html(drift)
    assert f"{drift.mmd2:.3f}" in page.cells and "table" in page.tags
    adapter = fit_adapter(store, v1, v2, kind="procrustes")
    _, page = _html(adapter)
    assert f"{adapter.retention:.3f}" in page.cells and "procrustes" in "".join(page.text)


def test_parts_are_plain_data():
    part = Image(b"\x89PNG", alt="a <b>")
    assert '<img src="data:image/png;base64,iVBORw==" alt="a &lt;b&gt;">' in (
        type("X", (RichDisplay,), {
            "_display_title": lambda self: "t", "_display_parts": lambda self: [part],
        })()._repr_html_()
    )  # fmt: skip
