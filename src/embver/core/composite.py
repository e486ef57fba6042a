"""Recipes and bumps of composite spaces (spaces built from other spaces).

A composite's recipe is made from its components' recipes and its combiner so
that the ordinary bump rules (:func:`embver.core.derive_bump`) give the
composite rules of the design:

=======================================================  ======================
what the composite's fingerprint hashes                  so that …
=======================================================  ======================
architecture: component names/spaces, and each one's     a MAJOR component ⇒
architecture fingerprint, dimension and metric           MAJOR composite
extraction: each component's extraction fingerprint and  a MINOR component, or a
dtype, the combiner's spec, the missing-item policy      combiner change ⇒ MINOR
weights: each component's weights fingerprint and the    a PATCH component, or a
hash of the fitted combiner parameters (if any)          re-fitted projection ⇒
                                                         PATCH
=======================================================  ======================

A combiner change that changes the output dimension (concat → mean, a new
projection width) is MAJOR, like any change of dimension.
:func:`derive_composite_bump` derives the same bump directly from the
component entries, and the two are checked against each other in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from embver.core.bump import Bump, derive_bump
from embver.core.recipe import Context, Recipe, canonical_json, fingerprint
from embver.errors import RecipeError

#: key of the composite's own description inside ``Recipe.specs``
COMPOSITE_SPEC = "composite"


@dataclass(frozen=True)
class ComponentEntry:
    """One component as a composite recipe records it: where it came from and its fingerprints."""

    name: str
    space: str
    pin: str
    version: str
    architecture: str
    extraction: str
    weights: str
    dim: int
    dtype: str = "float32"
    metric: str = "cosine"

    @classmethod
    def from_recipe(
        cls, name: str, space: str, pin: str, version: str, recipe: Recipe
    ) -> ComponentEntry:
        return cls(
            name=name,
            space=space,
            pin=pin,
            version=version,
            architecture=recipe.architecture,
            extraction=recipe.extraction,
            weights=recipe.weights,
            dim=recipe.dim,
            dtype=recipe.dtype,
            metric=recipe.metric,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComponentEntry:
        try:
            return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
        except TypeError as exc:
            raise RecipeError(
                f"composite component entry {dict(data)!r} is incomplete: {exc}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}

    def as_recipe(self) -> Recipe:
        """The component's identity as a recipe (for the ordinary bump rules)."""
        return Recipe(
            architecture=self.architecture,
            extraction=self.extraction,
            weights=self.weights,
            dim=self.dim,
            dtype=self.dtype,
            metric=self.metric,
        )

    @property
    def ref(self) -> str:
        return f"{self.space}@{self.version}"


def composite_recipe(
    components: Sequence[ComponentEntry],
    combiner: Mapping[str, Any],
    dim: int,
    *,
    missing: str = "drop",
    metric: str = "cosine",
    fitted: str | None = None,
    context: Context | None = None,
) -> Recipe:
    """The recipe of a composite version.

    Parameters
    ----------
    components : the resolved components, in combination order.
    combiner : the combiner's resolved spec (JSON data; no fitted parameters).
    dim : output dimension of the composite vectors.
    missing : the missing-item policy ("drop", "zero" or "error").
    metric : the composite's distance metric.
    fitted : content hash of the fitted combiner parameters, if the combiner learns any.
    """
    if not components:
        raise RecipeError("a composite needs at least one component")
    specs = {
        "architecture": _architecture_spec(components),
        "extraction": _extraction_spec(components, combiner, missing),
        "weights": _weights_spec(components, fitted),
        COMPOSITE_SPEC: {
            "components": [c.to_dict() for c in components],
            "combiner": dict(combiner),
            "missing": missing,
            "fitted": fitted,
        },
    }
    return Recipe(
        architecture=fingerprint(specs["architecture"], "composite-arch"),
        extraction=fingerprint(specs["extraction"], "composite-ext"),
        weights=fingerprint(specs["weights"], "composite-w"),
        dim=dim,
        dtype="float32",
        metric=metric,
        specs=specs,
        context=context or Context(),
    )


def _architecture_spec(components: Sequence[ComponentEntry]) -> dict[str, Any]:
    spec: dict[str, Any] = {"components": ",".join(f"{c.name}={c.space}" for c in components)}
    for c in components:
        spec[c.name] = f"{c.architecture}|dim={c.dim}|{c.metric}"
    return spec


