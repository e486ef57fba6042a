"""Turning inputs into vectors with real models, with recipes that tell the truth.

Names load on first use: ``Extraction`` is light, but everything that needs torch or
transformers waits until it is used, so ``import embver`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
