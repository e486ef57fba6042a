"""Time from navigation to the first painted frame of the version page, in headless Chromium.

For each size (default 100 000 and 1 000 000 points) this script builds a real store
(16-dimensional vectors drawn from 20 Gaussian clusters), starts ``embver ui``'s app
with uvicorn, opens ``#/version/<ref>/pca`` in Debian's Chromium through Playwright and
reads ``window.__embver.firstPaint`` (``performance.now()`` after the frame that
follows the draw, i.e. milliseconds since navigation start). It also reports the bytes
of binary layout + colour data per point and the frame rate while panning and zooming.

The layout itself is computed *before* timing (numpy PCA, cluster = the generating
Gaussian) and primed into the server's cache, so the figure is what the UI costs:
request, transfer, decode, upload to WebGL, first frame. Computing a projection is
``embver project``'s cost and is benchmarked there.

Goals (issue 6): first paint ≤ 5 s at 1M points; ≤ 12 bytes/point.

    python benchmarks/bench_ui.py [--sizes 100000 1000000] [--repeats 3] [--out test-artifacts]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import embver
from embver.project.layout import pca_layout
from embver.server import create_app
from embver.server.frontend_build import HEADLESS_CHROMIUM_FLAGS, build_front_end

FLAGS = HEADLESS_CHROMIUM_FLAGS
GOAL_FIRST_PAINT_S = 5.0
GOAL_BYTES_PER_POINT = 12.0


def make_store(root: Path, n: int, dim: int = 16, clusters: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(clusters, dim)).astype(np.float32)
    membership = rng.integers(0, clusters, size=n)
    vectors = centres[membership] + rng.normal(size=(n, dim)).astype(np.float32)
    ids = [f"p{i:07d}" for i in range(n)]
    store = embver.init(root)
    recipe = embver.Recipe(
        architecture="bench", extraction="raw", weights="w0", dim=dim, metric="l2"
    )
    version = store.space(f"bench-{n}").register(vectors, ids=ids, recipe=recipe)
    return store, version, vectors, membership


def serve(app):
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


INTERACTION_FPS = """async () => {
  const canvas = document.querySelector('canvas.scatter');
  const box = canvas.getBoundingClientRect();
  let frames = 0; let running = true;
  const tick = () => { frames += 1; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const start = performance.now();
  for (let i = 0; i < 40; i += 1) {
    canvas.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 20 < 10 ? -40 : 40,
      clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true }));
    await new Promise((r) => setTimeout(r, 50));
  }
  running = false;
  return frames / ((performance.now() - start) / 1000);
}"""


def measure(browser, url: str, n: int, repeats: int, out: Path) -> dict[str, float]:
    paints, fetches, draws, byte_counts, fps = [], [], [], [], []
    for attempt in range(repeats):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(url, timeout=600_000)
        page.wait_for_function("window.__embver && window.__embver.firstPaint", timeout=600_000)
        paints.append(page.evaluate("window.__embver.firstPaint") / 1000)
        timing = page.evaluate("window.__embver.timing")
        fetches.append(timing["fetchMs"] / 1000)
        draws.append(timing["drawMs"] / 1000)
        byte_counts.append(timing["bytes"])
        print(f"  n={n:,} run {attempt}: first paint {paints[-1]:.2f} s; {timing}", flush=True)
        if attempt == 0:
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / f"bench-ui-{n}.png"))
            fps.append(page.evaluate(INTERACTION_FPS))
        assert not errors, errors
        page.close()
    return {
        "first_paint_s": statistics.median(paints),
        "first_paint_min_s": min(paints),
        "fetch_s": statistics.median(fetches),
        "draw_s": statistics.median(draws),
        "bytes_per_point": statistics.median(byte_counts) / n,
        "zoom_fps": fps[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("test-artifacts"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build_front_end()
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        for n in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                store, version, vectors, membership = make_store(Path(tmp) / "project", n)
                build_s = time.perf_counter() - started
                app = create_app(store, default_method="pca")
                coords = pca_layout(vectors, dims=2, metric="euclidean")
                view = app.state.data.view(version.ref)
                view.cached("layout:pca", lambda c=coords, m=membership: (c, m.astype(np.int64)))
                server, thread, base = serve(app)
                try:
                    result = measure(
                        browser, f"{base}/#/version/{version.ref}/pca", n, args.repeats, args.out
                    )
                finally:
                    server.should_exit = True
                    thread.join(timeout=10)
                    store.close()
                rows.append((n, build_s, result))
                print(f"n={n:>9,}: store built in {build_s:.1f} s; {result}", flush=True)
        browser.close()
    print()
    print(
        f"| points | first paint (median of {args.repeats}) | fetch | draw | bytes/point | zoom fps"
    )
    print("|---:|---:|---:|---:|---:|---:")
    for n, _, r in rows:
        paint, per_point = r["first_paint_s"], r["bytes_per_point"]
        print(
            f"| {n:,} | {paint:.2f} s ({paint / GOAL_FIRST_PAINT_S:.2f}× goal) "
            f"| {r['fetch_s']:.2f} s | {r['draw_s']:.2f} s "
            f"| {per_point:.2f} ({per_point / GOAL_BYTES_PER_POINT:.2f}× goal) "
            f"| {r['zoom_fps']:.1f}"
        )


if __name__ == "__main__":
    main()
