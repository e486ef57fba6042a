"""A real MLflow tracking server on 127.0.0.1 (once per session) and a small store to log."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

import embver

LABELS = ("cats", "dogs", "birds")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server at {url} did not answer /health in {timeout:.0f}s")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """The URL of an ``mlflow server`` with a SQLite backend and local artifacts."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    env = {**os.environ, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A store with 1.0.0 and a drop-in PATCH 1.0.1 (labelled items), and 1.0.1 evaluated."""
    rng = np.random.default_rng(0)
    n, dim = 120, 16
    codes = np.arange(n) % 3
    x = (rng.normal(size=(3, dim))[codes] * 4 + rng.normal(size=(n, dim))).astype(np.float32)
    ids = [f"item-{i:03d}" for i in range(n)]
    store = embver.init(tmp_path_factory.mktemp("tracked"))
    recipe = embver.Recipe(
        architecture="arch", extraction="mean", weights="w1", dim=dim,
        context={"hyperparameters": {"lr": 0.001, "epochs": 3}, "training_data": "pets-v1"},
    )  # fmt: skip
    space = store.space("pets")
    v1 = space.register(x, ids=ids, recipe=recipe, labels=[LABELS[c] for c in codes])
    y = (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)
    v2 = space.register(y, ids=ids, recipe=dataclasses.replace(recipe, weights="w2"))
    store.evaluate(v2, "knn-accuracy")
    yield store, v1, v2, x
    store.close()
