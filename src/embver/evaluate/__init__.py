"""Evaluating one version on tasks: labels, retrieval, similarity; figures with CI and chance.

Modules::

    results     Figure, Evaluation, PairedDifference, paired_difference, bootstrap statistics
    labels      knn_accuracy, label_purity, cluster_agreement, linear_probe, per_label
    retrieval   read_qrels, retrieval (recall@k, nDCG@10, MRR, MAP through pytrec_eval)
    similarity  read_pairs, sts (Spearman of similarity with gold scores)
    registry    TASKS, register_task, run_task
    api         evaluate a stored version (recorded, read back), compare_tasks, best_by,
                by_label, compare_with_labels

Built on :mod:`embver.neighbors` (exact k-NN) and :mod:`embver.compare.stats`.
Names are imported lazily so that ``import embver.evaluate`` loads no scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embver._lazy import lazy_exports

if TYPE_CHECKING:
    from embver.evaluate.api import best_by, compare_tasks, evaluate
    from embver.evaluate.labels import (
        LabelBreakdown,
        cluster_agreement,
        knn_accuracy,
        label_purity,
        linear_probe,
        per_label,
    )
    from embver.evaluate.registry import TASKS, TaskInputs, register_task, run_task
    from embver.evaluate.results import Evaluation, Figure, PairedDifference, paired_difference
    from embver.evaluate.retrieval import read_qrels, retrieval
    from embver.evaluate.similarity import read_pairs, sts

_EXPORTS = {
    "evaluate": "embver.evaluate.api",
    "compare_tasks": "embver.evaluate.api",
    "best_by": "embver.evaluate.api",
    "Evaluation": "embver.evaluate.results",
    "Figure": "embver.evaluate.results",
    "PairedDifference": "embver.evaluate.results",
    "paired_difference": "embver.evaluate.results",
    "LabelBreakdown": "embver.evaluate.labels",
    "cluster_agreement": "embver.evaluate.labels",
    "knn_accuracy": "embver.evaluate.labels",
    "label_purity": "embver.evaluate.labels",
    "linear_probe": "embver.evaluate.labels",
    "per_label": "embver.evaluate.labels",
    "read_qrels": "embver.evaluate.retrieval",
    "retrieval": "embver.evaluate.retrieval",
    "read_pairs": "embver.evaluate.similarity",
    "sts": "embver.evaluate.similarity",
    "TASKS": "embver.evaluate.registry",
    "TaskInputs": "embver.evaluate.registry",
    "register_task": "embver.evaluate.registry",
    "run_task": "embver.evaluate.registry",
}

__all__ = [
    "TASKS",
    "Evaluation",
    "Figure",
    "LabelBreakdown",
    "PairedDifference",
    "TaskInputs",
    "best_by",
    "cluster_agreement",
    "compare_tasks",
    "evaluate",
    "knn_accuracy",
    "label_purity",
    "linear_probe",
    "paired_difference",
    "per_label",
    "read_pairs",
    "read_qrels",
    "register_task",
    "retrieval",
    "run_task",
    "sts",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
