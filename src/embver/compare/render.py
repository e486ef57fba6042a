"""Readable text for a comparison (the dict of :meth:`Comparison.to_dict`)."""

from __future__ import annotations

from typing import Any


def _summary(s: dict[str, Any]) -> str:
    return (
        f"mean {s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]  "
        f"median {s['median']:.3f}  p5 {s['p5']:.3f}"
    )


def _header(d: dict[str, Any]) -> list[str]:
    lines = [
        f"compare {d['old']} → {d['new']}",
        f"  shared items {d['n_shared']}   dims {d['dims'][0]} → {d['dims'][1]}   "
        f"metrics {d['metrics'][0]} → {d['metrics'][1]}",
    ]
    for side in ("only_old", "only_new"):
        info = d[side]
        if info["count"]:
            examples = ", ".join(info["examples"][:5])
            lines.append(f"  {side.replace('_', ' in ')}: {info['count']} (e.g. {examples})")
    queries = f"{d['n_queries']} sampled queries" if d["sampled"] else "every item as query"
    lines.append(
        f"  neighbourhood over {queries}; exact neighbours against all items; seed {d['seed']}"
    )
    if d.get("ks_dropped"):
        dropped = ",".join(str(k) for k in d["ks_dropped"])
        lines.append(
            f"  k={dropped} dropped: {d['n_shared']} shared items allow k ≤ {d['n_shared'] - 2}"
        )
    return lines


def _neighbourhood(d: dict[str, Any]) -> list[str]:
    lines = ["", "neighbourhood (per item; 95% bootstrap interval of the mean)"]
    for k, row in d["neighbourhood"].items():
        lines.append(
            f"  k={k:<4} overlap  {_summary(row['overlap'])}   chance {row['chance_overlap']:.4f}"
        )
        lines.append(
            f"         jaccard  {_summary(row['jaccard'])}   chance {row['chance_jaccard']:.4f}"
        )
    if d["movers"]:
        lines.append(f"  most changed (jaccard at k={d['ks'][0]}){_ties(d.get('mover_ties'))}:")
        for mover in d["movers"]:  # all of them: the tie count refers to the last
            old, new = ", ".join(mover["old_neighbours"]), ", ".join(mover["new_neighbours"])
            lines.append(f"    {mover['id']}  {mover['jaccard']:.2f}  old: {old}  new: {new}")
    return lines


def _ties(ties: dict[str, Any] | None) -> str:
    if not ties or ties.get("tied", 0) <= 1:
        return ""
    return (
        f"; {ties['tied']} of {ties['of']} items tie at jaccard {ties['jaccard']:.2f} (the last"
        " shown), ties ordered by how far their old neighbours moved in the new version"
    )


def _structure(d: dict[str, Any]) -> list[str]:
    s, null = d["structure"], d["structure"]["null"]
    lines = [
        "",
        "global structure (null: rows shuffled, n=" + str(null["n"]) + ")",
        f"  linear CKA          {s['cka']:.4f}   null {null['cka']:.4f}",
        f"  debiased CKA        {s['cka_debiased']:.4f}   null {null['cka_debiased']:.4f}",
        f"  Procrustes angle    {s['procrustes_angle']:.4f} rad"
        f"   null {null['procrustes_angle']:.4f}",
        _spearman(s["spearman"]),
    ]
    if "trustworthiness" in s:
        lines.append(
            f"  trustworthiness     {s['trustworthiness']:.4f}   continuity {s['continuity']:.4f}"
            f"   (k={s['trust_k']}, {s['trust_sample']} items; null {null['trustworthiness']:.4f})"
        )
    return lines


def _spearman(sp: dict[str, Any]) -> str:
    scope = "all" if sp.get("exhaustive") else "sampled without replacement"
    return (
        f"  Spearman pair sims  {sp['rho']:.4f} [{sp['ci'][0]:.4f}, {sp['ci'][1]:.4f}] "
        f"over {sp['pairs']} pairs ({scope})   chance {sp['chance']:.4f}"
    )


def _clusters(d: dict[str, Any]) -> list[str]:
    c = d["clusters"]
    if not c:
        return []
    floor = c.get("floor") or {}
    spread = floor.get("ari_cross_range")
    lines = [
        "",
        f"clusters ({c['method']})",
        f"  ARI {c['ari']:.4f}{_spread(spread)} (floor {_maybe(floor.get('ari'))}"
        f"{'; below it' if floor.get('beyond') else ''}, chance p95 "
        f"{c.get('chance_ari_p95', 0.0):.4f})   AMI {c['ami']:.4f} (floor "
        f"{_maybe(floor.get('ami'))}, chance p95 {c.get('chance_ami_p95', 0.0):.4f})",
        f"  agreement over {c['clustered_in_both']} of {c.get('n_items', '?')} items clustered "
        f"in both; noise {c['noise_old']:.0%} old, {c['noise_new']:.0%} new",
        f"  beyond the floor: split {len(c['split'])}   merged {len(c['merged'])}   new "
        f"{len(c['new'])}   vanished {len(c['vanished'])}   of {c['n_clusters_old']} → "
        f"{c['n_clusters_new']} clusters",
    ]
    within = c.get("within_floor") or {}
    if any(within.values()):
        counts = "   ".join(f"{name} {count}" for name, count in within.items())
        lines.append(f"  within the floor (clusters a reseed does not reproduce): {counts}")
    return lines


