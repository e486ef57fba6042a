"""A version's model: what of an encoder is kept with a version, and loading it back.

:func:`model_files` says which files keep an encoder (its folder, a fine-tuned model
saved as a sentence-transformers folder, or a module's state dict with its spec);
:func:`kept_encoder` loads a version's kept model once per process and checks that its
fingerprints are the recipe's; :class:`VersionEncoder` encodes new inputs with it
exactly as the version's vectors were made.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.core.recipe import Recipe
from embver.errors import IntegrityError, InvalidInputError, RecipeError
from embver.extract.encoders import Encoder
from embver.extract.spec import Extraction
from embver.store.models import ModelFiles

if TYPE_CHECKING:
    from embver.store import Version

#: cosine a kept model's vectors must reach against the registered ones
REPRODUCE_COSINE = 1 - 1e-4
#: items re-encoded to check that a model given to ``register`` made the vectors
REPRODUCE_SAMPLE = 16

_STATE_DICT = "state_dict.safetensors"


def model_files(encoder: Encoder, scratch: Path) -> ModelFiles:
    """The files that keep ``encoder``; written under ``scratch`` when it has no folder.

    InvalidInputError (one line, saying what to pass) when it cannot be rebuilt later.
    """
    from embver.extract.images import ModuleEncoder
    from embver.extract.text import TextEncoder

    folder = encoder.unchanged_folder()  # None once trained in place: saved from memory
    if folder is not None:
        kind = "sentence-transformers" if (folder / "modules.json").exists() else "huggingface"
        return ModelFiles(kind, folder)
    if isinstance(encoder, TextEncoder):
        from embver.extract.finetune import save

        return ModelFiles("sentence-transformers", save(encoder, scratch / "model"))
    if isinstance(encoder, ModuleEncoder):
        return _state_dict_files(encoder, scratch / "model")
    raise InvalidInputError(
        f"model {encoder.source or type(encoder).__name__} cannot be kept with a version: "
        "pass a model folder, or keep_model=False to register the vectors without it"
    )


def _state_dict_files(encoder: Any, folder: Path) -> ModelFiles:
    """A module's state dict (safetensors) and the spec it is rebuilt from."""
    from embver.extract.images import ImagePreprocess

    if encoder.builder is None or not isinstance(encoder.preprocess, ImagePreprocess):
        raise InvalidInputError(
            f"module {type(encoder.module).__name__} cannot be rebuilt from its state dict: "
            "pass ModuleEncoder(builder='package.module:function', preprocess=ImagePreprocess"
            "(...)), or keep_model=False to register without keeping the model"
        )
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in encoder.module.state_dict().items()}
    save_file(state, str(folder / _STATE_DICT))
    spec = {
        "builder": encoder.builder,
        "output": encoder.output,
        "preprocess": {
            k: v for k, v in encoder.preprocess.spec.items() if k not in ("kind", "mode")
        },
        "defaults": encoder.defaults.to_spec(),
        "source": encoder.source,
    }
    (folder / "spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
    return ModelFiles("torch-state-dict", folder, spec=spec)


def load_kept(folder: Path, kind: str, weights: str | None = None) -> Encoder:
    """An encoder from a kept model's files (``kind`` as recorded in the catalog;
    ``weights``: their weights fingerprint, known from the recipe, else computed)."""
    from embver.extract.sources import load_folder

    if kind != "torch-state-dict":
        return load_folder(folder, source=f"kept model {folder.name[:12]}", weights=weights)
    return _rebuilt_module(folder)


def _rebuilt_module(folder: Path) -> Encoder:
    from safetensors.torch import load_file

    from embver.extract.images import ImagePreprocess, ModuleEncoder

    spec = json.loads((folder / "spec.json").read_text())
    module_name, _, function = str(spec["builder"]).partition(":")
    module = getattr(importlib.import_module(module_name), function)()
    module.load_state_dict(load_file(str(folder / _STATE_DICT)))
    preprocess: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in spec["preprocess"].items()
    }
    return ModuleEncoder(
        module,
        ImagePreprocess(**preprocess),
        output=spec["output"],
        defaults=Extraction.from_spec(spec["defaults"]),
        source=spec.get("source", ""),
        builder=spec["builder"],
    )


# -- checks --------------------------------------------------------------------------------


def recorded_extraction(encoder: Encoder, recipe: Recipe) -> Extraction:
    """The extraction ``recipe`` records, resolved for ``encoder``; RecipeError when the
    recipe keeps no extraction spec or ``encoder``'s fingerprints are not the recipe's."""
    spec = (recipe.specs or {}).get("extraction")
    if not isinstance(spec, dict):
        raise RecipeError(
            "the recipe records no extraction spec, so no model can be checked against it; "
            "register the model's vectors with embed(), or omit model="
        )
    extraction = encoder.resolve(Extraction.from_spec(spec))
    found = encoder.fingerprints(extraction)
    differ = [
        f"{name} {found[name]} != {getattr(recipe, name)}"
        for name in ("architecture", "extraction", "weights")
        if found[name] != getattr(recipe, name)
    ]
    if differ:
        raise RecipeError(
            f"the model is not the recipe's: {'; '.join(differ)}; pass the model that made "
            "the vectors"
        )
    return extraction


