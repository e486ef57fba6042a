"""Fine-tuning a real MiniLM on real BBC texts: which weights move, and what the bar shows."""

from __future__ import annotations

import pytest

from embver.errors import InvalidInputError
from embver.extract.finetune import finetune


def _changed(before, after) -> set[str]:
    """Names of the parameters whose values differ between two models."""
    old = dict(before.named_parameters())
    return {name for name, p in after.named_parameters() if not p.detach().equal(old[name])}


def test_train_layers_moves_only_the_top_layers(minilm, bbc):
    tuned, losses = finetune(
        minilm, list(bbc.text), list(bbc.label), steps=2, batch_size=8, train_layers=2
    )
    changed = _changed(minilm.model, tuned.model)
    assert changed and all(
        name.startswith(("encoder.layer.4.", "encoder.layer.5.")) for name in changed
    )
    assert any(name.startswith("encoder.layer.4.") for name in changed)
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    # the copy is left like the original: every weight trainable again, in eval mode
    assert all(p.requires_grad for p in tuned.model.parameters()) and not tuned.model.training
    assert all(p.requires_grad for p in minilm.model.parameters())


def test_every_layer_trains_by_default(minilm, bbc):
    tuned, _ = finetune(minilm, list(bbc.text), list(bbc.label), steps=1, batch_size=8)
    changed = _changed(minilm.model, tuned.model)
    assert any(name.startswith("embeddings.") for name in changed)
    assert any(name.startswith("encoder.layer.0.") for name in changed)


def test_progress_bar_counts_steps_on_stderr(minilm, bbc, capsys):
    finetune(
        minilm,
        list(bbc.text),
        list(bbc.label),
        steps=3,
        batch_size=8,
        train_layers=1,
        max_length=16,
        progress=True,
        description="fine-tuning tiny",
    )
    err = capsys.readouterr().err
    assert "fine-tuning tiny: 100%" in err and "3/3" in err and "loss=" in err


@pytest.mark.parametrize("layers", [0, 7])
def test_train_layers_beyond_the_model_is_refused(minilm, bbc, layers):
    with pytest.raises(InvalidInputError, match=f"cannot use {layers} layers of a BertModel"):
        finetune(minilm, list(bbc.text), list(bbc.label), steps=1, train_layers=layers)
