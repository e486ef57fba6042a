"""``embver demo``: the embver story in a fresh folder, optionally then the web UI."""

from __future__ import annotations

import click

from embver.cli._common import step_announcer


@click.command()
@click.argument("path", default="embver-demo", required=False)
@click.option("--synthetic", is_flag=True, help="Use generated vectors instead of real models.")
@click.option(
    "--ui", "serve", is_flag=True, help="Then serve the web UI on the demo store and open it."
)
@click.pass_context
def demo(ctx: click.Context, path: str, synthetic: bool, serve: bool) -> None:
    """Run the embver story in a fresh folder PATH and print the version tree."""
    from embver.demo import refuse_existing, run_demo

    refuse_existing(path)  # with CLI next steps, not the Python API's `embver.open(...)`
    store = run_demo(path, echo=click.echo, synthetic=synthetic, announce=step_announcer("demo"))
    if serve:
        from embver.cli.server import ui

        root = str(store.location.root)
        store.close()
        ctx.invoke(ui, store_path=root, open_browser=True)


COMMANDS: list[click.Command] = [demo]
