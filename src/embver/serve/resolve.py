"""From a request's references to versions, and from one version's space to another's.

:func:`resolve_version` reads a reference afresh on every call (an alias moved a moment
ago is seen by the next request) and, when nothing matches, says what the space holds.
:func:`target_map` decides how a version's vectors may be used in another version's
index: unchanged (the same version, or a drop-in PATCH), through the stored fitted map,
or not at all (a breaking verdict, or no map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embver.compare.api import Adapter, adapter
from embver.core.refs import parse_ref
from embver.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from embver.store import Store, Version


def resolve_version(store: Store, reference: str, field: str = "model") -> Version:
    """The version ``reference`` names now; NotFoundError listing the space's aliases and
    versions (or the store's spaces) when it names none."""
    parsed = parse_ref(reference)
    try:
        return store.get(parsed)
    except NotFoundError:
        pass  # said below: the space's aliases and versions, or the store's spaces
    if parsed.space not in store.space_names():
        raise NotFoundError(
            f"{field} {reference!r}: no space {parsed.space!r}; spaces: {store.space_names()}"
        )
    raise NotFoundError(
        f"{field} {reference!r} names no version; {describe_space(store, parsed.space)}"
    )


def describe_space(store: Store, space: str) -> str:
    """``news has aliases production → 1.0.1; versions 1.0.0, 1.0.1``."""
    aliases = store.aliases(space)
    shown = ", ".join(f"{name} → {number}" for name, number in sorted(aliases.items()))
    numbers = ", ".join(str(v.number) for v in store.versions(space))
    return f"{space} has aliases {shown or '(none)'}, latest; versions {numbers or '(none)'}"


@dataclass(frozen=True)
class TargetMap:
    """How vectors of ``source`` are put in ``target``'s space.

    ``how`` is ``"same"`` (one version), ``"drop-in"`` (a drop-in PATCH: unchanged) or
    ``"adapter"`` (the stored fitted map).
    """

    source: str
    target: str
    how: str
    adapter: Adapter | None = None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` (n, d_source) float32 in the target's space, (n, d_target)."""
        if self.adapter is None:
            return vectors
        return np.asarray(self.adapter.transform(vectors), np.float32)


def target_map(store: Store, source: Version, target: Version) -> TargetMap:
    """How ``source``'s vectors are used in ``target``'s index; InvalidInputError when they
    cannot be (the verdict between them is breaking, or no map is stored)."""
    if source.id == target.id:
        return TargetMap(source.ref, target.ref, "same")
    label = verdict_between(source, target)
    if label == "breaking":
        raise InvalidInputError(
            f"target {target.ref!r}: the verdict between {source.ref} and {target.ref} is "
            f"breaking, so {source.ref}'s vectors cannot search an index of {target.ref}; "
            f"re-embed the index with {source.ref}"
        )
    try:
        return TargetMap(source.ref, target.ref, "adapter", adapter(store, source, target))
    except NotFoundError:
        pass
    if label == "drop-in" and source.dim == target.dim and source.metric == target.metric:
        return TargetMap(source.ref, target.ref, "drop-in")
    raise InvalidInputError(
        f"target {target.ref!r}: no map from {source.ref} to {target.ref} is stored "
        f"(verdict: {label or 'none, not a PATCH'}); run `embver adapter fit {source.ref} "
        f"{target.ref}` first"
    )


def verdict_between(a: Version, b: Version) -> str | None:
    """The PATCH verdict's label when one version is the other's parent, else None."""
    child = a if a.parent_id == b.id else b if b.parent_id == a.id else None
    verdict = child.verdict if child is not None else None
    return str(verdict["label"]) if verdict else None
