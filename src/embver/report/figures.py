"""The comparison figures the report shows, each beside its chance level or null.

Reads the dict of ``embver.compare.Comparison.to_dict()`` defensively: a
section that is missing (a different version of the comparison engine, or
figures that do not apply, such as per-item cosine across dimensions) is
left out rather than breaking the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from embver.project.projection import Projection
    from embver.store import Version

Figure = dict[str, Any]


def figure(
    name: str, value: Any, chance: Any = None, interval: Any = None, note: str = ""
) -> Figure:
    return {"name": name, "value": value, "chance": chance, "interval": interval, "note": note}


def comparison_figures(
    comparison: dict[str, Any] | None, pa: Projection, pb: Projection
) -> list[Figure]:
    """Rows of (figure, value, 95% interval, chance/null, note) for the report."""
    if not comparison:
        return []
    rows: list[Figure] = []
    for section in (_neighbourhood, _structure, _same_space, _clusters, _migration):
        try:
            rows.extend(section(comparison))
        except (KeyError, TypeError, IndexError, ValueError):
            continue
    return rows


def _interval(summary: dict[str, Any]) -> list[float] | None:
    if "ci_low" in summary and "ci_high" in summary:
        return [summary["ci_low"], summary["ci_high"]]
    return None


def _neighbourhood(c: dict[str, Any]) -> list[Figure]:
    rows = []
    for k, row in (c.get("neighbourhood") or {}).items():
        over, jac = row["overlap"], row["jaccard"]
        rows.append(
            figure(
                f"k-NN overlap, k={k} (mean)",
                over["mean"],
                row.get("chance_overlap"),
                _interval(over),
                "share of each item's neighbours kept",
            )
        )
        rows.append(
            figure(
                f"k-NN Jaccard, k={k} (mean)",
                jac["mean"],
                row.get("chance_jaccard"),
                _interval(jac),
            )
        )
    return rows


def _structure(c: dict[str, Any]) -> list[Figure]:
    s = c["structure"]
    null = s.get("null", {})
    rows = [
        figure("linear CKA", s.get("cka"), null.get("cka"), note="null: pairing shuffled"),
        figure("debiased linear CKA", s.get("cka_debiased"), null.get("cka_debiased")),
        figure(
            "Procrustes angle (rad)",
            s.get("procrustes_angle"),
            null.get("procrustes_angle"),
            note="0 = same shape",
        ),
    ]
    if "spearman" in s:
        sp = s["spearman"]
        rows.append(
            figure(
                "rank corr. of pair similarities", sp["rho"], sp.get("chance", 0.0), sp.get("ci")
            )
        )
    if "trustworthiness" in s:
        rows.append(
            figure("trustworthiness A→B", s["trustworthiness"], null.get("trustworthiness"))
        )
    return rows


def _same_space(c: dict[str, Any]) -> list[Figure]:
    same = c.get("same_space")
    if not same:
        return []
    rows = []
    for key, value in same.items():
        if isinstance(value, dict) and "mean" in value:
            rows.append(
                figure(key.replace("_", " "), value["mean"], value.get("chance"), _interval(value))
            )
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append(figure(key.replace("_", " "), value))
    return rows


def _clusters(c: dict[str, Any]) -> list[Figure]:
    cl = c.get("clusters")
    if not cl:
        return []
    floor = cl.get("floor") or {}
    covers = (
        f"{cl.get('clustered_in_both')} of {cl.get('n_items')} items clustered in both "
        f"(noise {cl.get('noise_old', 0):.0%} A, {cl.get('noise_new', 0):.0%} B)"
    )
    events = ", ".join(f"{name} {len(cl.get(name) or [])}" for name in SPLIT_EVENTS)
    return [
        figure(
            "cluster agreement ARI",
            cl["ari"],
            cl.get("chance_ari_p95", cl.get("chance_ari", 0.0)),
            note=f"{cl.get('method', '')}; noise floor (reclustered) {floor.get('ari', 'n/a')}",
        ),
        figure(
            "cluster agreement AMI",
            cl["ami"],
            cl.get("chance_ami_p95", cl.get("chance_ami", 0.0)),
            note=f"noise floor {floor.get('ami', 'n/a')}; over {covers}",
        ),
        figure("clusters changed beyond the floor", events, note=_within_floor(cl)),
    ]


SPLIT_EVENTS = ("split", "merged", "new", "vanished")


def _within_floor(cl: dict[str, Any]) -> str:
    within = cl.get("within_floor") or {}
    if not any(within.values()):
        return ""
    return "left out as within the noise floor: " + ", ".join(
        f"{name} {count}" for name, count in within.items() if count
    )


def _migration(c: dict[str, Any]) -> list[Figure]:
    mig = c.get("migration")
    if not mig:
        return []
    rows = []
    for direction in ("best_old_to_new", "best_new_to_old"):
        best = mig.get(direction)
        if best:
            rows.extend(_migration_rows(mig, best))
    return rows


def _migration_rows(mig: dict[str, Any], best: dict[str, Any]) -> list[Figure]:
    """The chosen map's retention on the test pool and against the full index, with chance."""
    name = f"migration {best['direction']} ({best['kind']}): retention"
    rows = [
        figure(
            name,
            best["retention"],
            mig.get("chance"),
            [best["ci_low"], best["ci_high"]],
            f"{mig.get('n_holdout')} test items; chosen on validation items; re-embedding = 1",
        )
    ]
    if "retention_full" in best:
        rows.append(
            figure(
                name + " at full index",
                best["retention_full"],
                mig.get("chance_full"),
                [best["full_ci_low"], best["full_ci_high"]],
                f"test queries against all {mig.get('n_items')} items",
            )
        )
    return rows


def fallback_movers(va: Version, vb: Version, k: int, count: int = 10) -> list[dict[str, Any]]:
    """Top movers when no comparison is at hand, in the order `embver compare` gives them.

    Lowest Jaccard of the k nearest shared neighbours first; equal Jaccard (often
    hundreds at 0) ordered by how far each item's old neighbours moved in B: the
    compare package's :func:`~embver.compare.neighbourhood.top_movers` with its
    :func:`~embver.compare.comparison.similarity_gap`. Each mover lists its first five
    neighbours in A and in B.
    """
    from embver.compare.api import shared_vectors
    from embver.compare.comparison import MOVER_NEIGHBOURS, similarity_gap
    from embver.compare.neighbourhood import overlap_scores, top_movers
    from embver.neighbors import canonical_metric, knn, prepare

    pairing = shared_vectors(va.store, va, vb)
    shared = pairing.ids
    k = min(k, len(shared) - 1)
    if k < 1:
        return []
    nb_a, nb_b = knn(pairing.x, k, metric=va.metric), knn(pairing.y, k, metric=vb.metric)
    metric = canonical_metric(vb.metric)
    _, jaccard = overlap_scores(nb_a, nb_b, k)
    gap = similarity_gap(prepare(pairing.y, metric), np.arange(len(shared)), nb_a, nb_b, metric)
    return [
        {
            "id": shared[r],
            "jaccard": float(jaccard[r]),
            "similarity_gap": float(gap[r]),
            "old_neighbours": [shared[j] for j in nb_a[r, :MOVER_NEIGHBOURS]],
            "new_neighbours": [shared[j] for j in nb_b[r, :MOVER_NEIGHBOURS]],
        }
        for r in top_movers(jaccard, count, tie_break=gap)
    ]