def _by_label(d: dict[str, Any]) -> list[str]:
    """Which labels kept their neighbours and got sharper or blurrier (purity old → new)."""
    rows = d.get("by_label") or []
    if not rows:
        return []
    width = max(len(str(r["label"])) for r in rows)
    lines = ["", f"by label (k={rows[0]['k']}: label purity old → new, neighbours kept)"]
    for r in rows:
        trend = "sharper" if r["change"] > 0 else "blurrier" if r["change"] < 0 else "same"
        lines.append(
            f"  {r['label']!s:<{width}}  {r['count']:>5} items  purity {r['purity_a']:.3f} → "
            f"{r['purity_b']:.3f} ({r['change']:+.3f}, {trend}; chance {r['chance']:.3f})  "
            f"kept {r['overlap']:.0%}"
        )
    return lines


def _tasks(d: dict[str, Any]) -> list[str]:
    """Which version is better on the tasks both were evaluated on (``embver eval``)."""
    rows = [r for r in d.get("tasks") or [] if r.get("sentence")]
    if not rows:
        return []
    lines = ["", "tasks (recorded by embver eval; B − A, paired 95% interval)"]
    return lines + [
        f"  {r['task']}: {r['sentence']}  "
        f"(A {r['a']:.3f}, B {r['b']:.3f}, chance {r['chance']:.3f})"
        for r in rows
    ]


def _spread(spread: list[float] | None) -> str:
    return "" if not spread else f" [{spread[0]:.4f}, {spread[1]:.4f} over seed pairings]"


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _same_space(d: dict[str, Any]) -> list[str]:
    s = d["same_space"]
    if not s:
        return ["", "same-space scores: not applicable (dimension or metric differ)"]
    hit = s["self_hit_at_1"]
    return [
        "",
        "same space",
        f"  per-item cosine     {_summary(s['cosine'])}"
        f"   random pairs {s['cosine_random_pairs']['mean']:.3f}",
        f"  CR@{s['cr_k']:<16} {_summary(s['cr_at_k'])}   chance {s['cr_chance']:.4f}",
        f"  self-hit@1          {hit['mean']:.3f} [{hit['ci_low']:.3f}, {hit['ci_high']:.3f}]"
        f"   chance {s['self_hit_chance']:.4f}",
    ]


def _migration(d: dict[str, Any]) -> list[str]:
    m = d["migration"]
    if not m:
        return []
    lines = [
        "",
        f"migration maps (retention of recall@{m['k']}; re-embed = 1; {m['n_train']} train, "
        f"{m.get('n_validation', 0)} validation items choose the best map (*), which is "
        "refitted on train + validation: the 'refit' rows, as reported and stored)",
        f"  {'':<21} {'validation':>10}   {'test pool of ' + str(m['n_holdout']):>28}"
        f"   {'all ' + str(m.get('n_items', '?')) + ' items':>28}",
    ]
    best = {(b["direction"], b["kind"]) for b in (m["best_old_to_new"], m["best_new_to_old"]) if b}
    for score in m["scores"]:
        mark = "*" if (score["direction"], score["kind"]) in best else " "
        lines.append(
            f"  {score['direction']:<9} {score['kind']:<10}{mark} "
            f"{score.get('validation', 0):10.4f}"
            f"   {score['retention']:.4f} [{score['ci_low']:.4f}, {score['ci_high']:.4f}]"
            f"   {score.get('retention_full', 0):.4f} [{score.get('full_ci_low', 0):.4f}, "
            f"{score.get('full_ci_high', 0):.4f}]"
        )
    for best in (m["best_old_to_new"], m["best_new_to_old"]):
        if best and m.get("best_refit_on"):
            lines.append(
                f"  {best['direction']:<9} {best['kind']:<10}* {'refit':>10}   "
                f"{best['retention']:.4f} [{best['ci_low']:.4f}, {best['ci_high']:.4f}]   "
                f"{best['retention_full']:.4f} [{best['full_ci_low']:.4f}, "
                f"{best['full_ci_high']:.4f}]"
            )
    lines.append(
        f"  chance {'':<24}   {m.get('chance', 0):28.4f}   {m.get('chance_full', 0):28.4f}"
    )
    return lines


def render_text(d: dict[str, Any]) -> str:
    """Render a comparison dict as aligned plain text."""
    lines = _header(d) + _neighbourhood(d) + _structure(d) + _clusters(d)
    lines += _same_space(d) + _migration(d) + _by_label(d) + _tasks(d)
    timings = "  ".join(f"{name} {secs:.2f}s" for name, secs in d["timings"].items())
    lines += ["", f"timings: {timings}"]
    return "\n".join(lines)