def check_reproduces(
    encoder: Encoder, extraction: Extraction, texts: list[str], vectors: np.ndarray
) -> None:
    """RecipeError unless ``encoder`` gives ``vectors`` (n, dim) for ``texts`` (n ≤ 16)
    within cosine :data:`REPRODUCE_COSINE`."""
    from embver.extract.runner import run_batches

    prepared = encoder.prepare(texts, extraction)
    again = run_batches(encoder, prepared, extraction, progress=False)
    cosine = _row_cosine(again, np.asarray(vectors, np.float32))
    worst = int(np.argmin(cosine))
    if cosine[worst] < REPRODUCE_COSINE:
        raise RecipeError(
            f"the model does not reproduce the vectors: item {worst} of the {len(texts)} "
            f"checked has cosine {cosine[worst]:.6f} (need ≥ {REPRODUCE_COSINE}); pass the "
            "model that made them"
        )


def _row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray(np.sum(a * b, axis=1) / np.maximum(norms, 1e-12))


# -- a version's encoder -------------------------------------------------------------------

#: kept models loaded in this process, by digest (the same digest is the same files)
_LOADED: dict[str, Encoder] = {}


def kept_encoder(
    version: Version, loaded: MutableMapping[str, Encoder] | None = None
) -> tuple[Encoder, Extraction]:
    """``version``'s kept model and its recorded extraction.

    The model is looked up in, or loaded into, ``loaded`` (by model digest; default: the
    process-wide cache, so each model loads once per process).
    """
    digest = version.model_digest
    if digest is None:
        raise InvalidInputError(
            f"{version.ref} keeps no model (registered without one); embed with model= "
            "(the model that made it) instead of version="
        )
    cache = _LOADED if loaded is None else loaded
    encoder = cache.get(digest)
    if encoder is None:
        kept = version.store._model(digest)
        kind = kept.stored_kind if kept else ""
        encoder = cache[digest] = version.store._load_model(
            digest, lambda folder: load_kept(folder, kind, version.recipe.weights)
        )
    # The files were re-hashed against the digest (while they loaded), and registration
    # checked that this model's fingerprints are the recipe's (embed computed them from it;
    # register(model=) compared them), so loading only resolves the recorded extraction:
    # fingerprinting again cost more than loading the weights (the tokenizer's vocabulary
    # is serialised) and would refuse an intact model if a later embver fingerprinted
    # differently.
    spec = (version.recipe.specs or {}).get("extraction")
    if not isinstance(spec, dict):
        raise IntegrityError(
            f"kept model {digest[:12]} of {version.ref}: the recipe records no extraction "
            "spec to apply; re-register the version with embed()"
        )
    return encoder, encoder.resolve(Extraction.from_spec(spec))


class VersionEncoder:
    """Encodes inputs exactly as ``version``'s vectors were made, with its kept model."""

    def __init__(
        self, version: Version, loaded: MutableMapping[str, Encoder] | None = None
    ) -> None:
        self.version = version
        self._encoder, self.extraction = kept_encoder(version, loaded)

    def __repr__(self) -> str:
        return f"<VersionEncoder {self.version.ref} ({self.version.dim}-d)>"

    @property
    def dim(self) -> int:
        return self.version.dim

    @property
    def modality(self) -> str:
        """What an input is: "text" or "image"."""
        return self._encoder.modality

    def encode(
        self, inputs: list[str] | list[object], *, batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """Vectors of shape (n, dim), float32, for ``inputs`` (texts, or image paths)."""
        return self.encode_counted(inputs, batch_size=batch_size, progress=progress)[0]

    def encode_counted(
        self, inputs: list[str] | list[object], *, batch_size: int = 32, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectors (n, dim) float32 for ``inputs`` and what each cost the model, (n,) int64:
        its token count for a text model (after truncation), 0 for an image."""
        from embver.extract.api import as_inputs
        from embver.extract.runner import run_batches

        if isinstance(inputs, str):
            inputs = [inputs]
        items = as_inputs(inputs, modality=self._encoder.modality).items
        if not items:
            return np.zeros((0, self.dim), np.float32), np.zeros(0, np.int64)
        prepared = self._encoder.prepare(items, self.extraction)
        vectors = run_batches(
            self._encoder, prepared, self.extraction, batch_size=batch_size, progress=progress
        )
        return vectors, np.asarray(prepared.cost, np.int64)
