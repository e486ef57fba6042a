"""``embver publish``, ``embver index status|prune``, ``embver migrate``: downstream indexes.

An index is reached by URL (``postgresql+psycopg://…?table=docs``, ``faiss:///dir/docs``,
``lancedb:///dir/db/docs``, ``qdrant://host:port/docs``, ``chroma:///dir/docs``,
``milvus:///dir/file.db/docs``); see docs/indexes.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from embver.cli._common import _Context, emit, json_option, pass_ctx

if TYPE_CHECKING:
    from embver.index import IndexStatus, MigrationPlan

_batch_option = click.option(
    "--batch", default=10_000, show_default=True, type=click.IntRange(min=1), help="Rows per write."
)


@contextmanager
def _progress(total: int, desc: str, show: bool) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr (hidden with --json or off a terminal); yields its update."""
    from tqdm.auto import tqdm

    with tqdm(
        total=total, desc=desc, unit="row", disable=not show or not sys.stderr.isatty(),
        file=sys.stderr, dynamic_ncols=True,
    ) as bar:  # fmt: skip
        yield bar.update


@click.command()
@click.argument("ref")
@click.option("--to", "url", required=True, help="Index URL (see docs/indexes.md).")
@_batch_option
@click.option("--with", "with_fields", default="", help="Item fields to copy, e.g. text,label.")
@click.option(
    "--replace", is_flag=True, help="Replace an index holding another version (shadow + switch)."
)
@json_option
@pass_ctx
def publish(
    ctx: _Context, ref: str, url: str, batch: int, with_fields: str, replace: bool, as_json: bool
) -> None:
    """Write version REF into the index at URL (idempotent, resumable, count-checked)."""
    from embver.index import publish_version

    version = ctx.store.get(ref)
    fields = [f.strip() for f in with_fields.split(",") if f.strip()]
    with _progress(version.count, "publishing", not as_json) as progress:
        result = publish_version(
            ctx.store, version, url, batch=batch, with_fields=fields, replace=replace,
            progress=progress,
        )  # fmt: skip
    text = (
        f"published {result.ref} to {result.url}: {result.count} rows in {result.table} "
        f"({result.written} written, {result.skipped} already there)"
    )
    if result.replaced:
        text += f"; readers moved from {result.replaced} (kept for --rollback)"
    emit(result.to_dict(), as_json, text)


@click.group()
def index() -> None:
    """Downstream indexes: status, prune (publish and migrate are top-level commands)."""


@index.command()
@click.argument("url")
@json_option
@pass_ctx
def status(ctx: _Context, url: str, as_json: bool) -> None:
    """Which versions the index at URL holds, and whether it matches the store."""
    from embver.index import index_status

    found = index_status(ctx.store, url)
    emit(found.to_dict(), as_json, _status_text(found))


@index.command()
@click.argument("url")
@click.option(
    "--keep", default=1, show_default=True, type=click.IntRange(min=0),
    help="Old physical tables to keep for --rollback (the latest rollback targets first).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print what would be dropped; drop nothing.")
@json_option
@pass_ctx
def prune(ctx: _Context, url: str, keep: int, dry_run: bool, as_json: bool) -> None:
    """Drop old physical tables behind URL, never the one readers see."""
    from embver.index import prune_index

    result = prune_index(ctx.store, url, keep=keep, dry_run=dry_run)
    verb = "would drop" if dry_run else "dropped"
    text = (
        f"{result.url}: readers see {result.reader_table}; {verb} "
        f"{', '.join(result.dropped) or 'nothing'}; kept {', '.join(result.kept) or 'none'}"
    )
    emit(result.to_dict(), as_json, text)


def _status_text(found: IndexStatus) -> str:
    if found.reader_table is None:
        return f"{found.url}: nothing published (tables: {', '.join(found.tables) or 'none'})"
    held = ", ".join(f"{ref} ({n} rows)" for ref, n in sorted(found.versions.items()))
    lines = [f"{found.url}: readers see {found.reader_table}: {held}"]
    verdict = "matches the store" if found.matches else "does NOT match the store"
    lines.append(f"  {verdict}{' — mixed versions' if found.mixed else ''}")
    for name in ("missing", "extra", "changed"):
        count = getattr(found, name)
        if count:
            lines.append(f"  {name}: {count} (e.g. {', '.join(found.examples[name])})")
    if found.job:
        lines.append(
            f"  unfinished {found.job['kind']} to {found.job['to']} at step {found.job['step']}: "
            "rerun it to continue"
        )
    if found.query_map:
        lines.append(f"  query map: {found.query_map['apply']}")
    lines.append(f"  physical tables: {', '.join(found.tables)}")
    return "\n".join(lines)


@click.command()
@click.argument("url")
@click.option("--to", "to_ref", help="The version to move the index to.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--allow-downtime",
    is_flag=True,
    help="Accept a non-atomic switch where the backend has no other.",
)
@click.option(
    "--rollback", is_flag=True, help="Switch readers back to the table before the last switch."
)
@click.option(
    "--background-reindex", is_flag=True, help="For an adapter PATCH: also rebuild the index."
)
@_batch_option
@json_option
@pass_ctx
def migrate(ctx: _Context, url: str, to_ref: str | None, as_json: bool, **flags: Any) -> None:
    """Move the index at URL to version --to by its recorded verdict: drop-in, adapter, breaking."""
    from embver.index import migrate_index

    to = ctx.store.get(to_ref) if to_ref else None
    with _progress(to.count if to else 0, "migrating", not as_json and not flags["dry_run"]) as bar:
        plan = migrate_index(ctx.store, url, to, progress=bar, **flags)
    emit(plan.to_dict(), as_json, _plan_text(plan))


def _plan_text(plan: MigrationPlan) -> str:
    lines = [f"{plan.url}: {plan.source} -> {plan.target}: {plan.path} ({plan.reason})"]
    lines += [f"  {i}. {step}" for i, step in enumerate(plan.steps, start=1)]
    lines += [f"  note: {note}" for note in plan.notes]
    if plan.executed:
        lines.append(
            f"done: readers see {plan.table}"
            + (f" (old: {plan.old_table})" if plan.old_table else "")
        )
    elif plan.path != "none":
        lines.append("dry run: nothing changed")
    if plan.query_map:
        lines.append(f"clients: {plan.query_map['apply']}")
    return "\n".join(lines)


COMMANDS = [publish, index, migrate]
