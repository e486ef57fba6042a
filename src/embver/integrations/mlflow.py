"""MLflow: log a version (parameters, metrics, tags) or a comparison (figures and the static
HTML report as an artifact) to the active run or to ``run_id``.

The tracking server is MLflow's own setting (``MLFLOW_TRACKING_URI`` or
``mlflow.set_tracking_uri``). A run logs one version: MLflow keeps parameters
immutable, so a second, different version logged to the same run is refused by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver.errors import DependencyError, InvalidInputError
from embver.integrations import records

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from embver.compare.comparison import Comparison
    from embver.store.store import Store
    from embver.store.version import Version

#: MLflow accepts at most this many entries of each kind in one log_batch call
BATCH = 100
#: where a comparison's report goes among the run's artifacts
ARTIFACT_FOLDER = "embver"


def _client() -> MlflowClient:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise DependencyError(
            "logging to MLflow needs mlflow; pip install 'embver[mlflow]'"
        ) from exc
    return MlflowClient()


def _run_id(run_id: str | None) -> str:
    """``run_id``, else the active run's (InvalidInputError when there is none)."""
    if run_id:
        return run_id
    import mlflow

    active = mlflow.active_run()
    if active is None:
        raise InvalidInputError(
            "no active MLflow run: call inside `with mlflow.start_run():` or pass run_id=…"
        )
    return str(active.info.run_id)


def _log(
    run_id: str,
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> None:
    import time

    from mlflow.entities import Metric, Param, RunTag

    client, now = _client(), int(time.time() * 1000)
    batch_params = [Param(k, v) for k, v in (params or {}).items()]
    batch_metrics = [Metric(k, v, now, 0) for k, v in (metrics or {}).items()]
    batch_tags = [RunTag(k, v) for k, v in (tags or {}).items()]
    for start in range(0, max(len(batch_params), len(batch_metrics), len(batch_tags), 1), BATCH):
        client.log_batch(
            run_id,
            metrics=batch_metrics[start : start + BATCH],
            params=batch_params[start : start + BATCH],
            tags=batch_tags[start : start + BATCH],
        )


def log_version(version: Version, run_id: str | None = None) -> str:
    """Log ``version``'s reference, bump and recipe (params), verdict and evaluation figures
    (metrics) to the active run or ``run_id``, and tag the run ``embver.ref``; the run id."""
    run = _run_id(run_id)
    _log(
        run,
        params=records.version_params(version),
        metrics=records.version_metrics(version),
        tags=records.version_tags(version),
    )
    return run


def log_comparison(
    comparison: Comparison,
    run_id: str | None = None,
    *,
    store: Store | None = None,
    report: bool = True,
    method: str = "pca",
) -> str:
    """Log ``comparison``'s headline figures and chance levels (metrics) and, with
    ``report``, its static HTML report (layout ``method``) under ``embver/``; the run id."""
    run = _run_id(run_id)
    _log(run, metrics=records.comparison_metrics(comparison),
         tags=records.comparison_tags(comparison))  # fmt: skip
    if report:
        with records.written_report(comparison, store, method) as path:
            _client().log_artifact(run, str(path), artifact_path=ARTIFACT_FOLDER)
    return run


__all__ = ["log_comparison", "log_version"]
