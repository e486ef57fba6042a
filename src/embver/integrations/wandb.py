"""Weights & Biases: log a version (config, summary metrics, tags) or a comparison (summary
figures and the static HTML report, saved with the run's files) to the current run.

Works offline (``WANDB_MODE=offline``): everything lands in the run's folder and
``wandb sync`` uploads it later.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from embver.errors import DependencyError, InvalidInputError
from embver.integrations import records

if TYPE_CHECKING:
    from wandb.sdk.wandb_run import Run

    from embver.compare.comparison import Comparison
    from embver.store.store import Store
    from embver.store.version import Version

#: W&B refuses longer tags
MAX_TAG = 64


def _run(run: Run | None) -> Run:
    """``run``, else the current one (InvalidInputError when there is none)."""
    if run is not None:
        return run
    try:
        import wandb
    except ImportError as exc:
        raise DependencyError("logging to W&B needs wandb; pip install 'embver[wandb]'") from exc
    if wandb.run is None:
        raise InvalidInputError("no current W&B run: call wandb.init(...) first or pass run=…")
    return wandb.run


def _tag(run: Run, tag: str) -> None:
    run.tags = tuple(dict.fromkeys([*(run.tags or ()), tag[:MAX_TAG]]))


def log_version(version: Version, run: Run | None = None) -> Run:
    """Log ``version``'s reference, bump and recipe (config), verdict and evaluation figures
    (summary) to ``run`` or the current run, and tag it with the reference; the run."""
    target = _run(run)
    target.config.update(records.version_params(version), allow_val_change=True)
    target.config.update(records.version_tags(version), allow_val_change=True)
    target.summary.update(records.version_metrics(version))
    _tag(target, version.ref)
    return target


def log_comparison(
    comparison: Comparison,
    run: Run | None = None,
    *,
    store: Store | None = None,
    report: bool = True,
    method: str = "pca",
) -> Run:
    """Log ``comparison``'s headline figures and chance levels (summary) and, with
    ``report``, its static HTML report as a file of the run (``embver/…html``); the run."""
    target = _run(run)
    target.summary.update(records.comparison_metrics(comparison))
    target.config.update(records.comparison_tags(comparison), allow_val_change=True)
    if report:
        folder = Path(target.dir) / "embver"
        folder.mkdir(parents=True, exist_ok=True)
        with records.written_report(comparison, store, method) as path:
            saved = folder / path.name
            shutil.copyfile(path, saved)
        target.save(str(saved), base_path=target.dir, policy="now")
    return target


__all__ = ["log_comparison", "log_version"]
