"""Recipes: how a version's vectors were made, with canonical hashing.

A recipe carries three fingerprints (``architecture``, ``extraction``,
``weights``), the output shape of the vectors (``dim``, ``dtype``, ``metric``),
optional ``specs`` (the structured descriptions the fingerprints were computed
from, kept so a diff can say *what* changed) and a free :class:`Context`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from embver.errors import RecipeError

DTYPES = ("float32", "float16")
METRICS = ("cosine", "l2", "dot")
FINGERPRINTS = ("architecture", "extraction", "weights")


def _normalise(value: Any) -> Any:
    """Turn a value into plain JSON data with one spelling per number."""
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecipeError(f"recipe value {value!r} is not finite; use a finite number")
        # 1.0 and 1 describe the same setting; 1e-3 and 0.001 parse equal already.
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    raise RecipeError(
        f"recipe value {value!r} of type {type(value).__name__} is not JSON data; "
        "use strings, numbers, booleans, lists and mappings"
    )


def canonical_json(value: Any) -> str:
    """Serialise ``value`` canonically: sorted keys, no spaces, one number spelling."""
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(value: Any, prefix: str = "") -> str:
    """A short, stable content hash of ``value``'s canonical JSON (``prefix:hex24``)."""
    digest = hashlib.sha256(canonical_json(value).encode()).hexdigest()[:24]
    return f"{prefix}:{digest}" if prefix else digest


def as_mapping(value: Any, what: str) -> dict[str, Any]:
    """``value`` as a dict (None: empty), or a :class:`RecipeError` naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecipeError(
            f"{what} must be a mapping of names to values, got {type(value).__name__} {value!r}"
        )
    return dict(value)


@dataclass(frozen=True)
class Context:
    """What a person needs to reproduce or judge a version; does not affect identity."""

    training_data: str | None = None
    training_data_hash: str | None = None
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    code_ref: str | None = None
    author: str | None = None
    notes: str | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    #: the experiment-tracker runs that made this version, tracker → run id
    #: (``{"mlflow": "5f0c…"}``; see :mod:`embver.integrations`)
    runs: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if not self.runs:
            del data["runs"]  # recipes written before runs were recorded hash as they did
        return _normalise(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Context:
        data = as_mapping(data, "recipe field 'context'")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise RecipeError(
                f"unknown context field(s) {sorted(unknown)}; known: "
                f"{[f.name for f in fields(cls)]}"
            )
        return cls(**data)


@dataclass(frozen=True)
class Recipe:
    """How a version's vectors were made.

    Two recipes with equal ``identity_hash`` describe the same embedding
    function: registering under such a recipe appends to the existing version.
    """

    architecture: str
    extraction: str
    weights: str
    dim: int
    dtype: str = "float32"
    metric: str = "cosine"
    specs: Mapping[str, Any] = field(default_factory=dict)
    context: Context = field(default_factory=Context)

    def __post_init__(self) -> None:
        for name in FINGERPRINTS:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RecipeError(
                    f"recipe field {name!r} must be a non-empty string, got {value!r}"
                )
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim <= 0:
            raise RecipeError(f"recipe field 'dim' must be a positive integer, got {self.dim!r}")
        if self.dtype not in DTYPES:
            raise RecipeError(f"recipe field 'dtype' is {self.dtype!r}; use one of {DTYPES}")
        if self.metric not in METRICS:
            raise RecipeError(f"recipe field 'metric' is {self.metric!r}; use one of {METRICS}")
        if not isinstance(self.context, Context):
            object.__setattr__(self, "context", Context.from_dict(self.context))
        as_mapping(self.specs, "recipe field 'specs'")
        _normalise(self.specs)  # refuse non-JSON specs early

    def identity(self) -> dict[str, Any]:
        """The fields that define the embedding function (everything but context/specs)."""
        return {
            "architecture": self.architecture,
            "extraction": self.extraction,
            "weights": self.weights,
            "dim": self.dim,
            "dtype": self.dtype,
            "metric": self.metric,
        }

    @property
    def identity_hash(self) -> str:
        return fingerprint(self.identity())

    @property
    def hash(self) -> str:
        """Hash of the whole recipe, context included."""
        return fingerprint(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        data = self.identity()
        data["specs"] = _normalise(self.specs)
        data["context"] = self.context.to_dict()
        return data

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    def with_context(self, **changes: Any) -> Recipe:
        return replace(self, context=replace(self.context, **changes))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        if not isinstance(data, Mapping):
            raise RecipeError(f"a recipe must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise RecipeError(f"unknown recipe field(s) {sorted(unknown)}; known: {sorted(known)}")
        missing = {"architecture", "extraction", "weights", "dim"} - set(data)
        if missing:
            raise RecipeError(f"recipe is missing required field(s) {sorted(missing)}")
        values = dict(data)
        values["context"] = Context.from_dict(values.get("context"))
        values["specs"] = as_mapping(values.get("specs"), "recipe field 'specs'")
        return cls(**values)


#: fields a child version's recipe takes from its parent's when it does not give them
INHERITED_FIELDS = ("architecture", "extraction", "weights", "dtype", "metric")


def inherit_recipe(parent: Recipe, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A child's recipe mapping: ``given`` with the fields it leaves out taken from ``parent``.

    The parent's structured spec of a fingerprint comes along only while the child keeps
    that fingerprint (with a changed one it would describe the wrong thing); specs the
    child gives win. ``dim`` and ``context`` are never inherited: they describe this
    version's vectors and the run that made them. Returns the mapping and the names of
    the inherited fields.
    """
    child = dict(given)
    inherited = [name for name in INHERITED_FIELDS if child.get(name) is None]
    for name in inherited:
        child[name] = getattr(parent, name)
    kept_specs = {
        name: parent.specs[name]
        for name in FINGERPRINTS
        if name in parent.specs and child[name] == getattr(parent, name)
    }
    child["specs"] = {**kept_specs, **as_mapping(child.get("specs"), "recipe field 'specs'")}
    return child, inherited


def recipe_changes(
    a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = ""
) -> list[dict[str, Any]]:
    """Leaf-level differences between two recipe dicts: ``[{"field", "a", "b"}]``, sorted."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[dict[str, Any]] = []
        for key in sorted(set(a) | set(b)):
            out += recipe_changes(a.get(key), b.get(key), f"{prefix}{key}.")  # type: ignore[arg-type]
        return out
    return [] if a == b else [{"field": prefix.rstrip("."), "a": a, "b": b}]
