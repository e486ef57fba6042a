"""Text encoders: a Hugging Face transformer plus tokenizer, pooled by embver.

Tokenisation happens once for the whole input (the fast tokenizer works in
parallel); batches are then padded only to their own longest member, and the
pooling formulas match sentence-transformers', so vectors agree with
``SentenceTransformer.encode`` to float32 rounding. Forward passes run on ONNX Runtime
where it is installed and the architecture is one it is tested on
(:mod:`embver.extract.onnx_runtime`), else on torch; both agree to ~2e-7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from embver.core.recipe import fingerprint
from embver.errors import InvalidInputError
from embver.extract.encoders import Encoder, Prepared
from embver.extract.fingerprints import (
    parameter_count,
    transformer_architecture_spec,
    weights_digest,
)
from embver.extract.spec import Extraction


class TextEncoder(Encoder):
    """A transformer (``AutoModel``) and its tokenizer.

    Parameters
    ----------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerBase
    defaults : Extraction, optional
        The model's own extraction (translated from a sentence-transformers config).
    lowercase : bool
        Lower-case texts before tokenising (sentence-transformers ``do_lower_case``).
    source : str
        Where the model came from, for people (never part of a fingerprint).
    """

    modality = "text"
    #: what runs forward passes: "auto" (ONNX Runtime where :meth:`runtime_for` finds it
    #: applies, else torch), "torch", or "onnxruntime" (an error where it does not apply)
    runtime: str = "auto"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        defaults: Extraction | None = None,
        lowercase: bool = False,
        source: str = "",
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.defaults = defaults or Extraction()
        self.lowercase = lowercase
        self.source = source
        self._arch: dict[str, Any] | None = None
        # the ONNX Runtime session, and the parameters (identity, in-place version) and
        # threads it was made for: weights trained in place since then mean a new export
        self._onnx: tuple[tuple[Any, ...], Any] | None = None
        self._onnx_failed = False

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_onnx"] = None  # a session does not pickle (Ray ships encoders); reopened there
        return state

    # -- identity -----------------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        config = self.model.config
        layers = getattr(config, "num_hidden_layers", None)
        if layers is None:
            raise InvalidInputError(
                f"model config of type {config.model_type!r} has no num_hidden_layers; "
                "layer selection is not possible"
            )
        return int(layers)

    @property
    def max_positions(self) -> int:
        limits = [
            getattr(self.model.config, "max_position_embeddings", None),
            getattr(self.tokenizer, "model_max_length", None),
        ]
        usable = [int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
        return min(usable) if usable else 512

    def architecture_spec(self) -> dict[str, Any]:
        if self._arch is None:
            spec = transformer_architecture_spec(self.model, self.tokenizer)
            if self.lowercase:
                spec["input.lowercase"] = True
            self._arch = spec
        return dict(self._arch)

    def _weights_digest(self) -> str:
        return weights_digest(self.model)

    def weights_spec(self) -> dict[str, Any]:
        return {"digest": self.weights_fingerprint(), "parameters": parameter_count(self.model)}

    def default_extraction(self) -> Extraction:
        return self.defaults

    def resolve(self, extraction: Extraction | None) -> Extraction:
        resolved = Extraction.coerce(extraction).resolved(self.defaults)
        total = self.num_layers + 1  # hidden_states: embeddings output, then each layer
        layers = []
        for index in resolved.layers or (-1,):
            if not -total <= index < total:
                raise InvalidInputError(
                    f"extraction layer {index} is out of range for a model with "
                    f"{self.num_layers} layers; use -{total}..{total - 1}"
                )
            layers.append(index - total if index >= 0 else index)  # one spelling: from the end
        if "pooler" in resolved.modes and layers != [-1]:
            raise InvalidInputError("extraction pooling 'pooler' reads the last layer; drop layers")
        if "none" in resolved.modes:
            raise InvalidInputError("extraction pooling 'none' does not apply to text models")
        max_length = min(resolved.max_length or self.max_positions, self.max_positions)
        return Extraction(
            pooling=resolved.pooling,
            layers=tuple(layers),
            layer_combine=resolved.layer_combine,
            normalize=resolved.normalize,
            max_length=max_length,
            prefix=resolved.prefix,
        )

    def output_dim(self, extraction: Extraction) -> int:
        width = int(self.model.config.hidden_size)
        layers = len(extraction.layers or (-1,))
        if extraction.layer_combine == "concat":
            width *= layers
        return width * len(extraction.modes)

    # -- work ---------------------------------------------------------------------------------

    def prepare(self, items: Sequence[Any], extraction: Extraction) -> Prepared:
        """Tokenise every text once; the cost of an item is its token count."""
        prefix = extraction.prefix or ""
        texts = []
        for position, item in enumerate(items):
            if not isinstance(item, str):
                raise InvalidInputError(
                    f"item {position} is {type(item).__name__}, not text; a text model "
                    "embeds strings"
                )
            texts.append(prefix + (item.lower() if self.lowercase else item))
        encoded = self.tokenizer(
            texts,
            truncation=True,
            max_length=extraction.max_length,
            padding=False,
            return_attention_mask=False,
        )
        features = {k: list(v) for k, v in encoded.items()}
        lengths = np.fromiter((len(ids) for ids in features["input_ids"]), np.int64, len(texts))
        return Prepared(payload=features, cost=lengths)

    def runtime_for(self, extraction: Extraction) -> str:
        """What runs this encoder's forward passes under the resolved ``extraction``:
        "onnxruntime" or "torch" (hidden layers other than the last, and the pooler head,
        need torch)."""
        from embver.extract import onnx_runtime

        if self.runtime not in ("auto", "torch", "onnxruntime"):
            raise InvalidInputError(
                f"runtime is {self.runtime!r}; use 'auto', 'torch' or 'onnxruntime'"
            )
        if self.runtime == "torch":
            return "torch"
        reason = self._onnx_unsuitable(extraction, onnx_runtime.available())
        if reason is None:
            return "onnxruntime"
        if self.runtime == "onnxruntime":
            raise InvalidInputError(f"runtime 'onnxruntime' does not apply: {reason}; use 'auto'")
        return "torch"

    def _onnx_unsuitable(self, extraction: Extraction, installed: bool) -> str | None:
        from embver.extract.onnx_runtime import OPTIMIZER_MODEL_TYPES

        model_type = self.model.config.model_type
        checks = [
            (not installed, "onnxruntime or onnx is not installed"),
            (model_type not in OPTIMIZER_MODEL_TYPES, f"model type {model_type!r} is untested"),
            (self.model.device.type != "cpu", "the model is not on the CPU"),
            (str(self.model.dtype) != "torch.float32", f"the model is {self.model.dtype}"),
            ((extraction.layers or (-1,)) != (-1,), "the extraction reads inner layers"),
            ("pooler" in extraction.modes, "pooling 'pooler' reads the pooler head"),
            (self._onnx_failed, "the export failed in this process"),
        ]
        return next((reason for failed, reason in checks if failed), None)

    def encode(
        self, prepared: Prepared, positions: np.ndarray, extraction: Extraction
    ) -> np.ndarray:
        import torch

        batch = {k: [v[i] for i in positions] for k, v in prepared.payload.items()}
        if self.runtime_for(extraction) == "onnxruntime":
            session = self._onnx_session(prepared)
            if session is not None:
                return self._encode_onnx(session, batch, extraction)
        inputs = self.tokenizer.pad(batch, padding=True, return_tensors="pt")
        layers = extraction.layers or (-1,)
        with torch.inference_mode():
            out = self.model(**inputs, output_hidden_states=layers != (-1,), return_dict=True)
            if layers == (-1,):
                hidden = out.last_hidden_state
            else:
                chosen = [out.hidden_states[i] for i in layers]
                hidden = (
                    torch.cat(chosen, dim=-1)
                    if extraction.layer_combine == "concat"
                    else torch.stack(chosen).mean(dim=0)
                )
            pooler_output = getattr(out, "pooler_output", None)
        return _pooled(hidden, inputs["attention_mask"], extraction, pooler_output)

    def _encode_onnx(
        self, session: Any, batch: dict[str, list[Any]], extraction: Extraction
    ) -> np.ndarray:
        import torch

        inputs = self.tokenizer.pad(batch, padding=True, return_tensors="np")
        hidden = torch.from_numpy(session(inputs))
        return _pooled(hidden, torch.from_numpy(inputs["attention_mask"]), extraction)

    def _onnx_session(self, prepared: Prepared) -> Any:
        """The ORT session for the model's current weights and torch's thread count (None,
        with a warning, when the export fails: torch runs instead)."""
        import torch

        from embver.extract import onnx_runtime

        present = {*prepared.payload, "attention_mask"}  # pad() adds the mask
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in present]
        threads = torch.get_num_threads()
        token = (
            tuple((id(p), p._version) for p in self.model.parameters()),
            tuple(names),
            threads,
        )
        if self._onnx is not None and self._onnx[0] == token:
            return self._onnx[1]
        try:
            key = onnx_runtime.export_key(
                self.weights_fingerprint(), fingerprint(self.architecture_spec(), "arch"), names
            )
            path = onnx_runtime.exported(self.model, names, key)
            session = onnx_runtime.OnnxTransformer(path, names, threads)
        except Exception as error:  # an exporter gap for this model: torch still works
            if self.runtime == "onnxruntime":
                raise
            import warnings

            warnings.warn(
                f"ONNX export of {self.source or 'the model'} failed ({error}); "
                "running it on torch",
                stacklevel=2,
            )
            self._onnx_failed = True
            return None
        self._onnx = (token, session)
        return session


def _pooled(
    hidden: Any, attention_mask: Any, extraction: Extraction, pooler_output: Any = None
) -> np.ndarray:
    """Pooled (and, if the extraction says so, normalised) vectors (batch, dim) float32 of
    hidden states (batch, tokens, width) under ``attention_mask`` (batch, tokens)."""
    import torch

    from embver.extract.pooling import pool_tokens

    with torch.inference_mode():
        vectors = pool_tokens(hidden, attention_mask, extraction.modes, pooler_output)
        if extraction.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
    return vectors.float().numpy()
