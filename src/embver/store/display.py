"""What a space and a version show in a notebook: the version tree (bumps, verdicts,
aliases, evaluation figures) and one version's recipe, counts, verdict and figures.

The same words as ``embver log`` and ``embver show`` (:mod:`embver.core.readable`,
:func:`embver.core.lineage.tree_rows`), as tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embver.core.display import Part, Table, Text
from embver.core.lineage import Node, tree_rows
from embver.core.readable import context_items, model_text, spec_text, verdict_line
from embver.store.evaluations import headlines, of_versions

if TYPE_CHECKING:
    from embver.store.space import Space
    from embver.store.version import Version


def _figure_text(figure: dict[str, Any] | None) -> str | None:
    if not figure:
        return None
    return (
        f"{figure['name']} {figure['value']:.3f} [{figure['low']:.3f}, {figure['high']:.3f}] "
        f"(chance {figure['chance']:.3f})"
    )


def space_parts(space: Space) -> list[Part]:
    """The version tree as a table, one row a version, children under their parents."""
    versions = space.versions()
    if not versions:
        return [Text(f"{space.name} has no versions yet")]
    figures = headlines(space.store, versions)
    by_id = {v.id: v for v in versions}
    nodes = [Node(v.id, v.parent_id, str(v.number)) for v in versions]
    rows = []
    for prefix, node in tree_rows(nodes):
        v = by_id[node.id]
        verdict = (v.verdict or {}).get("label")
        rows.append(
            (prefix + node.label, str(v.bump), v.aliases, verdict, f"{v.count} × {v.dim}",
             _figure_text(figures.get(v.id)), v.created_at.strftime("%Y-%m-%d %H:%M"), v.author)
        )  # fmt: skip
    columns = ("version", "bump", "aliases", "verdict", "items × dim", "evaluation",
               "created", "author")  # fmt: skip
    return [Table(columns, rows, title="version tree")]


def version_parts(version: Version) -> list[Part]:
    """Counts, the recipe in words, model, verdict, context and recorded evaluations."""
    recipe = version.recipe.to_dict()
    parent = version.parent
    rows: list[tuple[str, object]] = [
        ("parent", str(parent.number) if parent else None),
        ("aliases", version.aliases or None),
        ("items", version.count),
        ("dim", version.dim),
        ("dtype", version.dtype),
        ("metric", version.metric),
    ]
    rows += [(name, spec_text(recipe[name], recipe["specs"].get(name)))
             for name in ("architecture", "extraction", "weights")]  # fmt: skip
    rows += [
        ("model", model_text(version.model)),
        ("verdict", verdict_line(version.verdict) if version.verdict else None),
        ("content hash", version.content_hash),
        ("created", version.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("author", version.author),
    ]
    rows += context_items(recipe["context"])
    rows += [("why", reason) for reason in version.reasons]
    parts: list[Part] = [Table(("field", "value"), rows)]
    evaluations = [
        (r.task, f["name"], f["value"], f"[{f['low']:.3f}, {f['high']:.3f}]", f["chance"],
         f"{f['units']} {f.get('unit_kind', 'items')}")
        for r in of_versions(version.store, [version])
        for f in r.figures
    ]  # fmt: skip
    if evaluations:
        columns = ("task", "figure", "value", "95% interval", "chance", "over")
        parts.append(Table(columns, evaluations, title="evaluations"))
    return parts
