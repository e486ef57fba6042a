"""The headline figures of a comparison, each beside its chance level or null.

Reads the dict of :meth:`embver.compare.Comparison.to_dict` defensively: a section
that is missing (figures that do not apply, such as per-item cosine across
dimensions) is left out rather than failing. The static report
(:mod:`embver.report`) and the notebook display of a comparison show these rows.
"""

from __future__ import annotations

from typing import Any

Figure = dict[str, Any]


def figure(
    name: str, value: Any, chance: Any = None, interval: Any = None, note: str = ""
) -> Figure:
    return {"name": name, "value": value, "chance": chance, "interval": interval, "note": note}


def comparison_figures(comparison: dict[str, Any] | None) -> list[Figure]:
    """Rows of (figure, value, 95% interval, chance/null, note) of a comparison's dict."""
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
