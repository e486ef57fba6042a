"""What a dimension means: a raw dimension or a principal component, read through items.

For one axis: the items at both extremes, the share of variance it carries,
and how it relates to the items' labels (correlation ratio) and numeric
metadata (Pearson and Spearman correlation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from embver.errors import InvalidInputError
from embver.project.layout import prepare_vectors, principal_components


@dataclass
class DimensionReport:
    """One axis of a version, read through its items."""

    axis: str
    variance_share: float
    top: list[tuple[str, float]]
    bottom: list[tuple[str, float]]
    label_eta: float | None = None
    label_means: dict[str, float] = field(default_factory=dict)
    metadata_correlations: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def axis_values(
    vectors: np.ndarray,
    dimension: int | None = None,
    component: int | None = None,
    metric: str = "cosine",
) -> tuple[str, np.ndarray, float]:
    """Per-item values (n,) along a raw dimension or a principal component; its variance share."""
    if (dimension is None) == (component is None):
        raise InvalidInputError("pass exactly one of dimension= (raw) or component= (PCA)")
    data = np.asarray(vectors, dtype=np.float32)
    if dimension is not None:
        if not 0 <= dimension < data.shape[1]:
            raise InvalidInputError(f"dimension={dimension} is outside 0..{data.shape[1] - 1}")
        variances = data.var(axis=0, dtype=np.float64)
        share = float(variances[dimension] / max(variances.sum(), 1e-30))
        return f"dim {dimension}", data[:, dimension].astype(np.float64), share
    assert component is not None
    if not 0 <= component < min(data.shape):
        raise InvalidInputError(f"component={component} is outside 0..{min(data.shape) - 1}")
    scores, shares = principal_components(prepare_vectors(data, metric), component + 1)
    return f"PC {component + 1}", scores[:, component].astype(np.float64), float(shares[component])


def inspect_dimension(
    vectors: np.ndarray,
    ids: Sequence[str],
    dimension: int | None = None,
    component: int | None = None,
    labels: Sequence[Any] | None = None,
    metadata: Mapping[str, Sequence[Any]] | None = None,
    n_extremes: int = 5,
    metric: str = "cosine",
) -> DimensionReport:
    """Read one axis of ``vectors`` (n, d): extremes, variance share, label/metadata relation.

    ``metadata`` maps a field name to n per-item values; non-numeric fields are skipped.
    """
    axis, values, share = axis_values(vectors, dimension, component, metric)
    order = np.argsort(values, kind="stable")
    report = DimensionReport(
        axis=axis,
        variance_share=share,
        top=[(ids[i], float(values[i])) for i in order[::-1][:n_extremes]],
        bottom=[(ids[i], float(values[i])) for i in order[:n_extremes]],
    )
    if labels is not None:
        report.label_eta, report.label_means = correlation_ratio(values, labels)
    for name, column in (metadata or {}).items():
        numeric = _as_numeric(column)
        if numeric is not None:
            report.metadata_correlations[name] = _correlations(values, numeric)
    return report


def correlation_ratio(values: np.ndarray, labels: Sequence[Any]) -> tuple[float, dict[str, float]]:
    """Correlation ratio eta (0..1) of ``values`` (n,) with a categorical ``labels``, and means."""
    keys = np.asarray([str(v) for v in labels])
    total = float(((values - values.mean()) ** 2).sum())
    means, between = {}, 0.0
    for key in np.unique(keys):
        group = values[keys == key]
        means[str(key)] = float(group.mean())
        between += len(group) * float((group.mean() - values.mean()) ** 2)
    return (float(np.sqrt(between / total)) if total > 0 else 0.0), means


def _as_numeric(column: Sequence[Any]) -> np.ndarray | None:
    try:
        numeric = np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return numeric if numeric.ndim == 1 and np.isfinite(numeric).sum() >= 3 else None


def _correlations(values: np.ndarray, numeric: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    keep = np.isfinite(numeric)
    if np.ptp(numeric[keep]) == 0 or np.ptp(values[keep]) == 0:
        return {"pearson": 0.0, "spearman": 0.0}
    return {
        "pearson": float(pearsonr(values[keep], numeric[keep])[0]),
        "spearman": float(spearmanr(values[keep], numeric[keep])[0]),
    }
