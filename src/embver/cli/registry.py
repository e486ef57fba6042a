"""The registry's commands: versions, aliases, settings and integrity (``init``,
``spaces``, ``import``, ``log``, ``show``, ``diff``, ``alias``, ``export``, ``verify``,
``gc``, ``config``)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from embver.cli._common import (
    _Context,
    emit,
    json_option,
    pass_ctx,
    registered_text,
    verdict_line,
)
from embver.core.readable import context_items, model_text, spec_text

if TYPE_CHECKING:
    from embver.api import Store, Version


@click.command()
@click.argument("path", default=".", required=False)
@click.option(
    "--catalog", default=None, help="SQLAlchemy URL of the catalog (default: SQLite in the store)."
)
@click.option(
    "--data", default=None, help="Data root URI for vectors (default: data/ in the store)."
)
def init(path: str, catalog: str | None, data: str | None) -> None:
    """Create a store in PATH/.embver/ (default: the working directory)."""
    import embver

    store = embver.init(path, catalog=catalog, data=data)
    click.echo(f"created store {store.location.root}")


@click.command()
@json_option
@pass_ctx
def spaces(ctx: _Context, as_json: bool) -> None:
    """List spaces with their version counts and aliases."""
    rows: list[dict[str, Any]] = []
    for space in ctx.store.spaces():
        versions = ctx.store.versions(space.name)
        rows.append(
            {
                "space": space.name,
                "kind": space.kind,
                "versions": len(versions),
                "latest": str(versions[-1].number) if versions else None,
                "aliases": ctx.store.aliases(space.name),
            }
        )
    text = (
        "\n".join(
            f"{r['space']:<24} {r['versions']:>3} versions  latest {r['latest']}  "
            + " ".join(f"{k}→{v}" for k, v in r["aliases"].items())
            for r in rows
        )
        or "no spaces yet"
    )
    emit(rows, as_json, text)


@click.command(name="import")
@click.argument("space")
@click.argument("file", type=click.Path(), required=False)
@click.option(
    "--from",
    "from_url",
    help="Read ids and vectors (and text/label/uri) back from this index URL instead of FILE.",
)
@click.option(
    "--ids", "ids_path", type=click.Path(), help="Ids file for .npy input (one per line)."
)
@click.option("--id-col", default="id", show_default=True, help="Id column of .parquet/.csv input.")
@click.option(
    "--vector-col",
    help="List column of .parquet input holding the vectors "
    "(default: 'vector', else the only list column, else the numeric columns).",
)
@click.option("--recipe", "recipe_path", type=click.Path(), help="Recipe as a YAML or JSON file.")
@click.option("--architecture", help="Architecture fingerprint or identifier.")
@click.option("--extraction", help="Extraction fingerprint or identifier.")
@click.option("--weights", help="Weights fingerprint or identifier.")
@click.option("--metric", type=click.Choice(["cosine", "l2", "dot"]), help="Distance metric.")
@click.option("--dtype", type=click.Choice(["float32", "float16"]), help="Stored dtype.")
@click.option(
    "--parent",
    help="Parent version; recipe fields not given are taken from it (default: the latest).",
)
@click.option(
    "--bump", type=click.Choice(["major", "minor", "patch"]), help="Declared bump (checked)."
)
@click.option("--author", help="Author recorded in the recipe context.")
@click.option(
    "--model-ref",
    help="Keep a pointer to the model that made the vectors (a folder, s3://..., or "
    "org/name@revision) and its digest, after checking it against the recipe.",
)
@json_option
@pass_ctx
def import_(
    ctx: _Context,
    space: str,
    file: str | None,
    from_url: str | None,
    ids_path: str | None,
    id_col: str,
    vector_col: str | None,
    recipe_path: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Register vectors from FILE (.npy + --ids, .parquet, .csv) as a version of SPACE.

    Recipe fields neither in --recipe nor given as options are inherited from the
    parent, so `embver import SPACE new.npy --ids ids.txt --weights run-7` registers
    a PATCH of the latest version. `embver import SPACE --from URL --recipe r.yaml`
    registers what a downstream index already holds (docs/indexes.md).
    """
    from embver.core.recipe import inherit_recipe
    from embver.store.files import read_recipe_file

    vectors, ids, items = _import_source(file, from_url, ids_path, id_col, vector_col)
    given = read_recipe_file(recipe_path) if recipe_path else {}
    for key in ("architecture", "extraction", "weights", "metric", "dtype"):
        if flags.get(key):
            given[key] = flags[key]
    given.setdefault("dim", _width(vectors))
    parent = _import_parent(ctx.store, space, flags.get("parent"))
    recipe, inherited = inherit_recipe(parent.recipe, given) if parent else (given, [])
    version = ctx.store.space(space).register(
        vectors,
        ids=ids,
        recipe=recipe,
        parent=parent,
        bump=flags.get("bump"),
        texts=items.get("text"),
        labels=items.get("label"),
        uris=items.get("uri"),
        author=flags.get("author"),
        model_ref=flags.get("model_ref"),
    )
    data = version.to_dict()
    data["appended"] = version.appended
    data["appended_count"] = version.appended_count
    data["inherited"] = inherited
    text = registered_text(version)
    if parent is not None and inherited and not version.appended:
        text += f"\n  inherited from {parent.ref}: {', '.join(inherited)}"
    emit(data, as_json, text)