def _extraction_spec(
    components: Sequence[ComponentEntry], combiner: Mapping[str, Any], missing: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {c.name: f"{c.extraction}|{c.dtype}" for c in components}
    spec["combiner"] = canonical_json(combiner)
    spec["missing"] = missing
    return spec


def _weights_spec(components: Sequence[ComponentEntry], fitted: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {c.name: c.weights for c in components}
    spec["fitted"] = fitted
    return spec


def is_composite_recipe(recipe: Recipe | None) -> bool:
    return recipe is not None and isinstance(recipe.specs.get(COMPOSITE_SPEC), Mapping)


def component_entries(recipe: Recipe) -> list[ComponentEntry]:
    """The component entries a composite recipe records, in order."""
    if not is_composite_recipe(recipe):
        raise RecipeError("this recipe is not a composite's (it has no 'composite' spec)")
    return [ComponentEntry.from_dict(c) for c in recipe.specs[COMPOSITE_SPEC]["components"]]


def derive_composite_bump(parent: Recipe | None, child: Recipe) -> Bump:
    """The composite bump, read from the component entries and the combiner.

    The largest bump among changed components; a change of combiner or
    missing-item policy is MINOR; a re-fitted combiner alone is PATCH; a
    changed component list, output dimension or metric is MAJOR.
    """
    return max(composite_bump_parts(parent, child).values(), default=Bump.NONE)


def composite_bump_parts(parent: Recipe | None, child: Recipe) -> dict[str, Bump]:
    """Each change between two composite recipes, named, with the bump it earns."""
    if parent is None:
        return {"first version": Bump.MAJOR}
    old_spec, new_spec = parent.specs[COMPOSITE_SPEC], child.specs[COMPOSITE_SPEC]
    old, new = component_entries(parent), component_entries(child)
    parts: dict[str, Bump] = {}
    if [(c.name, c.space) for c in old] != [(c.name, c.space) for c in new]:
        parts["component list"] = Bump.MAJOR
    else:
        for before, after in zip(old, new, strict=True):
            bump = derive_bump(before.as_recipe(), after.as_recipe())
            if bump != Bump.NONE:
                parts[f"{after.name} {before.ref} → {after.ref}"] = bump
    if (parent.dim, parent.metric) != (child.dim, child.metric):
        parts["output dimension/metric"] = Bump.MAJOR
    if canonical_json(old_spec["combiner"]) != canonical_json(new_spec["combiner"]):
        parts["combiner"] = Bump.MINOR
    if old_spec["missing"] != new_spec["missing"]:
        parts["missing-item policy"] = Bump.MINOR
    if old_spec.get("fitted") != new_spec.get("fitted"):
        parts["fitted combiner parameters"] = Bump.PATCH
    return parts


def composite_bump_reasons(parent: Recipe | None, child: Recipe) -> list[str]:
    """Sentences explaining :func:`derive_composite_bump`, largest first."""
    parts = composite_bump_parts(parent, child)
    ordered = sorted(parts.items(), key=lambda item: -int(item[1]))
    return [f"{what} ⇒ {bump.name}" for what, bump in ordered] or ["nothing changed ⇒ same version"]


def swap_component(recipe: Recipe, name: str, entry: ComponentEntry, fitted: str | None) -> Recipe:
    """``recipe`` with component ``name`` replaced by ``entry`` (the name and pin kept).

    ``fitted`` is the fitted-parameter hash to record (a placeholder when a
    learned combiner would have to be re-fitted).
    """
    spec = recipe.specs[COMPOSITE_SPEC]
    components = [
        ComponentEntry.from_dict({**entry.to_dict(), "name": c.name, "pin": c.pin})
        if c.name == name
        else c
        for c in component_entries(recipe)
    ]
    return composite_recipe(
        components,
        spec["combiner"],
        _swapped_dim(recipe, components),
        missing=spec["missing"],
        metric=recipe.metric,
        fitted=fitted,
    )


def _swapped_dim(recipe: Recipe, new: Sequence[ComponentEntry]) -> int:
    """The output dimension after a swap: concatenations follow their inputs' widths."""
    kind = recipe.specs[COMPOSITE_SPEC]["combiner"].get("kind")
    if kind == "concat":
        return sum(c.dim for c in new)
    if kind == "mean":
        return new[0].dim
    return recipe.dim
