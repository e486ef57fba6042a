"""Issue 16's constraints on the fast CLI: the figures of ``embver compare`` are those of
main's code, the compare says what it is doing on stderr, and ``compare --help`` starts
without the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from compare_figures import COMPARE_ARGS, NOT_FIGURES, build_store, figure_differences

from embver.cli import cli

MAIN_FIGURES = Path(__file__).with_name("compare_figures_main.json")
#: what ``embver compare --help`` must not load (bench_cli.py prints what a compare loads)
HEAVY = ("torch", "fastapi", "umap", "numba", "pynndescent", "sklearn", "numpy", "pandas")


@pytest.fixture(scope="module")
def fixed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("figures") / "project")


@pytest.fixture(scope="module")
def compared(fixed_store: Path):  # type: ignore[no-untyped-def]
    """One ``compare --json --progress`` run: its stdout and stderr."""
    argv = ["--store", str(fixed_store), *COMPARE_ARGS, "--progress"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    return result


def test_compare_figures_are_mains_within_their_intervals(compared):
    data = json.loads(compared.stdout)
    figures = {key: value for key, value in data.items() if key not in NOT_FIGURES}
    main = json.loads(MAIN_FIGURES.read_text(encoding="utf-8"))
    assert figure_differences(main, figures) == []
    # the fixed data is not trivial: the clusters step ran and found clusters
    assert figures["clusters"]["n_clusters_old"] >= 2


def test_the_tolerances_catch_a_changed_figure():
    main = json.loads(MAIN_FIGURES.read_text(encoding="utf-8"))
    moved = json.loads(json.dumps(main))
    overlap = moved["neighbourhood"]["10"]["overlap"]
    overlap["mean"] = overlap["ci_high"] + 0.01  # out of its stated interval
    moved["structure"]["cka"] *= 1.0001  # a figure without an interval, off by 1e-4
    moved["clusters"]["n_clusters_new"] += 1
    found = figure_differences(main, moved)
    assert sorted(line.split(":")[0] for line in found) == [
        "/clusters/n_clusters_new",
        "/neighbourhood/10/overlap/mean",
        "/structure/cka",
    ]
    inside = json.loads(json.dumps(main))
    within = inside["neighbourhood"]["10"]["overlap"]
    shift = (within["ci_high"] - within["mean"]) / 2
    within["mean"] += shift
    within["ci_low"] += shift
    within["ci_high"] += shift
    assert figure_differences(main, inside) == []


def test_compare_announces_each_step_on_stderr_and_keeps_stdout_json(compared):
    lines = compared.stderr.splitlines()
    steps = [line.split(":")[1].strip() for line in lines]
    # the clusters start first (their layouts then run in the background) and are announced
    # again at the end only when the compare has to wait for them
    assert steps[:6] == ["clusters", "neighbours", "neighbourhood", "structure", "same_space",
                         "migration"]  # fmt: skip
    assert steps[6:] in ([], ["clusters"])
    clusters = next(line for line in lines if line.startswith("comparing: clusters"))
    assert "UMAP + HDBSCAN on 300 items" in clusters and "in the background" in clusters
    if steps[6:]:
        assert "waiting for the layouts" in lines[6]
    json.loads(compared.stdout)  # nothing but the JSON on stdout


def test_compare_is_quiet_off_a_terminal_unless_asked(fixed_store):
    argv = ["--store", str(fixed_store), *COMPARE_ARGS, "--no-clusters", "--no-maps"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0
    assert result.stderr == ""


def test_compare_help_imports_no_heavy_library():
    probe = (
        "import sys\n"
        "from embver.cli import main\n"
        "sys.argv = ['embver', 'compare', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "Usage: embver compare" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
