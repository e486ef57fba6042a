"""The version page on an *uncached* version, in headless Chromium: first useful paint, full layout.

Builds a real store of ``--size`` (default 100 000) 384-dimensional vectors drawn from
50 Gaussian clusters (cosine metric, texts, no labels: the page colours by clusters),
starts ``embver ui``'s app with uvicorn and opens ``#/version/<ref>`` in Debian's Chromium
through Playwright. Nothing is primed: as ``embver ui`` does, the server imports its vector
engine and starts its layout worker (which imports its libraries) as it starts, and reads
no data. The page's first frame is the preview, the quick layout (PCA axes fitted on a
10 000-row sample) of just those sampled rows, read without the content-hash check and
marked so, which starts the full UMAP projection in the background; then the quick
layout of every row (the checked full read).

Reported, from the same run:

- first paint: ``window.__embver.firstPaint`` (ms since navigation, after the frame that
  follows the draw; the screenshot taken then is checked to be non-blank), with the page's
  own split (fetch, draw) and when every row's checked quick layout was drawn;
- full layout: ``window.__embver.fullPaint`` (the page morphed to the UMAP layout) and the
  server job's own clock (``reached``: when the layout and the clusters were done);
- trustworthiness (k=10, cosine, scikit-learn, on a 2 000-row sample) of the preview (on
  2 000 of its own rows, in the space of its rows), of the quick layout, of the full UMAP
  layout, and of the peer: what the page showed before this change at this size, the
  exact PCA layout (``method=pca``, the old default above 50 000 items);
- the peer's time: ``embver project --method pca`` of the same vectors in a second space,
  which the old ``/points`` waited for before drawing anything (PCA plus HDBSCAN clusters).

Goals (issue 16): first useful paint ≤ 1 s at 100k; full layout ≤ 8 s.

    python benchmarks/bench_ui_cold.py [--size 100000] [--dim 384] [--no-peer] [--out DIR]
                                       [--full-timeout SECONDS]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from bench_ui import serve

import embver
from embver.project.api import project
from embver.project.layout import pca_layout, sampled_pca_layout
from embver.server import create_app
from embver.server.frontend_build import HEADLESS_CHROMIUM_FLAGS, build_front_end

GOAL_FIRST_PAINT_S = 1.0
GOAL_FULL_S = 8.0
TRUST_SAMPLE = 2000


def make_vectors(n: int, dim: int, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    members = rng.integers(0, clusters, size=n)
    return centres[members] + rng.normal(scale=0.8, size=(n, dim)).astype(np.float32)


def register(store: embver.Store, space: str, vectors: np.ndarray) -> embver.Version:
    n, dim = vectors.shape
    recipe = embver.Recipe(architecture="bench", extraction="raw", weights="w0", dim=dim)
    ids = [f"p{i:07d}" for i in range(n)]
    texts = [f"point {i}" for i in range(n)]
    return store.space(space).register(vectors, ids=ids, recipe=recipe, texts=texts)


def serve_cli(root: Path) -> tuple[subprocess.Popen, str]:
    """``embver ui`` on a free port, in its own process as a user runs it; returned once it
    answers (it serves once its layout worker has loaded)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "embver.cli", "--store", str(root), "ui", "--port", str(port)]
    ui = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            raise SystemExit(f"embver ui exited with code {ui.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/spaces", timeout=5):
                return ui, base
        except OSError:
            time.sleep(0.1)
    ui.kill()
    raise SystemExit("embver ui did not answer within 120 s")


def trust(vectors: np.ndarray, layout: np.ndarray, rows: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(vectors[rows], layout[rows], n_neighbors=10, metric="cosine"))


def open_cold(browser, url: str, out: Path, n: int, full_timeout_s: float) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, timeout=900_000)
    page.wait_for_function("window.__embver && window.__embver.firstPaint", timeout=900_000)
    first = page.evaluate("window.__embver.firstPaint") / 1000
    stage = page.evaluate("window.__embver.layoutStages[0]")
    timing = page.evaluate("window.__embver.timing")
    # the preview request as the browser saw it, and the server's own time on it (its
    # Server-Timing header): the rest of the fetch is waiting for a core
    request = page.evaluate(PREVIEW_REQUEST)
    png = page.locator("#plot").screenshot(path=str(out / f"bench-ui-cold-{n}-quick.png"))
    painted = painted_share(png)
    progress = page.locator(".layout-progress").inner_text()
    print(f"  first paint {first:.2f} s ({stage}, {painted:.1%} painted): {progress!r}", flush=True)
    try:
        page.wait_for_function("window.__embver.ready", timeout=full_timeout_s * 1000, polling=500)
    except Exception:  # playwright's TimeoutError: report how far the job got
        status = page.evaluate("window.__embver.layoutStatus")
        page.close()
        raise SystemExit(
            f"the full layout was not ready after {full_timeout_s} s: {status}"
        ) from None
    full = page.evaluate("window.__embver.fullPaint") / 1000
    status = page.evaluate("window.__embver.layoutStatus")
    events = {e["name"]: e["ms"] / 1000 for e in page.evaluate("window.__embver.events")}
    page.locator("#plot").screenshot(path=str(out / f"bench-ui-cold-{n}-full.png"))
    page.close()
    assert not errors, errors
    return {
        "first_paint_s": first,
        "first_stage": stage,
        "first_points": timing["points"],
        "fetch_s": timing["fetchMs"] / 1000,
        "preview_request_s": request["seconds"],
        "preview_server_s": request["server"],
        "draw_s": timing["drawMs"] / 1000,
        "pane_s": timing["paneMs"] / 1000,
        "every_row_s": events.get("frame:quick", float("nan")),
        "painted_share": painted,
        "progress_text": progress,
        "full_paint_s": full,
        "job_layout_s": status["reached"].get("clusters", float("nan")),
        "job_full_s": status["reached"].get("full", float("nan")),
    }


