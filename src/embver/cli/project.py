"""CLI: ``embver project REF`` (cached projection, clusters) and ``embver drift REF``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from embver.cli._common import _Context, emit, json_option, pass_ctx, step_announcer
from embver.errors import InvalidInputError


@click.command(name="project")
@click.argument("ref")
@click.option(
    "--method", type=click.Choice(["umap", "pca", "tsne"]), default="umap", show_default=True
)
@click.option("--dims", type=click.IntRange(2, 3), default=2, show_default=True, help="2 or 3.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds layout and clusters.")
@click.option("--align-to", default=None, help="Align the layout to this version on shared items.")
@click.option(
    "--output", "-o", default=None, help="Write id, x, y[, z], cluster to .csv or .parquet."
)
@json_option
@pass_ctx
def project_command(
    ctx: _Context,
    ref: str,
    method: str,
    dims: int,
    seed: int,
    align_to: str | None,
    output: str | None,
    as_json: bool,
) -> None:
    """Project version REF to 2-D/3-D (cached in the store) and summarise its clusters."""
    from embver.project.api import cluster_summaries, project

    if output:
        _table_output(output)  # before the work: a wrong name or folder is found at once
    projection = project(
        ctx.store,
        ref,
        method=method,
        dims=dims,
        seed=seed,
        align_to=align_to,
        progress=step_announcer("projecting"),
    )
    summaries = cluster_summaries(ctx.store, projection)
    if output:
        _write_table(projection.to_pandas(), output)
    data = {**projection.to_dict(), "cluster_summaries": [s.to_dict() for s in summaries]}
    if output:
        data["output"] = output
    emit(data, as_json, _projection_text(data))


def _table_output(output: str) -> Path:
    from embver.store.files import output_path

    if not output.endswith((".parquet", ".csv")):
        raise InvalidInputError(f"--output {output!r}: use a .csv or .parquet file name")
    return output_path(output)


def _write_table(frame: Any, output: str) -> None:
    from embver.store.files import writing

    with writing(_table_output(output)) as target:
        if output.endswith(".parquet"):
            frame.to_parquet(target, index=False)
        else:
            frame.to_csv(target, index=False)


def _projection_text(data: dict[str, Any]) -> str:
    source = "from cache" if data["cached"] else f"computed in {data['seconds']:.1f}s"
    lines = [
        f"{data['ref']}: {data['method']} {data['dims']}-D of {data['items']} items, "
        f"seed {data['seed']} ({source})",
        f"  {data['clusters']} clusters, {data['noise']} noise items"
        + (f"; aligned to {data['aligned_to']}" if data["aligned_to"] else ""),
    ]
    for s in data["cluster_summaries"][:20]:
        purity = (
            f" purity {s['purity']:.2f} ({s['majority_label']})" if s["purity"] is not None else ""
        )
        terms = ", ".join(s["top_terms"][:6])
        lines.append(f"  #{s['cluster']:<3} {s['size']:>6} items{purity}  {terms}")
    if data.get("output"):
        lines.append(f"  wrote {data['output']}")
    return "\n".join(lines)


@click.command(name="drift")
@click.argument("ref")
@click.option(
    "--reference", "reference", required=True, help="FIELD=VALUE (label or metadata) or @ids.txt."
)
@click.option(
    "--current", "current", required=True, help="FIELD=VALUE (label or metadata) or @ids.txt."
)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
@pass_ctx
def drift_command(
    ctx: _Context, ref: str, reference: str, current: str, seed: int, as_json: bool
) -> None:
    """Drift within version REF: the CURRENT items against the REFERENCE items."""
    from embver.project.api import drift

    report = drift(
        ctx.store, ref, reference=_selection(reference), current=_selection(current), seed=seed
    )
    data = report.to_dict()
    text = (
        f"{ref}: {data['n_current']} current vs {data['n_reference']} reference items\n"
        f"  centroid shift {data['centroid_shift']:.3f} × reference radius "
        f"(cosine distance of means {data['centroid_cosine_distance']:.4f})\n"
        f"  MMD² {data['mmd2']:.4f}, permutation p = {data['mmd_p_value']:.3f} "
        f"(samples of {data['mmd_sample']})\n"
        + (
            f"  PSI over clusters {data['psi']:.3f} ({data['psi_level']})"
            if data["psi"] is not None
            else ""
        )
    )
    emit(data, as_json, text)


def _selection(text: str) -> Any:
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]
    if "=" not in text:
        raise InvalidInputError(f"{text!r}: give FIELD=VALUE (e.g. batch=2024-06) or @ids.txt")
    field_name, value = text.split("=", 1)
    return {field_name.strip(): value}


@click.command(name="dimension")
@click.argument("ref")
@click.option("--dim", "raw", type=int, default=None, help="A raw dimension (0-based).")
@click.option("--pc", type=int, default=None, help="A principal component (1-based).")
@click.option("--extremes", type=int, default=5, show_default=True, help="Items at each end.")
@json_option
@pass_ctx
def dimension_command(
    ctx: _Context, ref: str, raw: int | None, pc: int | None, extremes: int, as_json: bool
) -> None:
    """What a dimension of REF means: extreme items, variance share, label/metadata relation."""
    from embver.project.api import dimension

    component = pc - 1 if pc is not None else None
    report = dimension(ctx.store, ref, dimension=raw, component=component, n_extremes=extremes)
    data = report.to_dict()
    lines = [f"{ref} {data['axis']}: {100 * data['variance_share']:.2f}% of the variance"]
    if data["label_eta"] is not None:
        means = ", ".join(f"{k} {v:+.3f}" for k, v in sorted(data["label_means"].items()))
        lines.append(f"  label correlation ratio {data['label_eta']:.3f}  (means: {means})")
    for name, corr in data["metadata_correlations"].items():
        lines.append(f"  {name}: pearson {corr['pearson']:+.3f}, spearman {corr['spearman']:+.3f}")
    lines.append("  high end: " + ", ".join(f"{i} ({v:+.3f})" for i, v in data["top"]))
    lines.append("  low end:  " + ", ".join(f"{i} ({v:+.3f})" for i, v in data["bottom"]))
    emit(data, as_json, "\n".join(lines))


COMMANDS: list[click.Command] = [project_command, drift_command, dimension_command]
