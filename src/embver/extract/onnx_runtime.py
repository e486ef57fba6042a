"""A text encoder's transformer on ONNX Runtime: exported once, kept in a per-user cache.

On CPU, ONNX Runtime runs a BERT encoder 2-3x faster than torch eager (measured on
2 busy cores, benchmarks/bench_embed.py): its transformer optimizer fuses attention,
the residual layer norms and the bias GELU, and its MLAS GEMMs run the model's
narrow matmuls well. Its vectors agree with torch's and sentence-transformers' to
~2e-7, far inside the 1e-5 the tests hold them to, so the runtime is an
implementation detail: it is not recorded in a recipe.

The export (torch.onnx, then the optimizer; tens of seconds) happens once per model:
the file lands in :func:`cache_folder` as ``<key>.onnx``, keyed by the weights
fingerprint, the architecture fingerprint and the torch/onnxruntime versions, and
every later run (any process) opens it in well under a second. Like
:mod:`embver.extract.pooling`, this module imports torch: import it lazily.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch

#: ``config.model_type`` of the transformers this route is tested on -> the ORT
#: optimizer's model type; any other architecture runs on torch
OPTIMIZER_MODEL_TYPES: Final = {"bert": "bert"}
#: bump when the exported graph changes (inputs, opset, optimizer passes): a new cache key
EXPORT_FORMAT: Final = 1
_OPSET: Final = 17


def available() -> bool:
    """Whether onnxruntime and onnx (the optimizer reads and writes the graph) import."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def cache_folder() -> Path:
    """Where exported models are kept: ``$EMBVER_ONNX_CACHE`` if set, else
    ``$XDG_CACHE_HOME/embver/onnx`` (``~/.cache/embver/onnx``)."""
    if os.environ.get("EMBVER_ONNX_CACHE"):
        return Path(os.environ["EMBVER_ONNX_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "embver" / "onnx"


def export_key(weights: str, architecture: str, input_names: Sequence[str]) -> str:
    """The cache key of a model's exported file: what the graph is a function of."""
    import onnxruntime

    spec = {
        "weights": weights,
        "architecture": architecture,
        "inputs": list(input_names),
        "format": EXPORT_FORMAT,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


class OnnxTransformer:
    """An exported transformer in an inference session: the last hidden state of a batch.

    Parameters
    ----------
    path : the exported (optimized) ``.onnx`` file
    input_names : the model inputs in the graph's order (``input_ids``, ``attention_mask``, ...)
    threads : intra-op threads
    """

    def __init__(self, path: Path, input_names: Sequence[str], threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: on a machine shared with other work,
        # spinning threads took CPU from the ones computing (best round 59 vs 47 texts/s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.input_names = list(input_names)
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Hidden states of shape (batch, tokens, width), float32, for padded int inputs."""
        feeds = {name: inputs[name].astype(np.int64, copy=False) for name in self.input_names}
        return np.asarray(self.session.run(None, feeds)[0])


def exported(model: Any, input_names: Sequence[str], key: str) -> Path:
    """The cached export of ``model`` under ``key``, made first if absent."""
    path = cache_folder() / f"{key}.onnx"
    if not path.exists():
        export(model, input_names, path)
    return path


def export(model: Any, input_names: Sequence[str], path: Path) -> None:
    """Export ``model``'s last hidden state to ``path``, optimized for ORT's CPU kernels.

    Written to a temporary name, then renamed: two processes exporting at once each
    leave a whole file. ``model`` itself is left as it was (a copy is exported).
    """
    from onnxruntime.transformers import optimizer

    config = model.config
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".export-") as scratch:
        raw = Path(scratch) / "model.onnx"
        _trace(model, input_names, raw)
        optimized = optimizer.optimize_model(
            str(raw),
            model_type=OPTIMIZER_MODEL_TYPES[config.model_type],
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        finished = Path(scratch) / "optimized.onnx"
        optimized.save_model_to_file(str(finished))
        os.replace(finished, path)


def _trace(model: Any, input_names: Sequence[str], path: Path) -> None:
    """torch.onnx (TorchScript exporter) with dynamic batch and sequence axes."""
    # Eager attention is the pattern ORT's optimizer fuses into one Attention op; the
    # export from SDPA kept attention unfused (best round 43 vs 47 texts/s).
    eager = copy.deepcopy(model).eval()
    eager.set_attn_implementation("eager")
    wrapper = _LastHiddenState(eager, input_names).eval()
    # a padded row in the example, so that no mask branch is traced away
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    example = tuple(
        torch.zeros_like(mask) if name == "token_type_ids" else mask for name in input_names
    )
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            input_names=list(input_names),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=_OPSET,
            dynamo=False,
        )


class _LastHiddenState(torch.nn.Module):
    """``model``'s last hidden state, from its inputs given positionally (as ONNX feeds)."""

    def __init__(self, model: Any, input_names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.input_names = list(input_names)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        named = dict(zip(self.input_names, tensors, strict=True))
        return self.model(**named, return_dict=True).last_hidden_state
