"""CLI: ``embver report A B -o report.html``."""

from __future__ import annotations

import click

from embver.cli._common import _Context, emit, json_option, pass_ctx


@click.command(name="report")
@click.argument("old")
@click.argument("new")
@click.option(
    "--output", "-o", default="report.html", show_default=True, help="HTML file to write."
)
@click.option(
    "--method", type=click.Choice(["umap", "pca", "tsne"]), default="umap", show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
@pass_ctx
def report_command(
    ctx: _Context, old: str, new: str, output: str, method: str, seed: int, as_json: bool
) -> None:
    """Write one self-contained offline HTML report comparing OLD with NEW."""
    from embver.report import write_report

    written = write_report(ctx.store, old, new, output, method=method, seed=seed)
    data = written.to_dict()
    text = (
        f"wrote {data['path']}: {data['bytes'] / 1e6:.2f} MB for {data['points']} points "
        f"({data['bytes_per_point']:.0f} bytes/point) in {data['seconds']:.1f}s"
    )
    emit(data, as_json, text)


COMMANDS: list[click.Command] = [report_command]
