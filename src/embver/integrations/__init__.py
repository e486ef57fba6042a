"""Experiment trackers: log versions and comparisons to MLflow or Weights & Biases.

:mod:`embver.integrations.mlflow` and :mod:`embver.integrations.wandb` give the same two
calls, ``log_version(v)`` and ``log_comparison(c)``, over the same records
(:mod:`embver.integrations.records`). Each tracker's library is imported inside the
call that needs it; without it the call raises DependencyError naming the extra.
"""

from __future__ import annotations

#: the trackers are the submodules (``from embver.integrations import mlflow``); the package
#: itself exports no names, so importing it loads no tracker
_EXPORTS: dict[str, str] = {}
__all__: list[str] = []
