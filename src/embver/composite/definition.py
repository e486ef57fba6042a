"""A composite's definition: its pinned components, combiner and missing-item policy.

The definition is kept in the store as the artifact ``composite-def/<space>``
(JSON meta; a linear projection's given map goes in ``composite-fit``). Each
built version records what it actually used in its recipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from embver.composite.combiners import (
    Combiner,
    Fitted,
    LearnedProjection,
    as_combiner,
    combiner_from_config,
)
from embver.core import parse_ref, validate_space_name
from embver.core.recipe import METRICS
from embver.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from embver.store.store import Store

DEFINITION_KIND = "composite-def"
FIT_KIND = "composite-fit"
MISSING_POLICIES = ("drop", "zero", "error")


@dataclass(frozen=True)
class Component:
    """One component: a space pinned by exact version (stays) or by alias/latest (follows)."""

    space: str
    pin: str = "latest"
    name: str = ""

    def __post_init__(self) -> None:
        parse_ref(self.ref)  # refuses bad space names and selectors, naming them
        if not self.name:
            object.__setattr__(self, "name", self.space)
        validate_space_name(self.name)

    @property
    def ref(self) -> str:
        return f"{self.space}@{self.pin}"

    @property
    def pin_kind(self) -> str:
        """``version`` (stays put), ``alias``, ``latest`` or ``prefix`` (follow)."""
        return parse_ref(self.ref).kind

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "space": self.space, "pin": self.pin}


#: a component as users write it: ``"title@production"``, ``("title", "production")``,
#: ``("name", "space", "pin")``, ``{"space": ..., "pin": ..., "name": ...}`` or a Component
ComponentLike: TypeAlias = "Component | str | Sequence[str] | Mapping[str, str]"


def as_component(value: ComponentLike) -> Component:
    """A component from ``("title", "production")``, ``"title@production"``,
    ``("name", "space", "pin")``, a mapping or a :class:`Component`."""
    if isinstance(value, Component):
        return value
    if isinstance(value, Mapping):
        return Component(
            space=value["space"], pin=value.get("pin", "latest"), name=value.get("name", "")
        )
    if isinstance(value, str):
        name, _, ref = value.rpartition("=")
        parsed = parse_ref(ref)
        return Component(space=parsed.space, pin=str(parsed).partition("@")[2], name=name)
    parts = list(value)
    if len(parts) == 2:
        return Component(space=parts[0], pin=parts[1])
    if len(parts) == 3:
        return Component(name=parts[0], space=parts[1], pin=parts[2])
    raise InvalidInputError(
        f"component {value!r} is not understood; use ('space', 'alias-or-version'), "
        "'space@pin' or ('name', 'space', 'pin')"
    )


@dataclass(frozen=True)
class CompositeDefinition:
    """What a composite space is made of; ``rebuild`` materialises it as a version."""

    name: str
    components: tuple[Component, ...]
    combiner: Combiner
    missing: str = "drop"
    metric: str = "cosine"

    def __post_init__(self) -> None:
        validate_space_name(self.name)
        if not self.components:
            raise InvalidInputError(f"composite {self.name!r} needs at least one component")
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                f"composite {self.name!r} has duplicate component names {names}; name them, "
                "e.g. ('old-title', 'title', '1.0.0') or 'old-title=title@1.0.0'"
            )
        if self.missing not in MISSING_POLICIES:
            raise InvalidInputError(
                f"missing={self.missing!r} is unknown; use one of {MISSING_POLICIES}"
            )
        if self.metric not in METRICS:
            raise InvalidInputError(f"metric={self.metric!r} is unknown; use one of {METRICS}")
        self.combiner.spec(len(self.components))  # refuses weights/normalize of the wrong length

    def to_meta(self) -> dict[str, Any]:
        return {
            "components": [c.to_dict() for c in self.components],
            "combiner": self.combiner.config(),
            "missing": self.missing,
            "metric": self.metric,
        }

    @classmethod
    def from_meta(
        cls, name: str, meta: Mapping[str, Any], given: Fitted | None = None
    ) -> CompositeDefinition:
        return cls(
            name=name,
            components=tuple(as_component(c) for c in meta["components"]),
            combiner=combiner_from_config(meta["combiner"], given),
            missing=meta.get("missing", "drop"),
            metric=meta.get("metric", "cosine"),
        )


def make_definition(
    name: str,
    components: Sequence[ComponentLike],
    combiner: Combiner | str | Mapping[str, Any],
    missing: str = "drop",
    metric: str = "cosine",
) -> CompositeDefinition:
    return CompositeDefinition(
        name=name,
        components=tuple(as_component(c) for c in components),
        combiner=as_combiner(combiner),
        missing=missing,
        metric=metric,
    )


def save_definition(store: Store, definition: CompositeDefinition) -> None:
    combiner = definition.combiner
    if isinstance(combiner, LearnedProjection) and combiner.given is not None:
        store.artifacts.put(
            FIT_KIND, combiner.given.hash, combiner.given.to_bytes(), meta={"given": True}
        )
    store.artifacts.put(DEFINITION_KIND, definition.name, meta=definition.to_meta())


def load_definition(store: Store, name: str) -> CompositeDefinition:
    artifact = store.artifacts.get(DEFINITION_KIND, name)
    if artifact is None:
        raise NotFoundError(
            f"{name!r} is not a composite space (no definition stored); define it with "
            "store.composite(...) or `embver composite define`"
        )
    given_hash = artifact.meta["combiner"].get("given")
    return CompositeDefinition.from_meta(
        name, artifact.meta, load_fitted(store, given_hash) if given_hash else None
    )


def load_fitted(store: Store, fitted_hash: str) -> Fitted:
    artifact = store.artifacts.get(FIT_KIND, fitted_hash)
    if artifact is None:
        raise NotFoundError(
            f"fitted combiner parameters {fitted_hash!r} are missing from the store"
        )
    return Fitted.from_bytes(artifact.payload, expected_hash=fitted_hash)


def all_definitions(store: Store) -> list[CompositeDefinition]:
    """Every composite definition in the store, by space name."""
    return [load_definition(store, a.key) for a in store.artifacts.find(DEFINITION_KIND)]
