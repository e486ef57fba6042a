"""Build the UI's front end (``frontend/`` → ``src/embver/server/static/dist``) with npm.

Used by the package build (``setup.py``) and the browser tests; the built bundle is
never committed. Needs Node.js and npm; dependencies come from the npm registry as
pinned in ``frontend/package-lock.json``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DIST = Path(__file__).parent / "static" / "dist"
SOURCE = Path(__file__).resolve().parents[3] / "frontend"


def is_built(dist: Path = DIST) -> bool:
    """Whether the UI's page and the notebook widget's module are both built."""
    return (dist / "index.html").is_file() and (dist / "assets" / "widget.js").is_file()


def build_front_end(source: Path = SOURCE, force: bool = False) -> Path:
    """Run ``npm ci`` (when node_modules is missing) and ``npm run build`` in ``source``.

    Returns the dist folder. Raises ``RuntimeError`` naming what is missing.
    """
    if is_built() and not force:
        return DIST
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: install Node.js and npm to build the embver UI")
    if not (source / "package.json").is_file():
        raise RuntimeError(f"no front-end source at {source} (frontend/package.json)")
    if not (source / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=source, check=True)
    subprocess.run([npm, "run", "build"], cwd=source, check=True)
    if not is_built():
        raise RuntimeError(f"npm run build did not produce {DIST}")
    return DIST


#: Flags for Debian's Chromium driven headless by the browser tests and the UI benchmark:
#: root without a sandbox, software WebGL, and no background connections (the machine has
#: no network beyond the package registries).
HEADLESS_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
