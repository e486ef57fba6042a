"""Combiners: how a composite turns its components' vectors into one vector per item.

Each combiner is a small value object with a JSON ``config`` (what the user
chose, kept in the composite's definition), a resolved ``spec`` for a given
number of components (what the extraction fingerprint hashes), and
``fit``/``combine`` over aligned blocks:

- :class:`Concat` — per-component normalisation and weights, then concatenation;
- :class:`Mean` — weighted mean of equal-dimension components;
- :class:`LearnedProjection` — the weighted concatenation mapped to ``dim``
  dimensions by PCA (fitted on the items every component has) or by a given
  linear map; the fitted parameters are stored with the version.
"""

from __future__ import annotations

import abc
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from embver.errors import InvalidInputError

NORMALISATIONS = ("l2", "none")


@dataclass(frozen=True)
class Fitted:
    """Parameters a combiner learned: named float32 arrays and their content hash."""

    arrays: dict[str, np.ndarray]

    @property
    def hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.arrays):
            array = np.ascontiguousarray(self.arrays[name], dtype=np.float32)
            digest.update(f"{name}:{array.shape}".encode())
            digest.update(array.tobytes())
        return f"fit:{digest.hexdigest()[:24]}"

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in self.arrays.items()}
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes, expected_hash: str | None = None) -> Fitted:
        with np.load(io.BytesIO(payload)) as data:
            fitted = cls({name: data[name] for name in data.files})
        if expected_hash is not None and fitted.hash != expected_hash:
            from embver.errors import IntegrityError

            raise IntegrityError(
                f"fitted combiner parameters hash to {fitted.hash}, not {expected_hash}; "
                "the stored artifact is corrupt — run `embver verify`"
            )
        return fitted


