"""Impact: which composites a version of a space reaches, with what bump and verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from embver.composite.definition import Component, CompositeDefinition, all_definitions
from embver.core import Bump, Recipe, fingerprint
from embver.core.composite import (
    COMPOSITE_SPEC,
    ComponentEntry,
    component_entries,
    composite_bump_reasons,
    derive_composite_bump,
    swap_component,
)
from embver.core.display import Part, RichDisplay, Table, Text
from embver.errors import NotFoundError

if TYPE_CHECKING:
    from embver.store.store import Store
    from embver.store.version import Version


@dataclass
class ImpactRow:
    """One composite reached by a version, directly (depth 1) or through other composites."""

    composite: str
    component: str
    depth: int
    path: list[str]
    pin: str
    pin_kind: str
    resolves_to: str | None
    follows: bool
    current: str | None
    current_component: str | None
    bump: str
    reasons: list[str]
    built: str | None = None
    verdict: dict[str, Any] | None = None
    #: the pin itself moves with the change (``follows`` also needs every pin upstream to)
    pin_follows: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(repr=False)
class Impact(RichDisplay):
    """Every composite a version reaches; ``rows`` come in tree order (children under parents)."""

    ref: str
    rows: list[ImpactRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "composites": [row.to_dict() for row in self.rows]}

    def __repr__(self) -> str:
        return f"<Impact of {self.ref}: {len(self.rows)} composite pin(s)>"

    def _display_title(self) -> str:
        reached = len({r.composite for r in self.rows})
        return f"Impact of {self.ref}: reaches {reached} composite(s)"

    def _display_parts(self) -> list[Part]:
        if not self.rows:
            return [Text(f"{self.ref} reaches no composite")]
        columns = ("composite", "component", "pin", "resolves to", "follows", "current",
                   "rebuild bump", "built", "verdict", "why")  # fmt: skip
        rows = [
            ("  " * (r.depth - 1) + r.composite, r.component, f"{r.pin} ({r.pin_kind})",
             r.resolves_to, r.follows, r.current, r.bump.upper(), r.built,
             (r.verdict or {}).get("label"), "; ".join(r.reasons[:4]))
            for r in self.rows
        ]  # fmt: skip
        return [Table(columns, rows)]

    def to_text(self) -> str:
        if not self.rows:
            return f"{self.ref} reaches no composite"
        lines = [f"{self.ref} reaches {len({r.composite for r in self.rows})} composite(s):"]
        for row in self.rows:
            indent = "  " * row.depth
            now = f"→ {row.resolves_to}" if row.resolves_to else "→ gone"
            if row.follows:
                follows = "follows"
            elif row.pin_follows:
                follows = "would follow, but the change stops at a pin upstream"
            else:
                follows = "does not follow"
            lines.append(
                f"{indent}{row.composite} [{row.component}] pins {row.pin} "
                f"({row.pin_kind} {now}, {follows}); "
                f"current {row.current or '—'} built on {row.current_component or '—'}; "
                f"rebuild on it ⇒ {row.bump.upper()}"
            )
            if row.built:
                label = (row.verdict or {}).get("label", "—")
                lines.append(f"{indent}  built: {row.built}  verdict: {label}")
            lines += [f"{indent}  why: {reason}" for reason in row.reasons[:4]]
        return "\n".join(lines)


@dataclass
class _Reach:
    """A version (built or prospective) whose composites are still to be visited."""

    space: str
    entry_version: str
    recipe: Recipe
    version: Version | None
    follows: bool
    path: list[str]


def impact(store: Store, ref: str) -> Impact:
    """Every composite that pins ``ref``'s space, directly or through composites.

    For each: how it pins (alias/latest follow, an exact version stays), what
    the pin resolves to now, the bump a rebuild on ``ref`` would produce
    against the composite's latest version, and the built version and its
    verdict when such a rebuild exists.
    """
    target = store.get(ref)
    definitions = all_definitions(store)
    result = Impact(target.ref)
    queue = [_Reach(target.space, str(target.number), target.recipe, target, True, [target.ref])]
    visited: set[tuple[str, str]] = set()
    while queue:
        reach = queue.pop(0)
        for definition in definitions:
            for component in definition.components:
                if component.space != reach.space or (definition.name, component.name) in visited:
                    continue
                visited.add((definition.name, component.name))
                row, next_reach = _visit(store, definition, component, reach)
                result.rows.append(row)
                if next_reach is not None:
                    queue.append(next_reach)
    result.rows.sort(key=lambda r: (r.path, r.component))  # each composite under what it pins
    return result


def _visit(
    store: Store, definition: CompositeDefinition, component: Component, reach: _Reach
) -> tuple[ImpactRow, _Reach | None]:
    versions = _versions(store, definition.name)
    current = versions[-1] if versions else None
    resolves_to = _resolve(store, component)
    prospective, bump, reasons = _prospective(current, component, reach)
    built = _built_from(store, definition.name, reach.version)
    pin_follows = _pin_follows(component, resolves_to, reach.version)
    follows = reach.follows and pin_follows
    row = ImpactRow(
        composite=definition.name,
        component=component.name,
        depth=len(reach.path),
        path=[*reach.path, definition.name],
        pin=component.ref,
        pin_kind=component.pin_kind,
        resolves_to=resolves_to.ref if resolves_to else None,
        follows=follows,
        pin_follows=pin_follows,
        current=current.ref if current else None,
        current_component=_current_component(current, component),
        bump=str(bump),
        reasons=reasons,
        built=built.ref if built else None,
        verdict=built.verdict if built else None,
    )
    recipe = built.recipe if built else prospective
    if recipe is None:  # never built: nothing pins a version of it yet
        return row, None
    number = str(built.number) if built else "(rebuild)"
    return row, _Reach(definition.name, number, recipe, built, follows, row.path)


def _prospective(
    current: Version | None, component: Component, reach: _Reach
) -> tuple[Recipe | None, Bump, list[str]]:
    """The composite's recipe with ``component`` on ``reach``'s version, and the bump it earns."""
    if current is None:
        return None, Bump.MAJOR, ["not built yet ⇒ first version, MAJOR"]
    entry = ComponentEntry.from_recipe(
        component.name, component.space, component.pin, reach.entry_version, reach.recipe
    )
    old = next(c for c in component_entries(current.recipe) if c.name == component.name)
    fitted = current.recipe.specs[COMPOSITE_SPEC].get("fitted")
    if fitted and old.as_recipe().identity_hash != entry.as_recipe().identity_hash:
        # a learned combiner is re-fitted on the new inputs: its parameters will change
        fitted = fingerprint({"refit": fitted, "input": entry.to_dict()}, "fit:pending")
    prospective = swap_component(current.recipe, component.name, entry, fitted)
    return (
        prospective,
        derive_composite_bump(current.recipe, prospective),
        composite_bump_reasons(current.recipe, prospective),
    )


def _versions(store: Store, space: str) -> list[Version]:
    try:
        return store.versions(space)
    except NotFoundError:  # defined, never built
        return []


def _resolve(store: Store, component: Component) -> Version | None:
    try:
        return store.get(component.ref)
    except NotFoundError:
        return None


def _pin_follows(
    component: Component, resolves_to: Version | None, reached: Version | None
) -> bool:
    """Whether a (recursive) rebuild picks the reached version up through this pin."""
    if reached is not None:
        return resolves_to is not None and resolves_to.id == reached.id
    # an inner composite not rebuilt yet: only a floating pin takes its next version
    return component.pin_kind in ("latest", "prefix")


def _built_from(store: Store, composite: str, version: Version | None) -> Version | None:
    """The newest version of ``composite`` that was built with ``version`` as a component."""
    if version is None:
        return None
    found = [
        e
        for e in store.edges(version, "down")
        if e["kind"] == "component" and e["ref"].startswith(f"{composite}@")
    ]
    return store.get(found[-1]["ref"]) if found else None


def _current_component(current: Version | None, component: Component) -> str | None:
    if current is None:
        return None
    for entry in component_entries(current.recipe):
        if entry.name == component.name:
            return entry.ref
    return None