def _import_source(
    file: str | None,
    from_url: str | None,
    ids_path: str | None,
    id_col: str,
    vector_col: str | None,
) -> tuple[Any, list[str], dict[str, Any]]:
    """(vectors, ids, item fields) from FILE or, with --from, from an index."""
    if (file is None) == (from_url is None):
        raise click.UsageError("give FILE or --from URL (one of them)")
    if from_url is not None:
        from embver.index import read_index

        rows = read_index(from_url)
        return rows.vectors, rows.ids, rows.items
    from embver.store.files import read_vectors_file

    assert file is not None
    return read_vectors_file(file, ids_path, id_col, vector_col)


def _import_parent(store: Store, space: str, parent: str | None) -> Version | None:
    """The version a new import descends from: ``parent`` (a number or a reference),
    else the space's latest; None for a space without versions."""
    if parent is not None:
        return store.get(parent if "@" in parent else f"{space}@{parent}")
    if space not in store.space_names():
        return None
    versions = store.versions(space)
    return versions[-1] if versions else None


def _width(vectors: Any) -> int:
    from embver.store.inputs import as_matrix

    return int(as_matrix(vectors).shape[1])


@click.command()
@click.argument("space")
@json_option
@pass_ctx
def log(ctx: _Context, space: str, as_json: bool) -> None:
    """Show SPACE's version tree: number, bump, parent, aliases, date, author, verdict."""
    from embver.core.lineage import Node, render_tree
    from embver.store.evaluations import headlines

    versions = ctx.store.versions(space)
    figures = headlines(ctx.store, versions)
    rows = [{**_log_row(ctx.store, v), "evaluation": figures.get(v.id)} for v in versions]
    nodes = [
        Node(v.id, v.parent_id, _log_label(row)) for v, row in zip(versions, rows, strict=True)
    ]
    emit(rows, as_json, "\n".join(render_tree(nodes)) or f"{space} has no versions yet")


def _log_row(store: Store, version: Version) -> dict[str, Any]:
    parent = version.parent
    return {
        "version": str(version.number),
        "bump": str(version.bump),
        "parent": str(parent.number) if parent else None,
        "aliases": version.aliases,
        "created_at": version.created_at.isoformat(),
        "author": version.author,
        "count": version.count,
        "dim": version.dim,
        "verdict": (version.verdict or {}).get("label"),
        "components": [e["ref"] for e in store.edges(version) if e["kind"] == "component"],
    }


def _log_label(row: dict[str, Any]) -> str:
    parts = [row["version"], f"[{row['bump']}]"]
    if row["aliases"]:
        parts.append("(" + ", ".join(row["aliases"]) + ")")
    if row["verdict"]:
        parts.append(f"verdict={row['verdict']}")
    parts.append(f"{row['count']}×{row['dim']}")
    if row.get("evaluation"):
        figure = row["evaluation"]
        parts.append(
            f"{figure['name']} {figure['value']:.3f} [{figure['low']:.3f}, {figure['high']:.3f}] "
            f"(chance {figure['chance']:.3f})"
        )
    parts.append(row["created_at"][:19].replace("T", " "))
    if row["author"]:
        parts.append(row["author"])
    if row["components"]:
        parts.append("← " + ", ".join(row["components"]))
    return "  ".join(parts)


@click.command()
@click.argument("ref")
@json_option
@pass_ctx
def show(ctx: _Context, ref: str, as_json: bool) -> None:
    """Show one version: recipe, counts, hash, lineage, verdict."""
    from embver.store.evaluations import of_versions

    version = ctx.store.get(ref)
    data = version.to_dict()
    data["lineage"] = ctx.store.edges(version)
    data["evaluations"] = [
        {"task": r.task, "params": r.params, "figures": r.figures, "at": r.created_at.isoformat()}
        for r in of_versions(ctx.store, [version])
    ]
    emit(data, as_json, _show_text(data))


