"""What a tracker records of a version or a comparison, tracker-neutral.

Parameters are the version's reference, bump and recipe flattened to dotted keys
(``embver.recipe.context.hyperparameters.lr``); metrics are the evaluation figures
(value, interval and chance of each) and the verdict's measured numbers; tags name the
version (``embver.ref``) so a run links back to the store.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embver.compare.figures import comparison_figures
from embver.errors import InvalidInputError
from embver.store.evaluations import of_versions

if TYPE_CHECKING:
    from embver.compare.comparison import Comparison
    from embver.store.store import Store
    from embver.store.version import Version

#: the longest parameter value logged (MLflow refuses longer ones; digests fit)
MAX_PARAM = 500
PREFIX = "embver"


def key(*parts: object) -> str:
    """A dotted key trackers accept: in each part, a run of characters other than letters,
    digits and ``_ - . /`` becomes one ``_`` ("k-NN overlap, k=10 (mean)" →
    "k-NN_overlap_k_10_mean")."""
    cleaned = (re.sub(r"[^A-Za-z0-9_\-./]+", "_", str(p)).strip("_") for p in parts)
    return ".".join(part for part in cleaned if part)


def flatten(data: Mapping[str, Any], *prefix: str) -> dict[str, str]:
    """``{"a": {"b": 1}}`` → ``{"a.b": "1"}``; empty values left out, long ones cut."""
    flat: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, *prefix, name))
        elif value not in (None, "", [], {}):
            text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
            flat[key(*prefix, name)] = text[:MAX_PARAM]
    return flat


def version_params(version: Version) -> dict[str, str]:
    """Reference, bump, parent, counts and the recipe (fingerprints, specs, context)."""
    parent = version.parent
    params = {
        key(PREFIX, "ref"): version.ref,
        key(PREFIX, "bump"): str(version.bump),
        key(PREFIX, "parent"): str(parent.number) if parent else "",
        key(PREFIX, "count"): str(version.count),
        key(PREFIX, "content_hash"): version.content_hash,
    }
    params.update(flatten(version.recipe.to_dict(), PREFIX, "recipe"))
    return {name: value for name, value in params.items() if value}


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def version_metrics(version: Version) -> dict[str, float]:
    """Each recorded evaluation figure (value, low, high, chance) and the verdict's figures."""
    metrics: dict[str, float] = {}
    for record in of_versions(version.store, [version]):
        for figure in record.figures:
            for part in ("value", "low", "high", "chance"):
                if _finite(figure.get(part)):
                    name = key(PREFIX, "eval", record.task, figure["name"])
                    metrics[name if part == "value" else f"{name}.{part}"] = float(figure[part])
    verdict_figures = (version.verdict or {}).get("figures") or {}
    for name, value in verdict_figures.items():
        if _finite(value):
            metrics[key(PREFIX, "verdict", name)] = float(value)
    return metrics


def version_tags(version: Version) -> dict[str, str]:
    """``embver.ref`` (the link back), the space, bump, aliases and verdict label."""
    tags = {
        key(PREFIX, "ref"): version.ref,
        key(PREFIX, "space"): version.space,
        key(PREFIX, "bump"): str(version.bump),
        key(PREFIX, "store"): str(version.store.location.root),
    }
    if version.aliases:
        tags[key(PREFIX, "aliases")] = ",".join(version.aliases)
    if version.verdict:
        tags[key(PREFIX, "verdict")] = str(version.verdict.get("label"))
    return tags


def comparison_metrics(comparison: Comparison) -> dict[str, float]:
    """Each numeric headline figure of a comparison and its chance level or null."""
    metrics: dict[str, float] = {}
    for figure in comparison_figures(comparison.to_dict()):
        name = key(PREFIX, "compare", figure["name"])
        if _finite(figure["value"]):
            metrics[name] = float(figure["value"])
            if _finite(figure["chance"]):
                metrics[f"{name}.chance"] = float(figure["chance"])
    return metrics


def comparison_tags(comparison: Comparison) -> dict[str, str]:
    tags = {
        key(PREFIX, "compare", "old"): comparison.old,
        key(PREFIX, "compare", "new"): comparison.new,
    }
    if comparison.verdict:
        tags[key(PREFIX, "compare", "verdict")] = str(comparison.verdict.get("label"))
    return tags


def report_name(comparison: Comparison) -> str:
    """``embver-report-pets@1.0.0-pets@1.0.1.html`` with characters paths dislike replaced."""
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", f"embver-report-{comparison.old}-{comparison.new}.html")


@contextmanager
def written_report(
    comparison: Comparison, store: Store | None, method: str = "pca"
) -> Iterator[Path]:
    """The static HTML report of ``comparison`` (built by :mod:`embver.report`) in a
    temporary file, removed afterwards."""
    from embver.report import build_report

    holder = store or comparison.store
    if holder is None:
        raise InvalidInputError(
            "this comparison holds no store to build its report from; pass store=…"
        )
    markup, _ = build_report(holder, comparison.old, comparison.new, method=method,
                             comparison=comparison.to_dict())  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="embver-report-") as folder:
        path = Path(folder) / report_name(comparison)
        path.write_text(markup, encoding="utf-8")
        yield path
