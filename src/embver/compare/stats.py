"""Summaries of per-item figures: distribution, chance level and bootstrap intervals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from embver.errors import InvalidInputError

#: resamples for percentile bootstrap intervals; 1000 gives a 95 % bound stable to ~0.001
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Summary:
    """Distribution of a per-item figure, with a bootstrap 95 % interval of its mean."""

    mean: float
    median: float
    p5: float
    ci_low: float
    ci_high: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def summarize(
    values: np.ndarray, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> Summary:
    """Mean, median, 5th percentile and a percentile-bootstrap 95 % interval of the mean.

    Parameters
    ----------
    values : float array of shape (m,)
        One figure per item (or per query).
    seed : int
        Seed of the bootstrap resampling.
    resamples : int
        Bootstrap resamples.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise InvalidInputError("cannot summarise an empty set of values; compare more items")
    low, high = bootstrap_mean_interval(values, seed=seed, resamples=resamples)
    return Summary(
        mean=float(values.mean()),
        median=float(np.median(values)),
        p5=float(np.percentile(values, 5)),
        ci_low=low,
        ci_high=high,
        n=int(values.size),
    )


def bootstrap_mean_interval(
    values: np.ndarray, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (m,)."""
    if resamples < 1:
        raise InvalidInputError(f"resamples={resamples} must be at least 1")
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level={level} must lie strictly between 0 and 1")
    values = np.asarray(values, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # chunks keep the (chunk, m) index matrix small for large m
    chunk = max(1, 2_000_000 // max(values.size, 1))
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        draws = rng.integers(0, values.size, size=(stop - start, values.size))
        means[start:stop] = values[draws].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def fisher_interval(rho: float, n: int, level_z: float = 1.959964) -> tuple[float, float]:
    """Approximate 95 % interval of a Spearman correlation from ``n`` pairs (Fieller et al.)."""
    if n <= 3:
        return (-1.0, 1.0)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    half = level_z * np.sqrt(1.06 / (n - 3))
    return float(np.tanh(z - half)), float(np.tanh(z + half))
