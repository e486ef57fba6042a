"""Turning inputs into vectors with real models, with recipes that tell the truth.

``Extraction`` is light; everything that needs torch or transformers loads on
first use, so ``import embver`` stays fast.
"""

from __future__ import annotations

from typing import Any

from embver.extract.spec import Extraction, parse_layers

_LAZY = {
    "Encoder": "embver.extract.encoders",
    "TextEncoder": "embver.extract.text",
    "ModuleEncoder": "embver.extract.images",
    "ImagePreprocess": "embver.extract.images",
    "load_model": "embver.extract.sources",
    "embed": "embver.extract.api",
    "encode": "embver.extract.api",
    "as_inputs": "embver.extract.api",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'embver.extract' has no attribute {name!r}")


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