def _show_text(data: dict[str, Any]) -> str:
    """``embver show`` for people: readable specs where the recipe keeps them, the
    verdict's checks one a line; ``--json`` has every figure and fingerprint."""
    recipe = data["recipe"]
    lines = [
        f"{data['ref']}  [{data['bump']}]  parent {data['parent'] or '—'}  "
        f"aliases {', '.join(data['aliases']) or '—'}",
        f"  items {data['count']}  dim {data['dim']}  dtype {data['dtype']}  "
        f"metric {data['metric']}",
    ]
    lines += [
        f"  {name:<12} {spec_text(recipe[name], recipe['specs'].get(name))}"
        for name in ("architecture", "extraction", "weights")
    ]
    lines += [
        f"  content hash {data['content_hash']}",
        f"  created {(data['created_at'] or '')[:19].replace('T', ' ')} by {data['author'] or '—'}",
    ]
    lines.append(f"  model: {model_text(data['model'])}")
    lines += [f"  {key}: {value}" for key, value in context_items(recipe["context"])]
    lines += [f"  why: {reason}" for reason in data["reasons"]]
    lines += _verdict_lines(data["verdict"])
    lines += [f"  {e['kind']}: {e['ref']}" for e in data["lineage"] if e["kind"] != "parent"]
    for evaluation in data.get("evaluations", []):
        lines += [
            f"  eval {f['name']} {f['value']:.3f} [{f['low']:.3f}, {f['high']:.3f}] over "
            f"{f['units']} {f.get('unit_kind', 'items')} (chance {f['chance']:.3f})"
            for f in evaluation["figures"]
        ]
    return "\n".join(lines)


def _verdict_lines(verdict: dict[str, Any] | None) -> list[str]:
    """The PATCH verdict's word, then each measured check (value against threshold)."""
    if not verdict:
        return []
    shared = (verdict.get("figures") or {}).get("n_shared")
    head = f"  verdict: {verdict_line(verdict)}"
    if shared is not None:
        head += f" (measured on {shared} shared items)"
    return [head] + [f"    {reason}" for reason in verdict.get("reasons") or []]


@click.command()
@click.argument("a")
@click.argument("b")
@json_option
@pass_ctx
def diff(ctx: _Context, a: str, b: str, as_json: bool) -> None:
    """Diff the recipes of A and B and say which bump B implies against A."""
    from embver.core import bump_reasons, canonical_json, derive_bump
    from embver.core.recipe import recipe_changes

    va, vb = ctx.store.get(a), ctx.store.get(b)
    changes = recipe_changes(va.recipe.to_dict(), vb.recipe.to_dict())
    bump = derive_bump(va.recipe, vb.recipe)
    data = {
        "a": va.ref,
        "b": vb.ref,
        "bump": str(bump),
        "reasons": bump_reasons(va.recipe, vb.recipe),
        "changes": changes,
    }
    text = [f"{va.ref} → {vb.ref}: {bump.name}"] + [f"  {r}" for r in data["reasons"]]
    text += [
        f"  {c['field']}: {canonical_json(c['a'])} → {canonical_json(c['b'])}" for c in changes
    ]
    emit(data, as_json, "\n".join(text))


@click.group()
def alias() -> None:
    """Move, remove and list aliases (movable names on versions)."""


@alias.command(name="set")
@click.argument("space")
@click.argument("name")
@click.argument("version", required=False)
@click.option("--reason", help="Why the alias moves (kept in its history).")
@click.option(
    "--by",
    "task",
    help="Point it at the version with the highest figure on this task, among those "
    "evaluated alike (embver eval); the figures go into the reason.",
)
@pass_ctx
def alias_set(
    ctx: _Context, space: str, name: str, version: str | None, reason: str | None, task: str | None
) -> None:
    """Point alias NAME of SPACE at VERSION (or, with --by TASK, at the best evaluated one)."""
    if (version is None) == (task is None):
        raise click.UsageError("give either VERSION or --by TASK")
    if task is not None:
        from embver.evaluate.api import best_by

        best, figures = best_by(ctx.store, space, task)
        shown = ", ".join(f"{ref} {value:.3f}" for ref, value in figures["figures"].items())
        why = f"best by {task} among {figures['candidates']} evaluated: {shown}"
        reason = f"{reason}; {why}" if reason else why
        version = str(best.number)
    assert version is not None
    target = ctx.store.set_alias(space, name, version, reason=reason)
    click.echo(f"{space}@{name} → {target.number}" + (f"  ({reason})" if task else ""))


@alias.command(name="rm")
@click.argument("space")
@click.argument("name")
@click.option("--reason", help="Why the alias is removed.")
@pass_ctx
def alias_rm(ctx: _Context, space: str, name: str, reason: str | None) -> None:
    """Remove alias NAME of SPACE (its history stays)."""
    ctx.store.remove_alias(space, name, reason=reason)
    click.echo(f"removed {space}@{name}")