class Combiner(abc.ABC):
    """Base of the combiners; subclasses set ``kind`` and implement the abstract methods."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """The user's choice as JSON data (``combiner_from_config`` inverts it)."""

    @abc.abstractmethod
    def spec(self, n_components: int) -> dict[str, Any]:
        """The resolved description for ``n_components`` (hashed into the extraction
        fingerprint)."""

    @abc.abstractmethod
    def output_dim(self, dims: Sequence[int]) -> int:
        """Output dimension for components of widths ``dims``."""

    def fit(self, blocks: Sequence[np.ndarray], present: np.ndarray) -> Fitted | None:
        """Learn parameters from aligned blocks; plain combiners learn nothing."""
        return None

    @abc.abstractmethod
    def combine(self, blocks: Sequence[np.ndarray], fitted: Fitted | None) -> np.ndarray:
        """Combine aligned ``blocks`` (each (n, d_i) float32; missing rows zero) into (n, dim)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Combiner) and other.config() == self.config()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "kind")
        return f"{type(self).__name__}({args})"


class _Weighted(Combiner):
    """Shared handling of per-component normalisation and weights."""

    def __init__(
        self, normalize: str | Sequence[str] = "l2", weights: Sequence[float] | None = None
    ) -> None:
        names = [normalize] if isinstance(normalize, str) else list(normalize)
        for name in names:
            if name not in NORMALISATIONS:
                raise InvalidInputError(
                    f"normalize={name!r} is unknown; use one of {NORMALISATIONS}"
                )
        self.normalize: str | tuple[str, ...] = (
            normalize if isinstance(normalize, str) else tuple(normalize)
        )
        if weights is not None:
            weights = tuple(float(w) for w in weights)
            if any(not np.isfinite(w) or w < 0 for w in weights) or not any(weights):
                raise InvalidInputError(
                    f"weights={weights!r} are invalid: use finite, non-negative numbers, "
                    "not all zero"
                )
        self.weights: tuple[float, ...] | None = weights

    def _resolved(self, n_components: int) -> tuple[list[str], list[float]]:
        norms = (
            [self.normalize] * n_components
            if isinstance(self.normalize, str)
            else list(self.normalize)
        )
        weights = [1.0] * n_components if self.weights is None else list(self.weights)
        for field, values in (("normalize", norms), ("weights", weights)):
            if len(values) != n_components:
                raise InvalidInputError(
                    f"{type(self).__name__} has {len(values)} {field} for {n_components} "
                    "components; give one per component, in component order"
                )
        return norms, weights

    def _base_config(self) -> dict[str, Any]:
        normalize = self.normalize if isinstance(self.normalize, str) else list(self.normalize)
        weights = None if self.weights is None else list(self.weights)
        return {"kind": self.kind, "normalize": normalize, "weights": weights}

    def _base_spec(self, n_components: int) -> dict[str, Any]:
        norms, weights = self._resolved(n_components)
        return {"kind": self.kind, "normalize": norms, "weights": weights}

    def _scaled(self, blocks: Sequence[np.ndarray]) -> list[np.ndarray]:
        norms, weights = self._resolved(len(blocks))
        return [
            weight * _normalised(block, norm)
            for block, norm, weight in zip(blocks, norms, weights, strict=True)
        ]


class Concat(_Weighted):
    """Concatenate components after per-component normalisation (``"l2"``/``"none"``)
    and weights."""

    kind = "concat"

    def config(self) -> dict[str, Any]:
        return self._base_config()

    def spec(self, n_components: int) -> dict[str, Any]:
        return self._base_spec(n_components)

    def output_dim(self, dims: Sequence[int]) -> int:
        return int(sum(dims))

    def combine(self, blocks: Sequence[np.ndarray], fitted: Fitted | None) -> np.ndarray:
        return np.concatenate(self._scaled(blocks), axis=1).astype(np.float32)


class Mean(_Weighted):
    """Weighted mean of equal-dimension components: ``Σ wᵢ·norm(xᵢ) / Σ wᵢ``."""

    kind = "mean"

    def config(self) -> dict[str, Any]:
        return self._base_config()

    def spec(self, n_components: int) -> dict[str, Any]:
        return self._base_spec(n_components)

    def output_dim(self, dims: Sequence[int]) -> int:
        if len(set(dims)) != 1:
            raise InvalidInputError(
                f"Mean needs components of equal dimension, got dims {list(dims)}; "
                "use Concat or LearnedProjection for components of different widths"
            )
        return int(dims[0])

    def combine(self, blocks: Sequence[np.ndarray], fitted: Fitted | None) -> np.ndarray:
        self.output_dim([b.shape[1] for b in blocks])
        _, weights = self._resolved(len(blocks))
        total = np.sum(self._scaled(blocks), axis=0) / float(sum(weights))
        return np.asarray(total, dtype=np.float32)


class LearnedProjection(_Weighted):
    """The weighted concatenation of the components, mapped linearly to ``dim`` dimensions.

    ``method="pca"`` fits principal axes on the items every component has
    (centred, signs fixed so the largest loading of each axis is positive);
    ``method="linear"`` uses a given ``matrix`` of shape (sum of component
    dims, dim) and optional ``bias`` of shape (dim,), e.g. a trained head.
    """

    kind = "projection"
    METHODS = ("pca", "linear")

    def __init__(
        self,
        dim: int,
        method: str = "pca",
        *,
        normalize: str | Sequence[str] = "l2",
        weights: Sequence[float] | None = None,
        matrix: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> None:
        super().__init__(normalize, weights)
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim <= 0:
            raise InvalidInputError(
                f"LearnedProjection dim={dim!r} is invalid; use a positive integer"
            )
        if method not in self.METHODS:
            raise InvalidInputError(
                f"LearnedProjection method={method!r} is unknown; use one of {self.METHODS}"
            )
        self.dim = int(dim)
        self.method = method
        self.given = _given_map(method, self.dim, matrix, bias)

    def config(self) -> dict[str, Any]:
        config = {**self._base_config(), "dim": self.dim, "method": self.method}
        if self.given is not None:
            config["given"] = self.given.hash
        return config

    def spec(self, n_components: int) -> dict[str, Any]:
        return {**self._base_spec(n_components), "dim": self.dim, "method": self.method}

    def output_dim(self, dims: Sequence[int]) -> int:
        return self.dim

    def fit(self, blocks: Sequence[np.ndarray], present: np.ndarray) -> Fitted:
        inputs = np.concatenate(self._scaled(blocks), axis=1).astype(np.float64)
        if self.given is not None:
            return self._check_given(inputs.shape[1])
        shared = inputs[np.all(present, axis=1)]
        if shared.shape[0] < 2 or self.dim > min(shared.shape):
            raise InvalidInputError(
                f"LearnedProjection(dim={self.dim}, method='pca') needs at least dim items "
                "shared by every component and dim ≤ input width; got "
                f"{shared.shape[0]} shared items of width {shared.shape[1]}"
            )
        return _fit_pca(shared, self.dim)

    def _check_given(self, width: int) -> Fitted:
        assert self.given is not None
        matrix = self.given.arrays["matrix"]
        if matrix.shape[0] != width:
            raise InvalidInputError(
                f"LearnedProjection matrix has {matrix.shape[0]} rows but the components "
                f"concatenate to width {width}; give a matrix of shape ({width}, {self.dim})"
            )
        return self.given

    def combine(self, blocks: Sequence[np.ndarray], fitted: Fitted | None) -> np.ndarray:
        if fitted is None:
            raise InvalidInputError(
                "LearnedProjection.combine needs fitted parameters; call fit first"
            )
        inputs = np.concatenate(self._scaled(blocks), axis=1).astype(np.float64)
        arrays = fitted.arrays
        projected = (inputs - arrays["mean"]) @ arrays["matrix"] + arrays["bias"]
        return np.asarray(projected, dtype=np.float32)


def _given_map(
    method: str, dim: int, matrix: np.ndarray | None, bias: np.ndarray | None
) -> Fitted | None:
    if method == "pca":
        if matrix is not None or bias is not None:
            raise InvalidInputError(
                "LearnedProjection(method='pca') learns its map; pass matrix only with "
                "method='linear'"
            )
        return None
    if matrix is None:
        raise InvalidInputError(
            "LearnedProjection(method='linear') needs matrix=(input width, dim) array"
        )
    matrix = np.asarray(matrix, dtype=np.float32)
    bias = np.zeros(dim, np.float32) if bias is None else np.asarray(bias, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dim or bias.shape != (dim,):
        raise InvalidInputError(
            f"LearnedProjection matrix has shape {matrix.shape} and bias {bias.shape}; "
            f"expected (input width, {dim}) and ({dim},)"
        )
    if not (np.isfinite(matrix).all() and np.isfinite(bias).all()):
        raise InvalidInputError("LearnedProjection matrix/bias contain NaN or inf")
    return Fitted({"matrix": matrix, "bias": bias, "mean": np.zeros(matrix.shape[0], np.float32)})


def _fit_pca(inputs: np.ndarray, dim: int) -> Fitted:
    """Principal axes of ``inputs`` (n, D) as a (D, dim) map, with a deterministic sign."""
    mean = inputs.mean(axis=0)
    _, _, vt = np.linalg.svd(inputs - mean, full_matrices=False)
    axes = vt[:dim].T
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(dim)])
    axes = axes * np.where(signs == 0, 1.0, signs)
    return Fitted(
        {
            "mean": mean.astype(np.float32),
            "matrix": axes.astype(np.float32),
            "bias": np.zeros(dim, np.float32),
        }
    )


def _normalised(block: np.ndarray, norm: str) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    if norm == "none":
        return block
    lengths = np.linalg.norm(block, axis=1, keepdims=True)
    # zero rows (zero-filled missing items) stay zero instead of dividing by zero
    return np.divide(block, lengths, out=np.zeros_like(block), where=lengths > 0)


def combiner_from_config(config: Mapping[str, Any], given: Fitted | None = None) -> Combiner:
    """The combiner a ``config()`` describes; ``given`` supplies a linear projection's map."""
    options = {k: v for k, v in config.items() if k not in ("kind", "given")}
    kind = config.get("kind")
    if kind == "concat":
        return Concat(**options)
    if kind == "mean":
        return Mean(**options)
    if kind == "projection":
        if config.get("method") == "linear":
            if given is None:
                raise InvalidInputError(
                    "this linear projection's stored map is missing; define the composite again"
                )
            options.update(matrix=given.arrays["matrix"], bias=given.arrays["bias"])
        return LearnedProjection(**options)
    raise InvalidInputError(f"combiner kind {kind!r} is unknown; use concat, mean or projection")


def as_combiner(value: Combiner | str | Mapping[str, Any]) -> Combiner:
    """A combiner from an instance, a name (``"concat"``, ``"mean"``) or a config mapping."""
    if isinstance(value, Combiner):
        return value
    if isinstance(value, str):
        if value in ("concat", "mean"):
            return combiner_from_config({"kind": value})
        raise InvalidInputError(
            f"combiner {value!r} is unknown; use 'concat', 'mean', or "
            "embver.LearnedProjection(dim=...)"
        )
    if isinstance(value, Mapping):
        return combiner_from_config(value)
    raise InvalidInputError(
        f"combiner {value!r} is not a combiner; use embver.Concat(), Mean() or LearnedProjection()"
    )
