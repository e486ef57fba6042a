"""Turning inputs into vectors with real models, with recipes that tell the truth.

Names load on first use: ``Extraction`` is light, but everything that needs torch or
transformers waits until it is used, so ``import embver`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embver.extract.api import as_inputs, embed, encode
    from embver.extract.encoders import Encoder
    from embver.extract.images import ImagePreprocess, ModuleEncoder
    from embver.extract.sources import load_model
    from embver.extract.spec import Extraction, parse_layers
    from embver.extract.text import TextEncoder

_EXPORTS = {
    "Extraction": "embver.extract.spec",
    "parse_layers": "embver.extract.spec",
    "Encoder": "embver.extract.encoders",
    "TextEncoder": "embver.extract.text",
    "ImagePreprocess": "embver.extract.images",
    "ModuleEncoder": "embver.extract.images",
    "load_model": "embver.extract.sources",
    "as_inputs": "embver.extract.api",
    "embed": "embver.extract.api",
    "encode": "embver.extract.api",
}

__all__ = [
    "Encoder",
    "Extraction",
    "ImagePreprocess",
    "ModuleEncoder",
    "TextEncoder",
    "as_inputs",
    "embed",
    "encode",
    "load_model",
    "parse_layers",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'embver.extract' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    # Bind every name the submodule provides, so later look-ups skip this function and
    # a submodule named like one of its functions (composite.impact) yields the function.
    globals().update({n: getattr(loaded, n) for n, m in _EXPORTS.items() if m == module})
    return globals()[name]
