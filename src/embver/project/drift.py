"""Drift within one version: a current batch of items against a reference set.

Three readings, from coarse to fine:

- centroid shift: distance between the two means, also in units of the
  reference's mean distance to its own centroid;
- MMD (maximum mean discrepancy, RBF kernel, median-distance bandwidth) on
  samples of both sets, with a permutation p-value;
- PSI (population stability index) over the shares of the version's clusters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embver.core.display import Part, RichDisplay, Table
from embver.errors import InvalidInputError
from embver.project.layout import prepare_vectors

PSI_EPSILON = 1e-4


@dataclass(repr=False)
class DriftReport(RichDisplay):
    """How far a current set of items is from a reference set, within one version."""

    n_reference: int
    n_current: int
    centroid_distance: float
    centroid_shift: float
    centroid_cosine_distance: float
    mmd2: float
    mmd_p_value: float
    mmd_sample: int
    psi: float | None
    psi_level: str | None
    cluster_shares: dict[str, dict[str, float]] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        return (
            f"<DriftReport {self.n_current} vs {self.n_reference} items: "
            f"MMD² {self.mmd2:.4f} (p={self.mmd_p_value:.3f})>"
        )

    def _display_title(self) -> str:
        return f"Drift of {self.n_current} current items against {self.n_reference} reference items"

    def _display_parts(self) -> list[Part]:
        rows: list[tuple[object, ...]] = [
            ("MMD² (RBF kernel)", self.mmd2, f"p = {self.mmd_p_value:.3f} (permutation test, "
             f"{self.mmd_sample} items a side)"),
            ("centroid distance", self.centroid_distance, ""),
            ("centroid shift", self.centroid_shift, "distance over the reference spread"),
            ("centroid cosine distance", self.centroid_cosine_distance, ""),
        ]  # fmt: skip
        if self.psi is not None:
            rows.append(("PSI over clusters", self.psi, self.psi_level))
        parts: list[Part] = [Table(("figure", "value", "note"), rows, title="drift")]
        if self.cluster_shares:
            shares = [
                (name, s.get("reference"), s.get("current"))
                for name, s in self.cluster_shares.items()
            ]
            parts.append(Table(("cluster", "reference share", "current share"), shares,
                               title="cluster shares"))  # fmt: skip
        return parts


def measure_drift(
    reference: np.ndarray,
    current: np.ndarray,
    reference_clusters: np.ndarray | None = None,
    current_clusters: np.ndarray | None = None,
    metric: str = "cosine",
    sample: int = 500,
    permutations: int = 200,
    seed: int = 0,
) -> DriftReport:
    """Drift of ``current`` (m, d) against ``reference`` (n, d); clusters optional (n,), (m,)."""
    if len(reference) < 2 or len(current) < 2:
        raise InvalidInputError(
            f"drift needs >= 2 reference and >= 2 current items; got {len(reference)} and "
            f"{len(current)}"
        )
    ref, cur = prepare_vectors(reference, metric), prepare_vectors(current, metric)
    distance, shift, cosine = centroid_shift(ref, cur)
    rng = np.random.default_rng(seed)
    ref_sample, cur_sample = _subsample(ref, sample, rng), _subsample(cur, sample, rng)
    mmd2, p_value = mmd_permutation_test(ref_sample, cur_sample, permutations, rng)
    psi = shares = level = None
    if reference_clusters is not None and current_clusters is not None:
        psi, shares = population_stability(reference_clusters, current_clusters)
        level = "stable" if psi < 0.1 else "moderate" if psi < 0.25 else "significant"
    return DriftReport(
        len(ref),
        len(cur),
        distance,
        shift,
        cosine,
        mmd2,
        p_value,
        min(len(ref_sample), len(cur_sample)),
        psi,
        level,
        shares,
    )


def centroid_shift(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, float]:
    """(Euclidean distance of the means, same / reference's mean radius, cosine distance)."""
    mean_ref, mean_cur = reference.mean(axis=0), current.mean(axis=0)
    distance = float(np.linalg.norm(mean_cur - mean_ref))
    radius = float(np.linalg.norm(reference - mean_ref, axis=1).mean())
    denominator = float(np.linalg.norm(mean_ref) * np.linalg.norm(mean_cur))
    cosine = 1.0 - float(mean_ref @ mean_cur) / denominator if denominator > 0 else 0.0
    return distance, distance / max(radius, 1e-12), cosine


def _subsample(points: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if len(points) <= size:
        return points
    return points[rng.choice(len(points), size=size, replace=False)]


def rbf_kernel(points: np.ndarray, bandwidth: float) -> np.ndarray:
    """exp(-|x - y|^2 / (2 bandwidth^2)) for all pairs of rows of ``points`` (n, d)."""
    squared = (points**2).sum(axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * points @ points.T, 0)
    return np.exp(-distances / (2 * bandwidth**2))


def median_bandwidth(points: np.ndarray) -> float:
    """Median pairwise Euclidean distance of ``points`` (n, d): the usual RBF bandwidth."""
    squared = (points**2).sum(axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * points @ points.T, 0)
    upper = np.sqrt(distances[np.triu_indices(len(points), k=1)])
    return float(np.median(upper)) or 1.0


def mmd2_unbiased(kernel: np.ndarray, n_first: int) -> float:
    """Unbiased MMD^2 from the joint kernel matrix whose first ``n_first`` rows are one set."""
    xx, yy = kernel[:n_first, :n_first], kernel[n_first:, n_first:]
    xy = kernel[:n_first, n_first:]
    n, m = len(xx), len(yy)
    term_x = (xx.sum() - np.trace(xx)) / (n * (n - 1))
    term_y = (yy.sum() - np.trace(yy)) / (m * (m - 1))
    return float(term_x + term_y - 2 * xy.mean())


def mmd_permutation_test(
    first: np.ndarray, second: np.ndarray, permutations: int, rng: np.random.Generator
) -> tuple[float, float]:
    """MMD^2 of two samples and the permutation p-value ((1 + #{perm >= obs}) / (1 + P))."""
    pooled = np.concatenate([first, second]).astype(np.float64)
    kernel = rbf_kernel(pooled, median_bandwidth(pooled))
    observed = mmd2_unbiased(kernel, len(first))
    exceed = 0
    for _ in range(permutations):
        order = rng.permutation(len(pooled))
        exceed += mmd2_unbiased(kernel[np.ix_(order, order)], len(first)) >= observed
    return observed, (1 + exceed) / (1 + permutations)


def population_stability(
    reference_clusters: np.ndarray, current_clusters: np.ndarray
) -> tuple[float, dict[str, dict[str, float]]]:
    """PSI = sum (c - r) ln(c / r) over cluster shares (noise -1 is its own bin)."""
    bins = sorted(set(reference_clusters.tolist()) | set(current_clusters.tolist()))
    psi, shares = 0.0, {}
    for cluster in bins:
        r = max(float(np.mean(reference_clusters == cluster)), PSI_EPSILON)
        c = max(float(np.mean(current_clusters == cluster)), PSI_EPSILON)
        psi += (c - r) * np.log(c / r)
        shares[str(cluster)] = {"reference": r, "current": c}
    return float(psi), shares
