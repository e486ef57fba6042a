"""First paint of a version's scatter: the notebook widget in JupyterLab vs ``embver ui``.

One real store (bench_ui's: 16-dimensional vectors from 20 Gaussian clusters) is shown
two ways in the same headless Chromium (Debian's, through Playwright):

* ``embver ui``: bench_ui's measurement, ``window.__embver.firstPaint`` after navigating
  to ``#/version/<ref>/pca`` (page load, /points + /colors fetches, decode, first frame);
* the widget: a JupyterLab started here on 127.0.0.1 opens a notebook whose first cell
  opens the store; the timed cell is ``embver.widget(version, method="pca")``, run through
  JupyterLab's own command. The figure is from the moment the cell is sent to the frame
  after the widget's first draw (``window.__embverWidgets[-1].firstPaint``): the kernel
  building the frames, their transfer over the widget comm, the module's load, decode
  and draw. Loading JupyterLab itself and starting the kernel are not counted, as the
  UI's server start is not.

Both sides get the layout computed before timing (numpy PCA, cluster = the generating
Gaussian) and primed into the read model's cache, as bench_ui does; both load the item
table (the default colour is by label). Bytes per point are the binary frames each side
receives. Goal (issue 15): widget first paint ≤ 1.5× the UI's; bytes per point equal.

    python benchmarks/bench_widget.py [--n 1000000] [--repeats 3] [--out test-artifacts]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
GOAL_RATIO = 1.5
TOKEN = "embver-bench"


def start_jupyterlab(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = root / ".jupyter"
    (home / "config").mkdir(parents=True)
    lab = {
        "expose_app_in_browser": True,
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
    }
    (home / "config" / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": lab}))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
    ]  # fmt: skip
    log = open(root / "jupyterlab.log", "wb")  # noqa: SIM115 (lives as long as the server)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2):
                return process, base
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.25)
    process.terminate()
    raise RuntimeError(f"jupyterlab did not start; see {root / 'jupyterlab.log'}")


SETUP = """\
import numpy as np, embver
from embver.widgets.scatter import data_for
store = embver.open({root!r})
version = store.get({ref!r})
layout = (np.load({coords!r}), np.load({clusters!r}))
data_for(store).view(version.ref).cached("layout:pca", lambda: layout)
print("READY")
"""

RUN_CELL = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  window.__benchStart = performance.now();
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""

OUTPUT = """(index) => window.jupyterapp.shell.currentWidget.content.widgets[index]
  .outputArea.model.toJSON().map((o) => o.text ?? o.ename ?? '').join('')"""

PAINTED = """() => {
  const views = window.__embverWidgets ?? [];
  const last = views[views.length - 1];
  return last && last.startMs > window.__benchStart ? last.firstPaint : null;
}"""


def measure_widget(browser, base: str, n: int, repeats: int, out: Path) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/lab/tree/bench.ipynb?token={TOKEN}", timeout=600_000)
    page.wait_for_function(
        "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
        " === 'idle'",
        timeout=600_000,
        polling=250,
    )
    page.evaluate(RUN_CELL, 0)
    page.wait_for_function(f"({OUTPUT})(0).includes('READY')", timeout=600_000, polling=250)
    paints, byte_counts, draws = [], [], []
    for attempt in range(repeats):
        page.evaluate(RUN_CELL, 1)
        painted = page.wait_for_function(PAINTED, timeout=600_000, polling=50).json_value()
        record = page.evaluate(
            "(() => { const v = window.__embverWidgets;"
            " return { ...v[v.length - 1], panes: undefined, root: undefined }; })()"
        )
        start = page.evaluate("window.__benchStart")
        paints.append((painted - start) / 1000)
        byte_counts.append(record["timing"]["bytes"])
        draws.append((painted - record["startMs"]) / 1000)
        print(f"  widget n={n:,} run {attempt}: first paint {paints[-1]:.2f} s; "
              f"render→paint {draws[-1]:.2f} s; {record['timing']}", flush=True)  # fmt: skip
        if attempt == 0:
            page.locator(".embver-widget").screenshot(path=str(out / f"bench-widget-{n}.png"))
    assert not errors, errors
    page.close()
    return {
        "first_paint_s": statistics.median(paints),
        "first_paint_min_s": min(paints),
        "render_s": statistics.median(draws),
        "bytes_per_point": statistics.median(byte_counts) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    import nbformat
    from bench_ui import make_store, measure, serve
    from playwright.sync_api import sync_playwright

    from embver.project.layout import pca_layout
    from embver.server import create_app
    from embver.server.frontend_build import HEADLESS_CHROMIUM_FLAGS, build_front_end

    build_front_end()
    n = args.n
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        root = Path(tmp)
        started = time.perf_counter()
        store, version, vectors, membership = make_store(root / "project", n)
        coords = pca_layout(vectors, dims=2, metric="euclidean").astype(np.float32)
        clusters = membership.astype(np.int64)
        np.save(root / "coords.npy", coords)
        np.save(root / "clusters.npy", clusters)
        print(f"n={n:,}: store and layout built in {time.perf_counter() - started:.1f} s")
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=HEADLESS_CHROMIUM_FLAGS
        )

        app = create_app(store, default_method="pca")
        app.state.data.view(version.ref).cached("layout:pca", lambda: (coords, clusters))
        server, thread, base = serve(app)
        try:
            url = f"{base}/#/version/{version.ref}/pca"
            ui = measure(browser, url, n, args.repeats, args.out)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        print(f"  ui: {ui}", flush=True)

        setup = SETUP.format(
            root=str(store.location.root),
            ref=version.ref,
            coords=str(root / "coords.npy"),
            clusters=str(root / "clusters.npy"),
        )
        store.close()
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [
            nbformat.v4.new_code_cell(setup),
            nbformat.v4.new_code_cell("embver.widget(version, method='pca', height=600)"),
        ]
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, root / "bench.ipynb")
        lab, lab_base = start_jupyterlab(root)
        try:
            widget = measure_widget(browser, lab_base, n, args.repeats, args.out)
        finally:
            lab.terminate()
            lab.wait(timeout=30)
        browser.close()

    ratio = widget["first_paint_s"] / ui["first_paint_s"]
    print()
    print(f"| n={n:,} | first paint (median of {args.repeats}) | bytes/point |")
    print("|---|---:|---:|")
    print(f"| embver ui | {ui['first_paint_s']:.2f} s | {ui['bytes_per_point']:.3f} |")
    print(
        f"| widget in JupyterLab | {widget['first_paint_s']:.2f} s "
        f"(render → paint {widget['render_s']:.2f} s) | {widget['bytes_per_point']:.3f} |"
    )
    print(
        f"widget / ui first paint: {ratio:.2f}× (goal ≤ {GOAL_RATIO}×: "
        f"{'met' if ratio <= GOAL_RATIO else 'missed'}); bytes/point widget / ui: "
        f"{widget['bytes_per_point'] / ui['bytes_per_point']:.3f}×"
    )


if __name__ == "__main__":
    main()
