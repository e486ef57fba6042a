"""CLI: ``embver eval REF`` (task figures, recorded per version) and ``eval --compare A B``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from embver.cli._common import _Context, emit, json_option, pass_ctx
from embver.errors import InvalidInputError

if TYPE_CHECKING:
    from embver.evaluate.results import Evaluation, PairedDifference


@click.command(name="eval")
@click.argument("refs", nargs=-1, required=True)
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help="Task to run (repeatable): knn-accuracy (default), label-purity, cluster-agreement, "
    "linear-probe, retrieval (needs --qrels and --queries), sts (needs --pairs), or a "
    "registered one.",
)
@click.option("--qrels", type=click.Path(dir_okay=False), help="Relevance judgements file.")
@click.option(
    "--queries",
    help="The query vectors: a version (queries@1.0.0), or a file of query texts (id, text) "
    "encoded with REF's kept model.",
)
@click.option("--pairs", type=click.Path(dir_okay=False), help="Scored pairs file (sts).")
@click.option("--k", type=int, default=None, help="Neighbours (k-NN tasks) or cut-off.")
@click.option("--folds", type=int, default=None, help="Cross-validation folds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of folds and resamples.")
@click.option("--refresh", is_flag=True, help="Measure again even when already recorded.")
@click.option("--compare", "paired", is_flag=True, help="Paired difference of two versions.")
@json_option
@pass_ctx
def eval_command(
    ctx: _Context,
    refs: tuple[str, ...],
    tasks: tuple[str, ...],
    qrels: str | None,
    queries: str | None,
    pairs: str | None,
    k: int | None,
    folds: int | None,
    seed: int,
    refresh: bool,
    paired: bool,
    as_json: bool,
) -> None:
    """Measure how good version REF is at a task, with intervals and chance levels.

    Figures are recorded against the version and read back when asked again. With
    --compare A B: the paired difference of B over A and whether it is significant.
    """
    options: dict[str, Any] = {
        "qrels": qrels, "queries": queries, "pairs": pairs, "seed": seed, "k": k, "folds": folds,
    }  # fmt: skip
    names = tasks or ("knn-accuracy",)
    if paired:
        if len(refs) != 2:
            raise InvalidInputError(f"--compare takes two versions, A and B; got {len(refs)}")
        a, b = (ctx.store.get(r) for r in refs)
        rows = {t: ctx.store.compare_tasks(a, b, t, **options) for t in names}
        data = {t: [d.to_dict() for d in diffs] for t, diffs in rows.items()}
        emit({"a": a.ref, "b": b.ref, "tasks": data}, as_json, _paired_text(a.ref, b.ref, rows))
        return
    results = []
    for ref in refs:
        version = ctx.store.get(ref)
        for task in names:
            results.append(
                (version.ref, ctx.store.evaluate(version, task, refresh=refresh, **options))
            )
    data_out = [{"version": ref, **e.to_dict()} for ref, e in results]
    emit(data_out if len(data_out) > 1 else data_out[0], as_json, _results_text(results))


def _results_text(results: list[tuple[str, Evaluation]]) -> str:
    lines = []
    for ref, evaluation in results:
        lines.append(f"{ref}  {evaluation.task}")
        lines += [f"  {figure.sentence()}" for figure in evaluation.figures]
    return "\n".join(lines)


def _paired_text(a: str, b: str, rows: dict[str, list[PairedDifference]]) -> str:
    lines = [f"{b} against {a} (paired over the items or queries both hold)"]
    for task, diffs in rows.items():
        lines.append(f"  {task}")
        lines += [f"    {d.sentence(a, b)}" for d in diffs]
    return "\n".join(lines)


COMMANDS: list[click.Command] = [eval_command]