PREVIEW_REQUEST = """(() => {
  const entry = performance.getEntriesByType('resource')
    .find((e) => e.name.includes('preview=true'));
  return { seconds: (entry.responseEnd - entry.startTime) / 1000,
           server: entry.serverTiming.length ? entry.serverTiming[0].duration / 1000 : NaN };
})()"""


def preview_trust(vectors: np.ndarray) -> float:
    """Trustworthiness of the preview: the sampled rows' layout, on 2 000 of those rows."""
    from embver.project.layout import SampledAxes, sample_rows
    from embver.server.data import QUICK_SAMPLE

    rows = sample_rows(len(vectors), QUICK_SAMPLE)
    layout = SampledAxes.fit(vectors[rows], metric="cosine").project(vectors[rows])
    picked = np.sort(np.random.default_rng(1).choice(len(rows), size=TRUST_SAMPLE, replace=False))
    return trust(vectors[rows], layout, picked)


def painted_share(png: bytes) -> float:
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((np.abs(pixels - 255).sum(axis=2) > 30).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--no-peer", action="store_true", help="skip the old path's timing")
    parser.add_argument("--full-timeout", type=float, default=3600, help="seconds to wait")
    parser.add_argument("--out", type=Path, default=Path("test-artifacts"))
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve from this process (create_app + uvicorn on a thread, sharing the GIL "
        "with the browser's driver) instead of an `embver ui` process",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build_front_end()
    from playwright.sync_api import sync_playwright

    n = args.size
    vectors = make_vectors(n, args.dim)
    rows = np.sort(np.random.default_rng(1).choice(n, size=min(TRUST_SAMPLE, n), replace=False))
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        store = embver.init(Path(tmp) / "project")
        version = register(store, "cold", vectors)
        # numba's kernels compiled before timing (a fresh install's first run is H5's issue)
        project(store, register(store, "warm", vectors[:2000]), method="umap")
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=HEADLESS_CHROMIUM_FLAGS
        )
        if args.in_process:
            # create_app as `embver ui` calls it: the layout worker loaded before it serves
            server, thread, base = serve(create_app(store, layout_worker_at_start=True))
        else:
            ui, base = serve_cli(Path(tmp) / "project")
        try:
            url = f"{base}/#/version/{version.ref}"
            page = open_cold(browser, url, args.out, n, args.full_timeout)
        finally:
            if args.in_process:
                server.should_exit = True
                thread.join(timeout=10)
            else:
                ui.terminate()
                ui.wait(timeout=30)
            browser.close()
        print(f"n={n:,} × {args.dim}: {page}", flush=True)
        full = project(store, version.ref, method="umap")
        assert full.cached, "the page's full layout is not the store's artifact"
        quick = sampled_pca_layout(vectors, metric="cosine")
        exact = pca_layout(vectors, metric="cosine")
        trusts = {
            "preview (the sampled rows only)": preview_trust(vectors),
            "quick (sampled PCA)": trust(vectors, quick, rows),
            "full (UMAP)": trust(vectors, full.coords, rows),
            "peer: exact PCA (old default)": trust(vectors, exact, rows),
        }
        peer_s = float("nan")
        if not args.no_peer:
            other = register(store, "peer", vectors)
            started = time.perf_counter()
            project(store, other, method="pca")
            peer_s = time.perf_counter() - started
        store.close()
    first, full_s = page["first_paint_s"], page["full_paint_s"]
    print()
    print(f"| cold {n:,} × {args.dim} | seconds | ratio |")
    print("|---|---:|---:|")
    print(
        f"| first useful paint ({page['first_stage']}, {page['painted_share']:.1%} painted) "
        f"| {first:.2f} | {first / GOAL_FIRST_PAINT_S:.2f}× goal (1 s); "
        f"{first / peer_s:.3f}× old path |"
    )
    print(
        f"| of which: fetch {page['fetch_s']:.2f} s (the WebGL pane made meanwhile: "
        f"{page['pane_s']:.2f} s), draw {page['draw_s']:.2f} s "
        f"({page['first_points']:,} points) | | |"
    )
    print(
        f"| the preview request: {page['preview_request_s']:.2f} s, of it the server's own "
        f"work {page['preview_server_s']:.2f} s | | |"
    )
    print(f"| every row drawn (checked quick layout) | {page['every_row_s']:.2f} | |")
    print(f"| full UMAP layout on screen | {full_s:.2f} | {full_s / GOAL_FULL_S:.2f}× goal (8 s) |")
    print(f"| server job: UMAP layout done | {page['job_layout_s']:.2f} | |")
    print(f"| server job: clusters done (artifact written) | {page['job_full_s']:.2f} | |")
    print(f"| old path: /points waited for project(pca) + clusters | {peer_s:.2f} | 1.00× |")
    print()
    print("| layout | trustworthiness@10 (2 000-row sample) | ratio to old default |")
    print("|---|---:|---:|")
    base_t = trusts["peer: exact PCA (old default)"]
    for name, value in trusts.items():
        print(f"| {name} | {value:.4f} | {value / base_t:.3f}× |")
    print(f"\nprogress line at first paint: {page['progress_text']!r}")


if __name__ == "__main__":
    main()
