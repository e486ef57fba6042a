"""The extraction spec: how a vector is read out of a model.

An :class:`Extraction` names the pooling, the layer(s), normalisation, the
maximum input length and the prompt prefix. Fields left ``None`` take the
model's own defaults (a sentence-transformers model brings its pooling and
normalisation); :meth:`Extraction.resolved` fills them in, and only a resolved
extraction is fingerprinted, so the recipe records what actually ran.

Pure: no torch import here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from embver.core.recipe import fingerprint
from embver.errors import InvalidInputError

#: Pooling modes over a token sequence (text) or a spatial feature map (images).
POOLINGS = ("cls", "mean", "max", "pooler", "weighted-mean", "mean-sqrt-len", "last-token", "none")
LAYER_COMBINES = ("mean", "concat")
# sentence-transformers' spellings of the same modes
_POOLING_ALIASES = {
    "weightedmean": "weighted-mean",
    "lasttoken": "last-token",
    "mean-sqrt-len-tokens": "mean-sqrt-len",
}


def _parse_pooling(value: str | Iterable[str]) -> str:
    """``"cls+mean"`` or ``("cls", "mean")`` → ``"cls+mean"`` after validation."""
    modes = value.split("+") if isinstance(value, str) else list(value)
    modes = [str(m).strip().lower().replace("_", "-") for m in modes]
    modes = [_POOLING_ALIASES.get(m, m) for m in modes]
    if not modes or any(m not in POOLINGS for m in modes):
        raise InvalidInputError(
            f"extraction field 'pooling' is {value!r}; use one of {', '.join(POOLINGS)} "
            "(join several with '+' to concatenate them)"
        )
    if len(modes) > 1 and ({"pooler", "none"} & set(modes)):
        raise InvalidInputError(
            f"extraction field 'pooling' is {value!r}; 'pooler' and 'none' cannot be combined"
        )
    if len(set(modes)) != len(modes):
        raise InvalidInputError(f"extraction field 'pooling' repeats a mode: {value!r}")
    return "+".join(modes)


def parse_layers(value: str | int | Iterable[int]) -> tuple[int, ...]:
    """Layers as a tuple of hidden-state indices.

    Accepts an int (``-1``), a sequence (``(-4, -3, -2, -1)``), or text:
    ``"-1"``, ``"-4:"`` (the last four), ``"2:5"``, ``"-2,-1"``. Index 0 is the
    embedding layer's output, ``-1`` the last layer, as in Hugging Face's
    ``hidden_states``.
    """
    if isinstance(value, bool):
        raise InvalidInputError(f"extraction field 'layers' is {value!r}; use layer indices")
    if isinstance(value, int):
        return (value,)
    if isinstance(value, str):
        text = value.strip()
        try:
            if ":" in text:
                start_text, _, stop_text = text.partition(":")
                start = int(start_text) if start_text.strip() else 0
                stop = int(stop_text) if stop_text.strip() else 0
                if stop == 0 and start < 0:
                    return tuple(range(start, 0))
                if stop <= start:
                    raise ValueError
                return tuple(range(start, stop))
            return tuple(int(part) for part in text.split(","))
        except ValueError:
            raise InvalidInputError(
                f"extraction field 'layers' is {value!r}; write e.g. -1, -4: (last four), "
                "2:5 or -2,-1"
            ) from None
    try:
        layers = tuple(value)
    except TypeError:  # e.g. a float: neither an index nor a sequence of them
        raise InvalidInputError(
            f"extraction field 'layers' is {value!r}; use an index, e.g. -1, or a list of them"
        ) from None
    if not layers or any(isinstance(i, bool) or not isinstance(i, int) for i in layers):
        raise InvalidInputError(f"extraction field 'layers' is {value!r}; use integer indices")
    return layers


@dataclass(frozen=True)
class Extraction:
    """How a vector is read out of a model.

    Parameters
    ----------
    pooling : str, optional
        One of ``cls``, ``mean``, ``max``, ``pooler`` (the model's pooler head),
        ``weighted-mean``, ``mean-sqrt-len``, ``last-token``, ``none`` (the model
        already outputs one vector); ``"cls+mean"`` concatenates modes.
    layers : int, str or tuple of int, optional
        Hidden-state indices to read (``-1`` last layer, ``"-4:"`` last four).
    layer_combine : {"mean", "concat"}
        How several layers are combined (ignored for one layer).
    normalize : bool, optional
        Scale each vector to unit L2 norm.
    max_length : int, optional
        Truncate inputs to this many tokens.
    prefix : str, optional
        Prompt prefix prepended to every text (e.g. ``"query: "``).
    """

    pooling: str | None = None
    layers: tuple[int, ...] | None = None
    layer_combine: str = "mean"
    normalize: bool | None = None
    max_length: int | None = None
    prefix: str | None = None

    def __post_init__(self) -> None:
        if self.pooling is not None:
            object.__setattr__(self, "pooling", _parse_pooling(self.pooling))
        if self.layers is not None:
            object.__setattr__(self, "layers", parse_layers(self.layers))
        if self.layer_combine not in LAYER_COMBINES:
            raise InvalidInputError(
                f"extraction field 'layer_combine' is {self.layer_combine!r}; "
                f"use one of {LAYER_COMBINES}"
            )
        if self.normalize is not None and not isinstance(self.normalize, bool):
            raise InvalidInputError(
                f"extraction field 'normalize' is {self.normalize!r}; use True or False"
            )
        if self.max_length is not None and (
            isinstance(self.max_length, bool)
            or not isinstance(self.max_length, int)
            or self.max_length < 1
        ):
            raise InvalidInputError(
                f"extraction field 'max_length' is {self.max_length!r}; use a positive integer"
            )
        if self.prefix is not None and not isinstance(self.prefix, str):
            raise InvalidInputError(f"extraction field 'prefix' is {self.prefix!r}; use a string")

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple((self.pooling or "mean").split("+"))

    def merged_over(self, defaults: Extraction) -> Extraction:
        """This extraction with every ``None`` field taken from ``defaults``."""
        changes = {
            f.name: getattr(defaults, f.name)
            for f in fields(self)
            if getattr(self, f.name) is None and getattr(defaults, f.name) is not None
        }
        return replace(self, **changes)

    def resolved(self, defaults: Extraction | None = None) -> Extraction:
        """Every field concrete: model defaults first, then embver's defaults."""
        merged = self.merged_over(defaults) if defaults is not None else self
        return merged.merged_over(
            Extraction(pooling="mean", layers=(-1,), normalize=False, prefix="")
        )

    def to_spec(self) -> dict[str, Any]:
        """The canonical description that the extraction fingerprint is computed from."""
        layers = list(self.layers or (-1,))
        return {
            "pooling": self.pooling or "mean",
            "layers": layers,
            "layer_combine": self.layer_combine if len(layers) > 1 else None,
            "normalize": bool(self.normalize),
            "max_length": self.max_length,
            "prefix": self.prefix or "",
        }

    def fingerprint(self) -> str:
        return fingerprint(self.to_spec(), "extr")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Extraction:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in spec.items() if k in known and v is not None})

    @classmethod
    def coerce(cls, value: Extraction | Mapping[str, Any] | str | None) -> Extraction:
        """Accept an :class:`Extraction`, a mapping of its fields, a pooling name, or None."""
        if value is None:
            return cls()
        if isinstance(value, Extraction):
            return value
        if isinstance(value, str):
            return cls(pooling=value)
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise InvalidInputError(
                    f"unknown extraction field(s) {sorted(unknown)}; known: "
                    f"{[f.name for f in fields(cls)]}"
                )
            return cls(**value)
        raise InvalidInputError(
            f"extraction {value!r} is not an Extraction, a mapping or a pooling name"
        )
