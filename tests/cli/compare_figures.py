"""Fixed data for the figures-unchanged test, and the writer of main's figures.

``compare_figures_main.json`` beside this file holds every figure of ``embver compare
--json`` on :func:`build_store`'s data, computed by the code of the main branch before
the latency work of issue 16 (main at commit a443918), with these exact commands from
this repository's root (this file is run, main's package is imported)::

    mkdir -p /tmp/main-a443918 && git archive a443918 src | tar -x -C /tmp/main-a443918
    PYTHONPATH=/tmp/main-a443918/src python tests/cli/compare_figures.py \
        tests/cli/compare_figures_main.json

``test_cli_latency.py`` runs the same compare with the current code and checks each
figure against it with :func:`figure_differences`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

import embver

#: the command the figures come from (after ``--store ROOT``)
COMPARE_ARGS = ["compare", "fixed@1.0.0", "fixed@2.0.0", "--json"]
#: seconds per step: not figures
#: keys of `compare --json` that are not figures; "verdict" (the one-line summary the notebook
#: display shows, derived from the figures checked here) joined the JSON after main's figures
#: were recorded
NOT_FIGURES = frozenset({"timings", "cpu_timings", "verdict"})
RELATIVE = 1e-6


def fixed_versions(n: int = 300, dim: int = 32) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Two versions (n, dim) of six clustered topics: the second a rotated, noisier view
    with one topic pulled apart; and each item's topic label."""
    rng = np.random.default_rng(16)
    topics = rng.integers(0, 6, size=n)
    centres = rng.standard_normal((6, dim)) * 3.0
    old = (centres[topics] + rng.standard_normal((n, dim))).astype(np.float32)
    rotation = np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    new = old @ rotation + 0.5 * rng.standard_normal((n, dim))
    new[topics == 0, :4] += 4.0 * rng.standard_normal((int((topics == 0).sum()), 4))
    return old, new.astype(np.float32), [f"topic-{t}" for t in topics]


def build_store(root: Path) -> Path:
    """A store under ``root`` holding fixed@1.0.0 and fixed@2.0.0 (a MAJOR, no verdict)."""
    old, new, labels = fixed_versions()
    ids = [f"item-{i:04d}" for i in range(len(old))]
    with embver.init(root) as store:
        space = store.space("fixed")
        first = space.register(
            old,
            ids=ids,
            labels=labels,
            recipe=embver.Recipe(architecture="a", extraction="mean", weights="w1", dim=32),
        )
        space.register(
            new,
            ids=ids,
            parent=first,
            recipe=embver.Recipe(architecture="b", extraction="mean", weights="w2", dim=32),
        )
    return root


def _interval(node: dict[str, Any]) -> tuple[str, float, float] | None:
    """(estimate key, low, high) of a figure stated with its interval, else None."""
    if "ci_low" in node and "ci_high" in node:
        estimate = "mean" if "mean" in node else "retention"
        return estimate, node["ci_low"], node["ci_high"]
    if isinstance(node.get("ci"), list) and "rho" in node:
        return "rho", node["ci"][0], node["ci"][1]
    return None


def figure_differences(main: Any, new: Any, path: str = "") -> list[str]:
    """Where ``new`` differs from ``main`` beyond the stated tolerances, one line each.

    An estimate stated with an interval (a mean with ci_low/ci_high, a retention, a
    Spearman rho with ci) may move within main's interval, and its interval bounds by
    as much as it moved; every other number must agree to 1e-6 relative; counts,
    labels, flags and the shape of the data exactly.
    """
    if isinstance(main, dict) and isinstance(new, dict):
        if set(main) != set(new):
            return [f"{path}: keys {sorted(set(main) ^ set(new))} differ"]
        return _dict_differences(main, new, path)
    if isinstance(main, list) and isinstance(new, list):
        if len(main) != len(new):
            return [f"{path}: {len(main)} entries became {len(new)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(main, new, strict=True))
            for d in figure_differences(a, b, f"{path}[{i}]")
        ]
    if _is_real(main) and _is_real(new) and not isinstance(main, int):
        return [] if _close(main, new, 0.0) else [f"{path}: {main!r} became {new!r}"]
    return [] if main == new else [f"{path}: {main!r} became {new!r}"]


def _dict_differences(main: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    out: list[str] = []
    stated = _interval(main)
    moved = 0.0
    if stated is not None:
        estimate, low, high = stated
        value = new[estimate]
        if not low - 1e-9 <= value <= high + 1e-9:
            out.append(f"{path}/{estimate}: {value!r} left main's interval [{low}, {high}]")
        moved = abs(value - main[estimate])
    bounds = {"ci_low", "ci_high", "ci", "full_ci_low", "full_ci_high"}
    for key in main:
        if key in NOT_FIGURES or (stated is not None and key == stated[0]):
            continue
        if stated is not None and key in bounds:
            pairs = zip(np.ravel(main[key]), np.ravel(new[key]), strict=True)
            if not all(_close(float(a), float(b), moved) for a, b in pairs):
                out.append(f"{path}/{key}: {main[key]!r} became {new[key]!r}")
            continue
        out += figure_differences(main[key], new[key], f"{path}/{key}")
    return out


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _close(a: float, b: float, slack: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= slack + RELATIVE * max(abs(a), abs(b), 1e-3)


def main(out: str) -> None:
    """Build the store in a temporary folder, run the compare, write its figures to ``out``."""
    import tempfile

    from click.testing import CliRunner

    from embver.cli import cli

    with tempfile.TemporaryDirectory() as tmp:
        root = build_store(Path(tmp) / "project")
        result = CliRunner().invoke(cli, ["--store", str(root), *COMPARE_ARGS])
        if result.exit_code != 0:
            raise SystemExit(result.output)
        figures = {k: v for k, v in json.loads(result.stdout).items() if k not in NOT_FIGURES}
    Path(out).write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
