"""CLI: ``embver composite define|show|list``, ``embver impact``, ``embver rebuild``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from embver.cli._common import _Context, emit, json_option, pass_ctx, registered_text

if TYPE_CHECKING:
    from embver.api import Store, Version


@click.group()
def composite() -> None:
    """Define and inspect composite spaces (embeddings built from other spaces)."""


@composite.command(name="define")
@click.argument("name")
@click.option(
    "-c",
    "--component",
    "components",
    multiple=True,
    required=True,
    help="A component as SPACE@PIN or NAME=SPACE@PIN; an exact version stays, an alias or "
    "latest follows. Repeat, in order.",
)
@click.option(
    "--combiner",
    type=click.Choice(["concat", "mean", "projection"]),
    default="concat",
    show_default=True,
    help="concat (side by side), mean (equal widths) or projection (to --dim dimensions).",
)
@click.option(
    "--normalize",
    default="l2",
    show_default=True,
    help="Per-component normalisation: l2 or none (or a comma list).",
)
@click.option(
    "--weights", default=None, help="Per-component weights, comma-separated (default all 1)."
)
@click.option("--dim", type=int, default=None, help="Output dimension of --combiner projection.")
@click.option(
    "--matrix",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A .npy map of shape (input width, dim) for --combiner projection: used as given "
    "instead of fitting PCA.",
)
@click.option(
    "--missing",
    type=click.Choice(["drop", "zero", "error"]),
    default="drop",
    show_default=True,
    help="Items missing in a component: drop them, zero-fill (mask recorded) or refuse.",
)
@click.option(
    "--metric", type=click.Choice(["cosine", "l2", "dot"]), default="cosine", show_default=True
)
@json_option
@pass_ctx
def define_command(
    ctx: _Context,
    name: str,
    components: tuple[str, ...],
    combiner: str,
    normalize: str,
    weights: str | None,
    dim: int | None,
    matrix: str | None,
    missing: str,
    metric: str,
    as_json: bool,
) -> None:
    """Define composite NAME from components and build its first (or next) version."""
    from embver.composite import Concat, Mean

    norm: str | list[str] = normalize.split(",") if "," in normalize else normalize
    weight_values = _floats(weights) if weights else None
    chosen: Any
    if combiner == "projection":
        chosen = _projection(dim, matrix, norm, weight_values)
    else:
        chosen = (Concat if combiner == "concat" else Mean)(normalize=norm, weights=weight_values)
    version = ctx.store.composite(name, list(components), chosen, missing=missing, metric=metric)
    emit(_version_data(ctx.store, version), as_json, registered_text(version))


def _floats(text: str) -> list[float]:
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not comma-separated numbers", param_hint="--weights"
        ) from None


def _projection(dim: int | None, matrix: str | None, norm: Any, weights: Any) -> Any:
    import numpy as np

    from embver.composite import LearnedProjection

    if matrix is not None:
        given = np.load(matrix)
        width = dim if dim is not None else int(given.shape[-1])
        return LearnedProjection(width, "linear", normalize=norm, weights=weights, matrix=given)
    if dim is None:
        raise click.BadParameter(
            "--combiner projection needs --dim (or --matrix)", param_hint="--dim"
        )
    return LearnedProjection(dim, "pca", normalize=norm, weights=weights)


@composite.command(name="show")
@click.argument("name")
@json_option
@pass_ctx
def show_command(ctx: _Context, name: str, as_json: bool) -> None:
    """Show composite NAME's definition and what each pin resolves to now."""
    from embver.composite import load_definition

    definition = load_definition(ctx.store, name)
    data = definition.to_meta()
    data["name"] = name
    for component in data["components"]:
        component["resolves_to"] = _resolves_to(
            ctx.store, f"{component['space']}@{component['pin']}"
        )
    lines = [
        f"{name}: {definition.combiner!r}, missing={definition.missing}, metric={definition.metric}"
    ]
    lines += [
        f"  {c['name']}: {c['space']}@{c['pin']} → {c['resolves_to'] or 'gone'}"
        for c in data["components"]
    ]
    emit(data, as_json, "\n".join(lines))


@composite.command(name="list")
@json_option
@pass_ctx
def list_command(ctx: _Context, as_json: bool) -> None:
    """List composite spaces and their components' pins."""
    from embver.composite import all_definitions

    rows: list[dict[str, Any]] = [
        {
            "name": d.name,
            "components": [c.ref for c in d.components],
            "combiner": d.combiner.config(),
        }
        for d in all_definitions(ctx.store)
    ]
    text = "\n".join(
        f"{r['name']:<24} {r['combiner']['kind']:<10} " + ", ".join(r["components"]) for r in rows
    )
    emit(rows, as_json, text or "no composites yet")


@click.command()
@click.argument("ref")
@json_option
@pass_ctx
def impact(ctx: _Context, ref: str, as_json: bool) -> None:
    """List every composite REF (SPACE@VERSION) reaches, the bump a rebuild gives, its verdict."""
    result = ctx.store.impact(ref)
    emit(result.to_dict(), as_json, result.to_text())


@click.command()
@click.argument("name")
@click.option("--recursive", is_flag=True, help="Rebuild composite components first.")
@json_option
@pass_ctx
def rebuild(ctx: _Context, name: str, recursive: bool, as_json: bool) -> None:
    """Register composite NAME's next version: alias pins follow their alias, version pins stay."""
    version = ctx.store.rebuild(name, recursive=recursive)
    emit(_version_data(ctx.store, version), as_json, registered_text(version))


def _version_data(store: Store, version: Version) -> dict[str, Any]:
    data: dict[str, Any] = version.to_dict()
    data["appended"] = version.appended
    data["components"] = [e["ref"] for e in store.edges(version) if e["kind"] == "component"]
    return data


def _resolves_to(store: Store, ref: str) -> str | None:
    from embver.errors import NotFoundError

    try:
        return str(store.get(ref).ref)
    except NotFoundError:
        return None


COMMANDS: list[click.Command] = [composite, impact, rebuild]
