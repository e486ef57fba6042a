"""Automatic fingerprints of a model: architecture from structure, weights from tensors.

The architecture spec keeps what shapes the network and its input space
(model type, depth, widths, heads, activation, vocabulary and tokenizer
pipeline) and drops what does not (names, paths, library versions, dtype,
label maps, dropout and other training-only settings). The weights digest
streams every tensor of the state dict through BLAKE3 without copying.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from embver.core.recipe import _normalise, canonical_json, fingerprint

if TYPE_CHECKING:
    import torch

# Config keys that do not change what the network computes at inference time.
_NON_STRUCTURAL_KEYS = frozenset(
    {
        "architectures",
        "transformers_version",
        "torch_dtype",
        "dtype",
        "id2label",
        "label2id",
        "num_labels",
        "problem_type",
        "finetuning_task",
        "name_or_path",
        "initializer_range",
        "initializer_factor",
        "hidden_dropout_prob",
        "attention_probs_dropout_prob",
        "attention_dropout",
        "hidden_dropout",
        "dropout",
        "classifier_dropout",
        "summary_first_dropout",
        "gradient_checkpointing",
        "use_cache",
        "return_dict",
        "output_hidden_states",
        "output_attentions",
        "torchscript",
        "use_return_dict",
        "task_specific_params",
        "tokenizer_class",
        "prefix",
        "attn_implementation",
        "chunk_size_feed_forward",
        "tf_legacy_loss",
        "use_bfloat16",
        "pruned_heads_serialized",
    }
)


def structural_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The structural part of a Hugging Face model config, as plain JSON data."""
    kept = {}
    for key, value in config.items():
        if key.startswith("_") or key in _NON_STRUCTURAL_KEYS:
            continue
        if isinstance(value, Mapping):  # nested sub-configs (text_config, vision_config)
            value = structural_config(value)
        try:
            kept[key] = _normalise(value)
        except Exception:  # a value that is not JSON data describes no shape
            continue
    return kept


def tokenizer_spec(tokenizer: Any) -> dict[str, Any]:
    """What a tokenizer does to text: vocabulary digest and pipeline, never its name or path."""
    vocab = tokenizer.get_vocab()
    vocab_digest = hashlib.sha256(
        canonical_json(sorted(vocab.items(), key=lambda item: item[1])).encode()
    ).hexdigest()[:24]
    spec: dict[str, Any] = {"vocab_size": len(vocab), "vocab": vocab_digest}
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        pipeline = json.loads(backend.to_str())
        raw_model = pipeline.get("model") or {}
        model = {k: v for k, v in raw_model.items() if k not in ("vocab", "merges")}
        if "merges" in raw_model:
            model["merges"] = fingerprint(raw_model["merges"])
        spec.update(
            {
                "model": model,
                "normalizer": pipeline.get("normalizer"),
                "pre_tokenizer": pipeline.get("pre_tokenizer"),
                "post_processor": pipeline.get("post_processor"),
            }
        )
    else:
        spec["class"] = type(tokenizer).__name__
        spec["do_lower_case"] = getattr(tokenizer, "do_lower_case", None)
    spec["padding_side"] = getattr(tokenizer, "padding_side", "right")
    normalised: dict[str, Any] = _normalise(spec)
    return normalised


def transformer_architecture_spec(model: Any, tokenizer: Any) -> dict[str, Any]:
    """Architecture spec of a Hugging Face model plus its tokenizer, flat for readable diffs."""
    spec: dict[str, Any] = {"class": type(model).__name__}
    spec.update(structural_config(model.config.to_dict()))
    for key, value in tokenizer_spec(tokenizer).items():
        # Long nested pipeline parts are summarised by digest so a diff line stays short.
        spec[f"tokenizer.{key}"] = (
            fingerprint(value) if isinstance(value, (Mapping, list)) else value
        )
    return spec


def module_architecture_spec(module: torch.nn.Module) -> dict[str, Any]:
    """Architecture spec of any ``torch.nn.Module``: class names, parameter names and shapes."""
    classes = sorted({f"{type(m).__module__}.{type(m).__qualname__}" for m in module.modules()})
    shapes = {name: list(t.shape) for name, t in module.state_dict().items()}
    return {
        "class": f"{type(module).__module__}.{type(module).__qualname__}",
        "modules": fingerprint(classes),
        "module_count": sum(1 for _ in module.modules()),
        "tensors": fingerprint(shapes),
        "tensor_count": len(shapes),
        "parameters": sum(int(t.numel()) for t in module.parameters()),
    }


def weights_digest(module: torch.nn.Module) -> str:
    """Content hash of a module's tensors (names, dtypes, shapes and bytes), streamed.

    Every tensor of the state dict is fed to BLAKE3 as a zero-copy byte view;
    BLAKE3 hashes large buffers on all cores, so a 110M-parameter model takes
    well under a second on a laptop.
    """
    import blake3
    import torch

    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    seen: dict[tuple[int, str, tuple[int, ...]], str] = {}
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach()
        header = f"{name}|{str(tensor.dtype).removeprefix('torch.')}|{list(tensor.shape)}"
        key = (tensor.data_ptr(), str(tensor.dtype), tuple(tensor.stride()))
        if key[0] and key in seen:
            # Tied weights (e.g. shared embeddings) are hashed once, referenced after.
            hasher.update(f"{header}|tied:{seen[key]}\n".encode())
            continue
        seen[key] = name
        hasher.update(f"{header}\n".encode())
        data = tensor.contiguous().cpu().reshape(-1)
        if data.numel():
            hasher.update(memoryview(data.view(torch.uint8).numpy()))
    return f"w:{hasher.hexdigest()[:24]}"


def parameter_count(module: torch.nn.Module) -> int:
    return sum(int(t.numel()) for t in module.parameters())
