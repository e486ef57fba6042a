"""docs/notebooks/story.ipynb runs in a real Jupyter kernel and shows its results richly.

Each code cell's tags say what its output must hold: ``shows-table`` an HTML table,
``shows-image`` an inline PNG, ``shows-widget`` a widget view. A cell ending in an
expression must show something (HTML, an image or a widget view); no cell may raise.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).parents[1] / "docs" / "notebooks" / "story.ipynb"
RICH = ("text/html", "image/png", "application/vnd.jupyter.widget-view+json")


def _kernel_home(tmp: Path) -> Path:
    """A kernelspec ``python3`` for this interpreter (the venv's), found through JUPYTER_PATH."""
    folder = tmp / "share" / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (embver tests)", "language": "python"}  # fmt: skip
    (folder / "kernel.json").write_text(json.dumps(spec))
    return tmp / "share" / "jupyter"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    saved = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(_kernel_home(tmp))
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        client = nbclient.NotebookClient(
            notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp}}
        )
        client.execute()
    finally:
        if saved is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = saved
    return notebook


def test_the_notebook_is_saved_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def _shown(cell) -> dict[str, str]:
    """Every rich output of a cell, by MIME type (displays and the cell's result)."""
    found: dict[str, str] = {}
    for output in cell.outputs:
        for mime, value in output.get("data", {}).items():
            found[mime] = found.get(mime, "") + (
                value if isinstance(value, str) else json.dumps(value)
            )
    return found


def test_every_cell_runs_and_shows_what_its_tags_promise(executed):
    code = [c for c in executed.cells if c.cell_type == "code"]
    for index, cell in enumerate(code):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"cell {index} raised {errors[0].ename}: {errors[0].evalue}"
        shown, tags = _shown(cell), set(cell.metadata.get("tags", []))
        if any(o.output_type == "execute_result" for o in cell.outputs):
            assert set(shown) & set(RICH), f"cell {index} shows only {sorted(shown)}"
        if "shows-table" in tags:
            assert "<table>" in shown.get("text/html", ""), f"cell {index} shows no table"
        if "shows-image" in tags:
            html = shown.get("text/html", "")
            assert "image/png" in shown or 'src="data:image/png;base64,' in html, index
        if "shows-widget" in tags:
            view = shown.get("application/vnd.jupyter.widget-view+json", "")
            assert '"model_id"' in view, f"cell {index} shows no widget view"
    tagged = [set(c.metadata.get("tags", [])) for c in code]
    assert sum("shows-table" in t for t in tagged) >= 3 and any("shows-image" in t for t in tagged)
    assert any("shows-widget" in t for t in tagged)


def test_the_story_ends_with_the_best_version_aliased(executed):
    last = _shown([c for c in executed.cells if c.cell_type == "code"][-1])["text/html"]
    rows = re.findall(r"<tr>(.*?)</tr>", last)
    (best,) = [row for row in rows if "<td>best</td>" in row]
    assert "1.0.2" not in best  # the blurred retrain stays in the tree but is not the best
    assert any("1.0.2" in row for row in rows)
