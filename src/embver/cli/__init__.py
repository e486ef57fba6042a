"""The ``embver`` command line: parses, calls the API, prints (text or ``--json``).

One module per command group, each listing its click commands in ``COMMANDS``::

    _common    the store context, --json, printing, step announcements, error handling
    registry   init, spaces, import, log, show, diff, alias, export, verify, gc, config
    compare    compare, adapter           project   project, drift, dimension
    evaluate   eval
    composite  composite, impact, rebuild report    report
    extract    embed, encode              server    ui, serve
    index      publish, index status, migrate (import --from is registry's import)
    demo       demo

Command modules import only click and ``_common`` at the top; the domain packages
(numpy, the store, FastAPI, torch) load inside the command that runs, so
``embver --help`` stays fast.
"""

from __future__ import annotations

import inspect
import re

import click

from embver.cli import (
    compare,
    composite,
    demo,
    evaluate,
    extract,
    index,
    project,
    registry,
    report,
    server,
)
from embver.cli._common import _Context, run_reporting_errors

_GROUP_MODULES = (
    registry, compare, evaluate, composite, project, report, extract, server, index, demo,
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    "store_path",
    envvar="EMBVER_STORE",
    default=None,
    help="Store folder (default: $EMBVER_STORE, else the nearest .embver/ upward).",
)
@click.version_option(package_name="embver")
@click.pass_context
def cli(ctx: click.Context, store_path: str | None) -> None:
    """embver — version control and a microscope for embeddings."""
    ctx.obj = _Context(store_path)
    ctx.call_on_close(ctx.obj.close)


def first_sentence(text: str) -> str:
    """The first sentence of ``text``'s first paragraph, on one line ("e.g." does not end it)."""
    paragraph = " ".join(inspect.cleandoc(text).split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(?=\s+[A-Z]|$)", paragraph)
    return match.group(1) if match else paragraph


def _whole_sentence_help(group: click.Group) -> None:
    """Give every command without a short help its docstring's first sentence, whole.

    click would cut the listing of `embver --help` to the terminal width, mid-sentence;
    a short help it prints as given and wraps.
    """
    for command in group.commands.values():
        if command.short_help is None and command.help:
            command.short_help = first_sentence(command.help)
        if isinstance(command, click.Group):
            _whole_sentence_help(command)


for _module in _GROUP_MODULES:
    for _command in _module.COMMANDS:
        cli.add_command(_command)
_whole_sentence_help(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning embver errors into one-line messages (exit 2)."""
    run_reporting_errors(cli, argv)


__all__ = ["cli", "main"]
