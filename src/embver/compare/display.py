"""What a comparison shows in a notebook: headline figures with chance levels, the verdict,
the items that moved most, the per-label breakdown and the task figures (as tables).

Works on the dict of :meth:`embver.compare.Comparison.to_dict` so a stored or re-read
comparison displays the same way.
"""

from __future__ import annotations

from typing import Any

from embver.compare.figures import comparison_figures
from embver.core.display import Part, Table, Text


def comparison_title(d: dict[str, Any]) -> str:
    dims, queries = d["dims"], ("sampled queries" if d["sampled"] else "every item a query")
    return (
        f"Comparison {d['old']} → {d['new']}: {d['n_shared']} shared items, dims "
        f"{dims[0]} → {dims[1]}, {queries}, seed {d['seed']}"
    )


def comparison_parts(d: dict[str, Any]) -> list[Part]:
    """The tables, most telling first; sections that do not apply are left out."""
    parts: list[Part] = _verdict(d.get("verdict"))
    parts.append(_figures(d))
    parts += _movers(d) + _by_label(d) + _tasks(d) + _only(d)
    return parts


def _verdict(verdict: dict[str, Any] | None) -> list[Part]:
    if not verdict:
        return []
    reasons = "; ".join(str(r) for r in verdict.get("reasons") or [])
    return [Text(f"verdict: {verdict.get('label', '—')}" + (f" ({reasons})" if reasons else ""))]


def _interval(value: object) -> str | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"[{float(value[0]):.3f}, {float(value[1]):.3f}]"
    return None


def _figures(d: dict[str, Any]) -> Table:
    rows = [
        (f["name"], f["value"], _interval(f["interval"]), f["chance"], f["note"])
        for f in comparison_figures(d)
    ]
    return Table(
        ("figure", "value", "95% interval", "chance / null", "note"), rows, title="figures"
    )


def _movers(d: dict[str, Any]) -> list[Part]:
    movers = d.get("movers") or []
    if not movers:
        return []
    rows = [(m["id"], m["jaccard"], m["old_neighbours"], m["new_neighbours"]) for m in movers]
    k = d["ks"][0] if d.get("ks") else "?"
    title = f"most changed items (Jaccard of the k={k} neighbours)"
    return [Table(("item", "jaccard", "neighbours before", "neighbours after"), rows, title)]


def _by_label(d: dict[str, Any]) -> list[Part]:
    rows = d.get("by_label") or []
    if not rows:
        return []
    table_rows = [
        (r["label"], r["count"], r["purity_a"], r["purity_b"], f"{r['change']:+.3f}",
         r["chance"], f"{r['overlap']:.0%}")
        for r in rows
    ]  # fmt: skip
    columns = ("label", "items", "purity A", "purity B", "change", "chance", "neighbours kept")
    return [Table(columns, table_rows, title=f"by label (k={rows[0]['k']})")]


def _tasks(d: dict[str, Any]) -> list[Part]:
    rows = [r for r in d.get("tasks") or [] if r.get("sentence")]
    if not rows:
        return []
    table_rows = [(r["task"], r["a"], r["b"], r["chance"], r["sentence"]) for r in rows]
    title = "tasks (B − A, paired 95% interval)"
    return [Table(("task", "A", "B", "chance", "which is better"), table_rows, title)]


def _only(d: dict[str, Any]) -> list[Part]:
    lines = [
        f"{d[side]['count']} items only in {d[name]} (e.g. {', '.join(d[side]['examples'][:5])})"
        for side, name in (("only_old", "old"), ("only_new", "new"))
        if d[side]["count"]
    ]
    return [Text(line) for line in lines]
