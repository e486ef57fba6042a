"""Bump rules: what changed between two recipes, and the number it earns.

=====================================================  =======
what changed against the parent                        bump
=====================================================  =======
architecture, output dimension, or distance metric     MAJOR
extraction method (incl. dtype / quantisation)         MINOR
weights only                                           PATCH
nothing                                                NONE (same version; items append)
=====================================================  =======
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from embver.core.recipe import Recipe
from embver.core.semver import SemVer
from embver.errors import BumpConflictError, InvalidInputError


class Bump(enum.IntEnum):
    """Size of a change; ordered so that ``max()`` picks the largest."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str | Bump) -> Bump:
        if isinstance(text, Bump):
            return text
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise InvalidInputError(
                f"bump {text!r} is unknown; use one of major, minor, patch"
            ) from None


_MAJOR_FIELDS = ("architecture", "dim", "metric")
_MINOR_FIELDS = ("extraction", "dtype")
_PATCH_FIELDS = ("weights",)


def derive_bump(parent: Recipe | None, child: Recipe) -> Bump:
    """The bump ``child`` earns against ``parent`` (MAJOR for a first version)."""
    if parent is None:
        return Bump.MAJOR
    changed = {name for name, value in child.identity().items() if parent.identity()[name] != value}
    if changed & set(_MAJOR_FIELDS):
        return Bump.MAJOR
    if changed & set(_MINOR_FIELDS):
        return Bump.MINOR
    if changed & set(_PATCH_FIELDS):
        return Bump.PATCH
    return Bump.NONE


def bump_reasons(parent: Recipe | None, child: Recipe) -> list[str]:
    """Human sentences explaining :func:`derive_bump`, one per changed field."""
    if parent is None:
        return ["first version of the space ⇒ MAJOR"]
    reasons = []
    for names, bump in (
        (_MAJOR_FIELDS, "MAJOR"),
        (_MINOR_FIELDS, "MINOR"),
        (_PATCH_FIELDS, "PATCH"),
    ):
        for name in names:
            old, new = parent.identity()[name], child.identity()[name]
            if old != new:
                detail = _spec_detail(parent.specs.get(name), child.specs.get(name))
                reasons.append(f"{name} changed: {detail or f'{old} → {new}'} ⇒ {bump}")
    return reasons or ["nothing changed ⇒ same version"]


def _spec_detail(old: Any, new: Any) -> str:
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return ""
    parts = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {_short(old.get(key))} → {_short(new.get(key))}")
    return ", ".join(parts[:4]) + (", …" if len(parts) > 4 else "")


def _short(value: Any) -> str:
    text = "∅" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def check_declared_bump(declared: Bump | str | None, derived: Bump, reasons: list[str]) -> None:
    """Refuse a declared bump that contradicts the derived one, saying why."""
    if declared is None:
        return
    declared = Bump.parse(declared)
    if declared != derived:
        why = "; ".join(reasons)
        raise BumpConflictError(
            f"declared bump {declared.name} contradicts the recipe, which implies "
            f"{derived.name}: {why}"
        )


def allocate_number(parent: SemVer | None, bump: Bump, existing: Iterable[SemVer]) -> SemVer:
    """The next free number for a ``bump`` from ``parent`` among ``existing`` numbers.

    Parent 1.1.0 retrained while 1.1.1 exists → 1.1.2; a minor change from 1.1.0
    while 1.2.0 exists → 1.3.0; a major change → next free major.
    """
    taken = list(existing)
    if bump == Bump.NONE:
        raise InvalidInputError("a recipe with no change is the same version, not a new number")
    if parent is None or bump == Bump.MAJOR:
        return SemVer(max((v.major for v in taken), default=0) + 1, 0, 0)
    if bump == Bump.MINOR:
        family = [v.minor for v in taken if v.major == parent.major]
        return SemVer(parent.major, max(family, default=parent.minor) + 1, 0)
    family = [v.patch for v in taken if (v.major, v.minor) == (parent.major, parent.minor)]
    return SemVer(parent.major, parent.minor, max(family, default=parent.patch) + 1)
