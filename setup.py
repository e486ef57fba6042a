"""Package build hook: build the web UI's front end with npm when its bundle is missing.

All metadata lives in pyproject.toml. ``frontend/`` (vite + regl-scatterplot, pinned by
``package-lock.json``) is built into ``src/embver/server/static/dist`` (git-ignored),
which ships as package data. Without npm the package still builds, and ``embver ui``
serves a page saying how to build the front end; set ``EMBVER_REQUIRE_UI=1`` to make a
missing bundle an error instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
DIST = ROOT / "src" / "embver" / "server" / "static" / "dist"


def build_front_end() -> None:
    if (DIST / "index.html").is_file() or not (FRONTEND / "package.json").is_file():
        return
    npm = shutil.which("npm")
    try:
        if npm is None:
            raise RuntimeError("npm is not installed")
        if not (FRONTEND / "node_modules").is_dir():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run([npm, "run", "build"], cwd=FRONTEND, check=True)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("EMBVER_REQUIRE_UI") == "1":
            raise
        print(f"warning: embver UI front end not built ({exc}); `embver ui` will say how")


class BuildPyWithFrontEnd(build_py):
    def run(self) -> None:
        build_front_end()
        super().run()


setup(cmdclass={"build_py": BuildPyWithFrontEnd})