@alias.command(name="history")
@click.argument("space")
@click.argument("name", required=False)
@json_option
@pass_ctx
def alias_history(ctx: _Context, space: str, name: str | None, as_json: bool) -> None:
    """Every move of SPACE's aliases (or of alias NAME), oldest first."""
    events = ctx.store.alias_history(space, name)
    text = (
        "\n".join(
            f"{e['at'][:19]}  {e['alias']}: {e['from'] or '∅'} → {e['to'] or '∅'}  by {e['actor']}"
            + (f"  ({e['reason']})" if e["reason"] else "")
            for e in events
        )
        or "no alias moves yet"
    )
    emit(events, as_json, text)


@alias.command(name="list")
@click.argument("space")
@json_option
@pass_ctx
def alias_list(ctx: _Context, space: str, as_json: bool) -> None:
    """Current aliases of SPACE."""
    aliases = ctx.store.aliases(space)
    emit(
        aliases,
        as_json,
        "\n".join(f"{k} → {v}" for k, v in sorted(aliases.items())) or "no aliases",
    )


@click.command()
@click.argument("ref")
@click.option(
    "-o", "--output", default=None, type=click.Path(), help="Output .parquet or .npy file."
)
@click.option(
    "--to-dataset",
    default=None,
    type=click.Path(),
    help="Write a Hugging Face dataset folder instead (ids, vectors and the items' text, label, "
    "uri, metadata), which datasets.load_from_disk opens.",
)
@json_option
@pass_ctx
def export(
    ctx: _Context, ref: str, output: str | None, to_dataset: str | None, as_json: bool
) -> None:
    """Export REF's ids and vectors to Parquet, to .npy plus OUTPUT.ids.txt, or (--to-dataset)
    to a Hugging Face dataset with the item fields."""
    from embver.store.export import export_dataset, export_version

    if (output is None) == (to_dataset is None):
        raise click.UsageError("give -o FILE or --to-dataset FOLDER")
    version = ctx.store.get(ref)
    written = (
        export_version(version, output) if output else export_dataset(version, str(to_dataset))
    )
    emit({"version": version.ref, "written": written}, as_json, "wrote " + ", ".join(written))


@click.command()
@json_option
@pass_ctx
def verify(ctx: _Context, as_json: bool) -> None:
    """Re-hash every version's vectors and ids, every item table and artifact; exit 1 if anything
    is corrupt or missing."""
    from embver.store import verify as run_verify

    report = run_verify(ctx.store)
    text = (
        f"checked {report.checked} versions, {report.item_tables} item tables and "
        f"{report.artifacts} artifacts: {len(report.problems)} corrupt"
    )
    text += "".join(f"\n  {p['ref']}: {p['problem']}" for p in report.problems)
    emit(report.to_dict(), as_json, text)
    if not report.ok:
        sys.exit(1)


@click.command()
@click.option(
    "--grace", default=3600.0, show_default=True, help="Keep files younger than this many seconds."
)
@click.option(
    "--work-grace",
    default=7 * 24 * 3600.0,
    show_default=True,
    help="Keep checkpoints of interrupted `embver embed` runs touched within this many seconds.",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@json_option
@pass_ctx
def gc(ctx: _Context, grace: float, work_grace: float, dry_run: bool, as_json: bool) -> None:
    """Remove vector data and files left by interrupted writes, and old checkpoints."""
    from embver.store import gc as run_gc

    report = run_gc(ctx.store, grace_seconds=grace, dry_run=dry_run, work_grace_seconds=work_grace)
    verb = "would remove" if dry_run else "removed"
    emit(
        report.to_dict(),
        as_json,
        f"{verb} {len(report.removed)} orphan(s)" + "".join(f"\n  {r}" for r in report.removed),
    )


@click.command()
@click.argument("key", required=False)
@click.argument("value", required=False)
@json_option
@pass_ctx
def config(ctx: _Context, key: str | None, value: str | None, as_json: bool) -> None:
    """List, read or set the store's settings (e.g. `embver config strict true`).

    Without KEY, every setting with its value, default and meaning. Booleans take
    true/false, 1/0 or yes/no; unknown settings and bad values are refused.
    """
    from embver.store.settings import SETTINGS, setting

    if key is None:
        values = ctx.store.settings
        rows = [
            {"setting": s.name, "value": values[s.name], "default": s.default, "help": s.help}
            for s in SETTINGS
        ]
        text = "\n".join(
            f"{r['setting']} = {_setting_text(r['value'])}  (default "
            f"{_setting_text(r['default'])}) {r['help']}"
            for r in rows
        )
        emit(rows, as_json, text)
        return
    name = setting(key).name
    if value is not None:
        ctx.store.set_setting(name, value)
    current = ctx.store.setting(name)
    emit({name: current}, as_json, f"{name} = {_setting_text(current)}")


def _setting_text(value: Any) -> str:
    """A setting's value as a user types it (``true``, not Python's ``True``)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


COMMANDS: list[click.Command] = [
    init, spaces, import_, log, show, diff, alias, export, verify, gc, config,
]  # fmt: skip
