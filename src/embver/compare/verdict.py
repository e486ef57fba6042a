"""The verdict on a PATCH: ``drop-in``, ``adapter`` or ``breaking``, with its figures.

Thresholds (justified in docs/compare.md):

- ``drop-in``: equal dimension and metric, median per-item cosine ≥ 0.99 and
  the lower 95 % bootstrap bound of CR@10 ≥ 0.95;
- ``adapter``: otherwise, the map chosen on a validation split (Procrustes or
  ridge; the residual MLP when neither suffices) reaches retention ≥ 0.95 in
  either direction for held-out test items queried against the full index (the
  size downstream searches; the retention within the test pool and both chance
  levels are reported beside it);
- ``breaking``: neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from embver.compare.dropin import cross_retrieval, per_item_cosine
from embver.compare.migration import fit_migration
from embver.compare.stats import bootstrap_mean_interval
from embver.errors import InvalidInputError
from embver.neighbors import as_float32, canonical_metric, check_paired, knn

DROP_IN_MEDIAN_COSINE: Final = 0.99
DROP_IN_CR_LOWER: Final = 0.95
ADAPTER_RETENTION: Final = 0.95
#: CR@k is judged at k = 10 (fewer when there are fewer items)
VERDICT_K: Final = 10
#: queries sampled for CR@10; ±0.01 bootstrap width at this size keeps registration fast
VERDICT_QUERIES: Final = 2_000
LABELS: Final = ("drop-in", "adapter", "breaking")


@dataclass(frozen=True)
class Verdict:
    """What kind of change a PATCH is, and the figures that decided it."""

    label: str
    reasons: list[str]
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "reasons": list(self.reasons),
            "figures": dict(self.figures),
            "thresholds": {
                "drop_in_median_cosine": DROP_IN_MEDIAN_COSINE,
                "drop_in_cr10_lower": DROP_IN_CR_LOWER,
                "adapter_retention": ADAPTER_RETENTION,
            },
        }


def patch_verdict(
    old: np.ndarray,
    new: np.ndarray,
    metric: str,
    seed: int = 0,
    *,
    metric_new: str | None = None,
    max_queries: int = VERDICT_QUERIES,
) -> Verdict:
    """Judge a PATCH from the old and new vectors of the items both versions hold.

    Parameters
    ----------
    old : array of shape (n, d_old)
        Parent's vectors of the shared items.
    new : array of shape (n, d_new)
        The PATCH's vectors of the same items, in the same order.
    metric : {"cosine", "dot", "l2"}
        The parent's distance metric.
    seed : int
        Seed of query sampling, bootstrap and map fitting.
    metric_new : str, optional
        The new version's metric when it differs (then the PATCH cannot be drop-in).
    """
    old = as_float32(old, "old")
    new = as_float32(new, "new")
    check_paired(old, new)
    if old.shape[0] < 4:
        raise InvalidInputError(f"a verdict needs at least 4 shared items; got {old.shape[0]}")
    metric = canonical_metric(metric)
    metric_new = metric if metric_new is None else canonical_metric(metric_new)
    k = min(VERDICT_K, old.shape[0] - 2)
    figures: dict[str, Any] = {"n_shared": int(old.shape[0]), "k": k}
    reasons: list[str] = []
    if old.shape[1] == new.shape[1] and metric == metric_new:
        if _drop_in(old, new, metric, k, seed, max_queries, figures, reasons):
            return Verdict("drop-in", reasons, figures)
    else:
        reasons.append(
            f"dimension/metric differ ({old.shape[1]}/{metric} → {new.shape[1]}/{metric_new}); "
            "cannot be drop-in"
        )
    return _adapter_or_breaking(old, new, metric, metric_new, k, seed, figures, reasons)


def _drop_in(
    old: np.ndarray,
    new: np.ndarray,
    metric: str,
    k: int,
    seed: int,
    max_queries: int,
    figures: dict[str, Any],
    reasons: list[str],
) -> bool:
    cosine = per_item_cosine(old, new)
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(old.shape[0], min(max_queries, old.shape[0]), replace=False))
    old_neighbours = knn(old, k, query_ids=queries, metric=metric)
    cross = cross_retrieval(old, new, queries, old_neighbours, k=k, metric=metric)
    low, high = bootstrap_mean_interval(cross.overlap, seed=seed)
    median_cosine = float(np.median(cosine))
    figures.update(
        median_cosine=median_cosine,
        p5_cosine=float(np.percentile(cosine, 5)),
        cr_at_k=float(cross.overlap.mean()),
        cr_at_k_ci=[low, high],
        self_hit_at_1=float(cross.self_hit.mean()),
        n_queries=int(queries.size),
    )
    good_cosine = median_cosine >= DROP_IN_MEDIAN_COSINE
    good_cr = low >= DROP_IN_CR_LOWER
    checks = [
        (
            good_cosine,
            f"median per-item cosine {median_cosine:.4f} "
            f"{'≥' if good_cosine else '<'} {DROP_IN_MEDIAN_COSINE}",
        ),
        (good_cr, f"CR@{k} lower 95% bound {low:.4f} {'≥' if good_cr else '<'} {DROP_IN_CR_LOWER}"),
    ]
    # a drop-in is explained by the checks it passed; anything else only by those it failed
    passed = good_cosine and good_cr
    reasons.extend(text for ok, text in checks if ok == passed)
    return passed


def _adapter_or_breaking(
    old: np.ndarray,
    new: np.ndarray,
    metric: str,
    metric_new: str,
    k: int,
    seed: int,
    figures: dict[str, Any],
    reasons: list[str],
) -> Verdict:
    try:
        best = _best_map(old, new, metric, metric_new, k, seed)
    except InvalidInputError as exc:
        reasons.append(f"no adapter could be judged: {exc}")
        return Verdict("breaking", reasons, figures)
    figures["best_map"] = best
    # judged at the index size downstream searches: in a small held-out pool the chance
    # level alone can come near the threshold (12 test items at k=10: 0.909)
    passed = best["retention_full"] >= ADAPTER_RETENTION
    reasons.append(
        f"best map {best['kind']} ({best['direction']}, chosen on validation items): retention "
        f"of test queries against all {best['n_items']} items {best['retention_full']:.4f} "
        f"{'≥' if passed else '<'} {ADAPTER_RETENTION} (chance {best['chance_full']:.4f}); "
        f"within the {best['pool']} test items {best['retention']:.4f} "
        f"(chance {best['chance']:.4f})"
    )
    return Verdict("adapter" if passed else "breaking", reasons, figures)


def _best_map(
    old: np.ndarray, new: np.ndarray, metric: str, metric_new: str, k: int, seed: int
) -> dict[str, Any]:
    """The map with the best validation retention, with its test figures and chance levels."""
    # a few items: judge maps at a smaller k so that train, validation and test all fit
    k = max(1, min(k, (old.shape[0] - 6) // 2))
    best: dict[str, Any] = {}
    # linear maps first; the MLP costs seconds and is fitted only when they fall short
    for kinds in (("procrustes", "ridge"), ("mlp",)):
        migration = fit_migration(
            old, new, metric_old=metric, metric_new=metric_new, kinds=kinds, k=k, seed=seed
        )
        # per direction, the kind chosen on validation items, refitted and judged on test items
        for score in filter(None, (migration.best(d) for d in ("old->new", "new->old"))):
            if not best or score.validation > best["validation"]:
                best = {
                    **score.to_dict(), "k": k, "pool": migration.n_holdout,
                    "chance": migration.chance(), "n_items": migration.n_items,
                    "chance_full": migration.chance_full(),
                }  # fmt: skip
        if best["retention_full"] >= ADAPTER_RETENTION:
            break
    return best
