"""Building composite versions: resolve pins, align items, combine, register with lineage."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.composite.combiners import Combiner, Fitted
from embver.composite.definition import (
    DEFINITION_KIND,
    FIT_KIND,
    Component,
    CompositeDefinition,
    load_definition,
    make_definition,
    save_definition,
)
from embver.core import Context, Recipe
from embver.core.composite import ComponentEntry, composite_recipe
from embver.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from embver.composite.definition import ComponentLike
    from embver.store.store import Store
    from embver.store.version import Version

MASK_KIND = "composite-mask"


@dataclass
class Aligned:
    """Component vectors aligned on the composite's items.

    ``blocks[i]`` has shape (n, dim_i), float32, zero rows where ``present[:, i]`` is False.
    """

    ids: list[str]
    blocks: list[np.ndarray]
    present: np.ndarray


def define(
    store: Store,
    name: str,
    components: Sequence[ComponentLike],
    combiner: Combiner | str | Mapping[str, Any],
    *,
    missing: str = "drop",
    metric: str = "cosine",
    author: str | None = None,
) -> Version:
    """Define (or redefine) the composite ``name`` and build its version.

    Everything is computed before anything is written; if registration fails
    (e.g. strict mode refuses a breaking PATCH) the previous definition is restored.
    """
    definition = make_definition(name, components, combiner, missing=missing, metric=metric)
    _check_space_kind(store, name)
    check_no_cycle(store, definition)
    prepared = prepare(store, definition, author=author)
    previous = store.artifacts.get(DEFINITION_KIND, name)
    save_definition(store, definition)
    try:
        return commit(store, prepared)
    except Exception:
        if previous is None:
            store.artifacts.delete(DEFINITION_KIND, name)
        else:
            store.artifacts.put(DEFINITION_KIND, name, meta=previous.meta)
        raise


def rebuild(
    store: Store, name: str, *, recursive: bool = False, author: str | None = None
) -> Version:
    """Register ``name``'s version for what its pins resolve to now.

    Alias- and latest-pinned components follow; version-pinned ones stay. With
    ``recursive``, composite components are rebuilt first (innermost first).
    """
    definition = load_definition(store, name)
    check_no_cycle(store, definition)
    if recursive:
        for component in definition.components:
            if _is_composite(store, component.space):
                rebuild(store, component.space, recursive=True, author=author)
    return commit(store, prepare(store, definition, author=author))


@dataclass
class Prepared:
    """A composite version computed but not yet written."""

    definition: CompositeDefinition
    resolved: list[tuple[Component, Version]]
    aligned: Aligned
    fitted: Fitted | None
    recipe: Recipe


def prepare(
    store: Store, definition: CompositeDefinition, *, author: str | None = None
) -> Prepared:
    """Resolve the pins, align the items, fit the combiner and make the recipe (no writes)."""
    resolved = resolve(store, definition)
    aligned = align(store, definition, resolved)
    combiner = definition.combiner
    fitted = combiner.fit(aligned.blocks, aligned.present)
    recipe = composite_recipe(
        [_entry(c, v) for c, v in resolved],
        combiner.spec(len(resolved)),
        combiner.output_dim([v.dim for _, v in resolved]),
        missing=definition.missing,
        metric=definition.metric,
        fitted=fitted.hash if fitted else None,
        context=Context(
            author=author, notes="composite of " + ", ".join(v.ref for _, v in resolved)
        ),
    )
    return Prepared(definition, resolved, aligned, fitted, recipe)


def commit(store: Store, prepared: Prepared) -> Version:
    """Write a prepared composite version: fitted parameters, vectors, lineage, mask."""
    definition, fitted, aligned = prepared.definition, prepared.fitted, prepared.aligned
    if fitted is not None and store.artifacts.get(FIT_KIND, fitted.hash) is None:
        # content-addressed: the same parameters are written once
        store.artifacts.put(
            FIT_KIND, fitted.hash, fitted.to_bytes(), meta={"composite": definition.name}
        )
    space = store.space(definition.name, kind="composite")
    existing = space.registered(prepared.recipe)
    if existing is not None:
        aligned = _only_new(aligned, existing)
    vectors = definition.combiner.combine(aligned.blocks, fitted)
    version = _register(store, definition, prepared.resolved, aligned, vectors, prepared.recipe)
    _record_mask(store, version, aligned, [c.name for c, _ in prepared.resolved])
    return version


def _register(
    store: Store,
    definition: CompositeDefinition,
    resolved: list[tuple[Component, Version]],
    aligned: Aligned,
    vectors: np.ndarray,
    recipe: Any,
) -> Version:
    texts, labels, uris = _merged_items(store, resolved, aligned.ids)
    edges = [(v.id, "component", {"name": c.name, "pin": c.pin}) for c, v in resolved]
    space = store.space(definition.name, kind="composite")
    if not aligned.ids:
        existing = space.registered(recipe)
        if existing is not None:
            return space.unchanged(existing)
        raise InvalidInputError(
            f"composite {definition.name!r} has no items: its components share none"
        )
    return space.register(
        vectors, ids=aligned.ids, recipe=recipe, texts=texts, labels=labels, uris=uris, edges=edges
    )


def _entry(component: Component, version: Version) -> ComponentEntry:
    return ComponentEntry.from_recipe(
        component.name, component.space, component.pin, str(version.number), version.recipe
    )


# -- resolving pins ------------------------------------------------------------
def resolve(store: Store, definition: CompositeDefinition) -> list[tuple[Component, Version]]:
    """Each component with the version its pin names now; a pin that is gone is named."""
    resolved = []
    for component in definition.components:
        try:
            resolved.append((component, store.get(component.ref)))
        except NotFoundError as exc:
            raise NotFoundError(
                f"composite {definition.name!r}: component {component.name!r} pins "
                f"{component.ref}, which is gone ({exc}); set the alias again "
                "(`embver alias set`) or redefine the composite with another pin"
            ) from None
    return resolved


def _space_kind(store: Store, name: str) -> str | None:
    """``plain``/``composite`` for an existing space, None when there is none."""
    try:
        return store.space(name, create=False).kind
    except NotFoundError:
        return None


def _is_composite(store: Store, space: str) -> bool:
    return _space_kind(store, space) == "composite"


def _check_space_kind(store: Store, name: str) -> None:
    if _space_kind(store, name) == "plain":
        raise InvalidInputError(
            f"space {name!r} already exists as a plain space; choose another name for the composite"
        )


def check_no_cycle(store: Store, definition: CompositeDefinition) -> None:
    """Refuse a composite that would contain itself, directly or through other composites."""

    def walk(space: str, path: list[str]) -> None:
        if space == definition.name:
            raise InvalidInputError(
                f"composite {definition.name!r} would contain itself: {' → '.join(path)}; "
                "a composite cannot pin itself, directly or through another composite"
            )
        if not _is_composite(store, space):
            return
        try:
            inner = load_definition(store, space)
        except NotFoundError:
            return
        for component in inner.components:
            walk(component.space, [*path, component.space])

    for component in definition.components:
        walk(component.space, [definition.name, component.space])


# -- aligning items ------------------------------------------------------------
def align(
    store: Store, definition: CompositeDefinition, resolved: list[tuple[Component, Version]]
) -> Aligned:
    """Align the components' vectors on the composite's items under the missing-item policy."""
    tables = [(v.ids, v.vectors()) for _, v in resolved]
    if definition.missing == "drop":
        shared = set(tables[0][0]).intersection(*(set(ids) for ids, _ in tables[1:]))
        ids = [i for i in tables[0][0] if i in shared]
    else:
        ids = list(dict.fromkeys(i for table_ids, _ in tables for i in table_ids))
    blocks, present = [], np.zeros((len(ids), len(tables)), dtype=bool)
    for index, (table_ids, matrix) in enumerate(tables):
        position = {item: row for row, item in enumerate(table_ids)}
        rows = np.array([position.get(i, -1) for i in ids], dtype=np.int64)
        present[:, index] = rows >= 0
        block = np.zeros((len(ids), matrix.shape[1]), dtype=np.float32)
        block[present[:, index]] = matrix[rows[present[:, index]]]
        blocks.append(block)
    if definition.missing == "error":
        _refuse_missing(definition, resolved, ids, present)
    return Aligned(ids, blocks, present)


def _refuse_missing(
    definition: CompositeDefinition,
    resolved: list[tuple[Component, Version]],
    ids: list[str],
    present: np.ndarray,
) -> None:
    for index, (component, version) in enumerate(resolved):
        lacking = np.flatnonzero(~present[:, index])
        if len(lacking):
            raise InvalidInputError(
                f"composite {definition.name!r} (missing='error'): {len(lacking)} item(s) are "
                f"not in component {component.name!r} ({version.ref}), e.g. "
                f"{ids[int(lacking[0])]!r}; embed them there, or use missing='drop' or 'zero'"
            )


def _only_new(aligned: Aligned, existing: Version) -> Aligned:
    """Keep the items ``existing`` lacks: its registered vectors (and zero-fills) stay."""
    known = set(existing.ids)
    keep = np.array([i not in known for i in aligned.ids], dtype=bool)
    return Aligned(
        [i for i, k in zip(aligned.ids, keep, strict=True) if k],
        [block[keep] for block in aligned.blocks],
        aligned.present[keep],
    )


def _merged_items(
    store: Store, resolved: list[tuple[Component, Version]], ids: list[str]
) -> tuple[list[Any], list[Any], list[Any]]:
    """Text, label and URI of each item: the first component that has one supplies it."""
    merged: dict[str, list[Any]] = {
        "text": [None] * len(ids),
        "label": [None] * len(ids),
        "uri": [None] * len(ids),
    }
    for _, version in resolved:
        frame = store.items(version.space, ids=ids)
        for column, values in merged.items():
            for row, value in enumerate(frame[column].tolist()):
                if values[row] is None and isinstance(value, str):
                    values[row] = value
    return merged["text"], merged["label"], merged["uri"]


def _record_mask(store: Store, version: Version, aligned: Aligned, names: list[str]) -> None:
    """Keep which components were zero-filled for which items (artifact ``composite-mask``)."""
    missing = ~aligned.present
    if not aligned.ids:
        return
    old = store.artifacts.get(MASK_KIND, version.ref)
    if not missing.any() and old is None:
        return
    ids, mask = list(aligned.ids), missing
    if old is not None:
        previous = read_mask(old.payload)
        ids = previous[0] + ids
        mask = np.vstack([previous[1], missing]) if len(missing) else previous[1]
    buffer = io.BytesIO()
    np.savez(buffer, ids=np.array(ids, dtype=object).astype(str), missing=mask)
    counts = {name: int(mask[:, i].sum()) for i, name in enumerate(names)}
    store.artifacts.put(
        MASK_KIND,
        version.ref,
        buffer.getvalue(),
        meta={"components": names, "zero_filled": counts},
        versions=[version.id],
    )


def read_mask(payload: bytes) -> tuple[list[str], np.ndarray]:
    """(ids, missing) from a ``composite-mask`` payload.

    ``missing`` is a bool array of shape (n_items, n_components): True where
    the item lacked the component and was zero-filled.
    """
    with np.load(io.BytesIO(payload)) as data:
        return [str(i) for i in data["ids"]], data["missing"].astype(bool)


def zero_fill_mask(store: Store, version: Version) -> tuple[list[str], np.ndarray] | None:
    """The recorded zero-fill mask of a composite version, or None when nothing was zero-filled."""
    artifact = store.artifacts.get(MASK_KIND, version.ref)
    return read_mask(artifact.payload) if artifact else None


def fitted_of(store: Store, version: Version) -> Fitted | None:
    """The fitted combiner parameters a composite version was built with (hash-checked)."""
    from embver.composite.definition import load_fitted

    fitted_hash = version.recipe.specs.get("composite", {}).get("fitted")
    return load_fitted(store, fitted_hash) if fitted_hash else None
