"""Small real training and surgery on text models, on the CPU (used by the demo and tests).

:func:`finetune` runs a supervised contrastive loop (items with the same label
pull together, others push apart) on a copy of a text model; :func:`truncate`
keeps the first layers of a copy (another depth: another architecture);
:func:`save` writes a sentence-transformers folder that :func:`load_model` reads.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import InvalidInputError
from embver.extract.spec import Extraction
from embver.extract.text import TextEncoder


def finetune(
    encoder: TextEncoder,
    texts: Sequence[str],
    labels: Sequence[Any],
    *,
    steps: int = 10,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    temperature: float = 0.05,
    seed: int = 0,
    extraction: Extraction | None = None,
    train_layers: int | None = None,
    max_length: int | None = None,
    progress: bool = False,
    description: str = "fine-tuning",
) -> tuple[TextEncoder, list[float]]:
    """A fine-tuned copy of ``encoder`` and its loss per step.

    Each step samples ``batch_size`` items, embeds them with ``extraction``
    (default: the encoder's own pooling and normalisation) and minimises a
    supervised contrastive loss: for every item, items with the same label are
    its positives.

    Parameters
    ----------
    train_layers : int, optional
        Train only the top ``train_layers`` transformer layers; the token
        embeddings and the layers below stay frozen, so the backward pass and the
        optimiser touch a fraction of the weights (all are trained when None).
    max_length : int, optional
        Truncate training texts to this many tokens (default: the extraction's).
    progress : bool
        Show a progress bar on stderr (``description``, steps, loss, elapsed time).
    """
    import torch

    if len(texts) != len(labels) or len(texts) < 2:
        raise InvalidInputError("finetune needs at least two texts with one label each")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(encoder.model).train()
    tuned = TextEncoder(
        model,
        encoder.tokenizer,
        defaults=encoder.defaults,
        lowercase=encoder.lowercase,
        source=f"{encoder.source} fine-tuned {steps} steps",
    )
    resolved = tuned.resolve(extraction)
    if max_length is not None:
        resolved = replace(resolved, max_length=min(max_length, resolved.max_length or max_length))
    label_codes = np.unique(np.asarray([str(x) for x in labels]), return_inverse=True)[1]
    optimizer = torch.optim.AdamW(_trainable(model, train_layers), lr=learning_rate)
    losses: list[float] = []
    with _step_bar(steps, description, progress) as bar:
        for _ in range(steps):
            batch = rng.choice(len(texts), size=min(batch_size, len(texts)), replace=False)
            loss = _contrastive_loss(
                tuned, [texts[i] for i in batch], label_codes[batch], resolved, temperature
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)
            bar.update()
    model.eval().requires_grad_(True)
    return tuned, losses


def _trainable(model: Any, train_layers: int | None) -> list[Any]:
    """The parameters to train: all, or those of the top ``train_layers`` layers only
    (the others get ``requires_grad=False``, so autograd stops below the top layers)."""
    if train_layers is None:
        return list(model.parameters())
    stack = _layer_stack(model, train_layers)
    model.requires_grad_(False)
    top = stack[len(stack) - train_layers :]
    top.requires_grad_(True)
    return list(top.parameters())


def _step_bar(steps: int, description: str, progress: bool) -> Any:
    """A tqdm bar of ``steps`` training steps on stderr (elapsed time, rate, ETA)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=steps,
        desc=description,
        unit="step",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _contrastive_loss(
    encoder: TextEncoder,
    texts: list[str],
    codes: np.ndarray,
    extraction: Extraction,
    temperature: float,
) -> Any:
    import torch

    from embver.extract.pooling import pool_tokens

    inputs = encoder.tokenizer(
        [(extraction.prefix or "") + t for t in texts],
        truncation=True,
        max_length=extraction.max_length,
        padding=True,
        return_tensors="pt",
    )
    hidden = encoder.model(**inputs, return_dict=True).last_hidden_state
    vectors = torch.nn.functional.normalize(
        pool_tokens(hidden, inputs["attention_mask"], extraction.modes), dim=1
    )
    logits = vectors @ vectors.T / temperature
    eye = torch.eye(len(texts), dtype=torch.bool)
    logits = logits.masked_fill(eye, float("-inf"))
    labels = torch.as_tensor(codes)
    positives = (labels[:, None] == labels[None, :]) & ~eye
    log_prob = torch.log_softmax(logits, dim=1).masked_fill(~positives, 0.0)
    has_positive = positives.any(dim=1)
    per_item = -log_prob.sum(dim=1) / positives.sum(dim=1).clamp(min=1)
    return per_item[has_positive].mean() if has_positive.any() else logits.new_zeros(())


def truncate(encoder: TextEncoder, layers: int) -> TextEncoder:
    """A copy of a BERT-like encoder keeping only its first ``layers`` layers."""
    model = copy.deepcopy(encoder.model)
    model.encoder.layer = _layer_stack(model, layers)[:layers]
    model.config.num_hidden_layers = layers
    return TextEncoder(
        model,
        encoder.tokenizer,
        defaults=encoder.defaults,
        lowercase=encoder.lowercase,
        source=f"{encoder.source} truncated to {layers} layers",
    )


def _layer_stack(model: Any, layers: int) -> Any:
    """The ``ModuleList`` of a BERT-like model's layers, checked to hold ``layers`` of them."""
    stack = getattr(getattr(model, "encoder", None), "layer", None)
    if stack is None or not 0 < layers <= len(stack):
        raise InvalidInputError(
            f"cannot use {layers} layers of a {type(model).__name__}; use 1..{len(stack or [])}"
        )
    return stack


def save(encoder: TextEncoder, folder: str | Path) -> Path:
    """Write ``encoder`` as a sentence-transformers folder (model, tokenizer, pooling)."""
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        encoder.model.save_pretrained(folder)
        encoder.tokenizer.save_pretrained(folder)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    extraction = encoder.resolve(Extraction())
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    if extraction.normalize:
        modules.append(
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "1_Pooling").mkdir()
    st_modes = {
        "mean-sqrt-len": "mean_sqrt_len_tokens",
        "weighted-mean": "weightedmean",
        "last-token": "lasttoken",
    }
    modes = [st_modes.get(m, m) for m in extraction.modes]
    pooling = {
        "embedding_dimension": encoder.output_dim(Extraction(pooling="mean", layers=(-1,))),
        "pooling_mode": modes[0] if len(modes) == 1 else modes,
    }
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))
    bert_config = {"max_seq_length": extraction.max_length, "do_lower_case": encoder.lowercase}
    (folder / "sentence_bert_config.json").write_text(json.dumps(bert_config, indent=2))
    return folder
