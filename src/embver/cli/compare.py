"""CLI: ``embver compare A B`` and ``embver adapter fit|apply|show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from embver.cli._common import (
    _Context,
    emit,
    json_option,
    pass_ctx,
    progress_option,
    step_announcer,
)
from embver.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np


def parse_ks(text: str) -> tuple[int, ...]:
    """``"10,50"`` → (10, 50); refuses anything but positive integers."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidInputError(
            f"--k {text!r} must be comma-separated positive integers, e.g. 10,50"
        ) from None
    if not values or min(values) < 1:
        raise InvalidInputError(f"--k {text!r} must be comma-separated positive integers")
    return values


@click.command(name="compare")
@click.argument("old")
@click.argument("new")
@click.option("--k", "ks", default="10,50", show_default=True, help="Neighbour counts, comma list.")
@click.option(
    "--sample",
    type=int,
    default=None,
    help="Query items for neighbourhood figures (default: all up to 10k items, else 10k).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every sample.")
@click.option("--no-clusters", is_flag=True, help="Skip clustering both versions.")
@click.option("--no-maps", is_flag=True, help="Skip fitting migration maps.")
@progress_option
@json_option
@pass_ctx
def compare(
    ctx: _Context,
    old: str,
    new: str,
    ks: str,
    sample: int | None,
    seed: int,
    no_clusters: bool,
    no_maps: bool,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Compare version OLD with NEW (e.g. stop-signs@1.0.0 stop-signs@best) over shared items."""
    report = ctx.store.compare(
        old, new, k=parse_ks(ks), sample=sample, seed=seed, clusters=not no_clusters,
        migration=not no_maps, progress=step_announcer("comparing", progress),
    )  # fmt: skip
    emit(report.to_dict(), as_json, report.to_text())


@click.group(name="adapter")
def adapter() -> None:
    """Fit, show and apply migration maps between two versions."""


@adapter.command(name="fit")
@click.argument("source")
@click.argument("target")
@click.option(
    "--kind",
    type=click.Choice(["procrustes", "ridge", "mlp"]),
    default=None,
    help="Map kind (default: the best held-out retention of all three).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
@pass_ctx
def adapter_fit(
    ctx: _Context, source: str, target: str, kind: str | None, seed: int, as_json: bool
) -> None:
    """Fit a map from SOURCE's vectors to TARGET's on shared items and store it."""
    from embver.compare.api import fit_adapter

    fitted = fit_adapter(ctx.store, source, target, kind=kind, seed=seed)
    data = fitted.to_dict()
    emit(
        data,
        as_json,
        f"stored {data['kind']} adapter {data['source']} → {data['target']} "
        f"({data['dim_in']}→{data['dim_out']} dims), retention {data['retention']:.4f} on "
        f"{data['pool']} test items (chance {data['chance']:.4f}), "
        f"{data['retention_full']:.4f} against all {data['n_items']} items "
        f"(chance {data['chance_full']:.4f})",
    )


@adapter.command(name="show")
@click.argument("source")
@click.argument("target")
@json_option
@pass_ctx
def adapter_show(ctx: _Context, source: str, target: str, as_json: bool) -> None:
    """Show the stored adapter from SOURCE to TARGET."""
    data = ctx.store.adapter(source, target).to_dict()
    emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))


@adapter.command(name="apply")
@click.argument("source")
@click.argument("target")
@click.option(
    "-i",
    "--input",
    "input_path",
    type=click.Path(),
    default=None,
    help="A .npy of SOURCE-space vectors (default: all of SOURCE's stored vectors).",
)
@click.option("-o", "--output", required=True, type=click.Path(), help="Output .npy file.")
@pass_ctx
def adapter_apply(
    ctx: _Context, source: str, target: str, input_path: str | None, output: str
) -> None:
    """Map vectors into TARGET's space through the stored SOURCE → TARGET adapter."""
    import numpy as np

    from embver.store.files import output_path, writing

    if Path(output).suffix.lower() != ".npy":
        raise InvalidInputError(f"output {output!r} must end in .npy")
    out = output_path(output)
    fitted = ctx.store.adapter(source, target)
    written = [str(out)]
    if input_path is None:
        version = ctx.store.get(source)
        vectors = version.vectors()
        ids_path = out.with_suffix(".ids.txt")
        with writing(ids_path):
            ids_path.write_text("\n".join(version.ids) + "\n")
        written.append(str(ids_path))
    else:
        vectors = _read_npy(input_path)
    with writing(out):
        np.save(out, fitted.transform(vectors))
    click.echo("wrote " + ", ".join(written))


def _read_npy(path: str) -> np.ndarray:
    import numpy as np

    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidInputError(f"{path!r} is not a readable .npy array: {exc}") from None


COMMANDS: list[click.Command] = [compare, adapter]
