"""A tiny real store for the widget tests, and a real JupyterLab server on 127.0.0.1.

``toy`` holds 240 items in four labelled Gaussian clusters (dim 16) with texts and a
``batch`` metadata field: version 1.0.0 and a retrain 1.0.1 (the same items, a little
noise). The JupyterLab fixture starts ``python -m jupyterlab`` once per session with this
tree's ``PYTHONPATH`` (its kernels import the embver under test) and its folders in a
temporary directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import embver

N_ITEMS = 240
LABELS = ("cat", "dog", "fox", "owl")
SRC = Path(__file__).resolve().parents[2] / "src"


def build_toy_store(root: Path) -> embver.Store:
    rng = np.random.default_rng(7)
    membership = np.arange(N_ITEMS) % len(LABELS)
    centres = rng.normal(scale=6.0, size=(len(LABELS), 16))
    vectors = (centres[membership] + rng.normal(size=(N_ITEMS, 16))).astype(np.float32)
    ids = [f"toy-{i:03d}" for i in range(N_ITEMS)]
    labels = [LABELS[m] for m in membership]
    store = embver.init(root)
    space = store.space("toy")
    v1 = space.register(
        vectors,
        ids=ids,
        recipe=embver.Recipe(architecture="toy", extraction="raw", weights="w0", dim=16),
        texts=[f"a {label}, number {i}" for i, label in enumerate(labels)],
        labels=labels,
        metadata=[{"batch": "early" if i < 120 else "late"} for i in range(N_ITEMS)],
    )
    noisy = (vectors + rng.normal(scale=0.2, size=vectors.shape)).astype(np.float32)
    space.register(
        noisy,
        ids=ids,
        recipe=embver.Recipe(architecture="toy", extraction="raw", weights="w1", dim=16),
        parent=v1,
    )
    return store


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("widgets") / "project"
    store = build_toy_store(root)
    yield store
    store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_jupyterlab(
    root: Path, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str, str]:
    """``python -m jupyterlab`` serving ``root`` on a free loopback port: (process, base, token)."""
    token = "embver-widget-tests"
    port = free_port()
    home = root / ".jupyter-home"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root",
        f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
    ]  # fmt: skip
    (home / "config").mkdir(parents=True, exist_ok=True)
    lab = {
        # the tests drive the notebook through JupyterLab's own commands (window.jupyterapp)
        "expose_app_in_browser": True,
        # nothing fetched from the network: no news feed, no update check
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly",
    }
    (home / "config" / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": lab}))
    log = open(home.with_suffix(".log"), "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyterlab exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return process, base, token
        except OSError:
            time.sleep(0.25)
    process.terminate()
    raise RuntimeError(f"jupyterlab did not answer on {base} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    process, base, token = start_jupyterlab(root)
    yield root, base, token
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
