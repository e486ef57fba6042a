"""What every command module shares: the store context, ``--json``, printing, step
announcements, the texts of a registered version, and turning errors into one line."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from embver.core.readable import verdict_line
from embver.errors import EmbverError

if TYPE_CHECKING:
    from embver.api import Store


class _Context:
    """The ``ctx.obj`` of every command: the ``--store`` folder, opened on first use."""

    def __init__(self, store_path: str | None) -> None:
        self.store_path = store_path
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The facade's store at ``--store`` (or found upward), opened once."""
        if self._store is None:
            from embver.api import open as open_store

            self._store = open_store(self.store_path)
        return self._store

    def close(self) -> None:
        # Releasing the catalog's connections lets SQLite checkpoint its write-ahead log.
        if self._store is not None:
            self._store.close()


pass_ctx = click.make_pass_decorator(_Context)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

progress_option = click.option(
    "--progress/--no-progress",
    "progress",
    default=None,
    help="Announce each step on stderr as it starts (default: only on a terminal).",
)


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON, or ``text`` (default: JSON anyway) for people."""
    if as_json or text is None:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(text)


def step_announcer(what: str, enabled: bool | None = None) -> Callable[[str], None] | None:
    """A callback printing each step as it starts (to stderr, with its elapsed time so far),
    or None. ``enabled`` None: only on a terminal (not into logs, pipes, tests); True/False:
    always / never (``--progress`` / ``--no-progress``). stdout stays clean for ``--json``."""
    if not (sys.stderr.isatty() if enabled is None else enabled):
        return None
    started = time.perf_counter()

    def announce(step: str) -> None:
        click.echo(f"{what}: {step}… ({time.perf_counter() - started:.0f} s)", err=True)

    return announce


def appended_text(version: Any) -> str:
    """What a register call that matched an existing version's recipe did: the count of
    newly appended items comes from the store, so an identical re-run says "nothing new"."""
    if version.appended_count == 0:
        return (
            f"nothing new: {version.ref} already holds every item given (same recipe); "
            f"{version.count} items"
        )
    return (
        f"appended to {version.ref} (same recipe): {version.appended_count} new items, "
        f"now {version.count} items"
    )


def registered_text(version: Any) -> str:
    """A newly registered version: ref, shape, bump and why, and its verdict if any."""
    if version.appended:
        return appended_text(version)
    lines = [f"registered {version.ref} ({version.count} × {version.dim}), {version.bump.name}"]
    lines += [f"  {reason}" for reason in version.reasons]
    if version.verdict:
        lines.append(f"  verdict: {verdict_line(version.verdict)}")
    return "\n".join(lines)


def run_reporting_errors(group: click.Group, argv: list[str] | None) -> None:
    """Run ``group``, turning embver errors into one-line messages (exit 2), click's
    usage errors into click's message, and Ctrl-C into "aborted" (exit 130)."""
    try:
        group.main(args=argv, prog_name="embver", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except EmbverError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
