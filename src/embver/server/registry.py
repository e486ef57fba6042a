"""Registry data for the UI: spaces, version trees, aliases and their history, recipe diffs."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from embver.core import bump_reasons, derive_bump
from embver.core.recipe import recipe_changes

if TYPE_CHECKING:
    from embver.store import Store, Version


def plain(value: Any) -> Any:
    """Turn store objects (dataclasses, enums, datetimes, to_dict()) into JSON data."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return plain(value.to_dict())
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def space_names(store: Store) -> list[str]:
    return sorted(store.space_names())


def version_summary(
    version: Version, store: Store | None = None, evaluation: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the version tree shows for one version (no vectors).

    With ``store``, composite lineage is included: ``components`` (what this version
    is built from) and ``used_by`` (composite versions built from it).
    """
    parent = version.parent
    components, used_by = _composite_edges(store, version)
    return {
        "ref": version.ref,
        "space": version.space,
        "version": str(version.number),
        "parent": str(parent.number) if parent is not None else None,
        "parent_ref": parent.ref if parent is not None else None,
        "bump": str(version.bump),
        "reasons": list(version.reasons),
        "verdict": plain(version.verdict),
        "aliases": list(version.aliases),
        "count": version.count,
        "dim": version.dim,
        "metric": version.metric,
        "created_at": plain(version.created_at),
        "author": version.author,
        "components": components,
        "used_by": used_by,
        "evaluation": evaluation,
    }


def _composite_edges(store: Store | None, version: Version) -> tuple[list[str], list[str]]:
    if store is None:
        return [], []
    up = [e["ref"] for e in store.edges(version, "up") if e["kind"] == "component"]
    down = [e["ref"] for e in store.edges(version, "down") if e["kind"] == "component"]
    return up, down


def space_detail(store: Store, space: str) -> dict[str, Any]:
    """Versions, lineage edges (parent and composite) and aliases with history of a space."""
    from embver.store.evaluations import headlines

    stored = store.versions(space)
    figures = headlines(store, stored)
    versions = [version_summary(v, store, plain(figures.get(v.id))) for v in stored]
    aliases: dict[str, Any] = {}
    for v in versions:
        for alias in v["aliases"]:
            history = alias_history(store, space, alias)
            aliases[alias] = {
                "version": v["version"],
                "reason": history[-1]["reason"] if history else None,
                "history": history,
            }
    edges = [
        {"from": v["parent_ref"], "to": v["ref"], "kind": "parent", "bump": v["bump"]}
        for v in versions
        if v["parent_ref"]
    ]
    edges += [
        {"from": c, "to": v["ref"], "kind": "component", "bump": None}
        for v in versions
        for c in v["components"]
    ]
    edges += [
        {"from": v["ref"], "to": user, "kind": "component", "bump": None}
        for v in versions
        for user in v["used_by"]
    ]
    return {"space": space, "versions": versions, "aliases": aliases, "edges": edges}


def alias_history(store: Store, space: str, alias: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = plain(store.alias_history(space, alias))
    return history


def recipe_diff(old: Version, new: Version) -> dict[str, Any]:
    """Field-by-field difference of two versions' recipes and the bump it implies."""
    a, b = old.recipe.to_dict(), new.recipe.to_dict()
    return {
        "a": old.ref,
        "b": new.ref,
        "bump": str(derive_bump(old.recipe, new.recipe)),
        "reasons": bump_reasons(old.recipe, new.recipe),
        "changes": recipe_changes(a, b),
        "recipe_a": a,
        "recipe_b": b,
    }
