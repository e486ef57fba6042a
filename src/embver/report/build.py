"""Assemble and write the static comparison report of two versions.

The page is one HTML file with inline CSS and JavaScript and no network
requests. Per-point data (coordinates, cluster and label codes, k-NN overlap)
travel as base64 typed arrays; only the item texts and ids are JSON strings.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.project.align import displacement, shared_positions
from embver.project.api import cluster_summaries, project
from embver.project.cluster import cluster_name
from embver.report.figures import comparison_figures, fallback_movers
from embver.report.pack import pack_array, quantize_unit
from embver.store.files import output_path, writing

if TYPE_CHECKING:
    from embver.project.projection import Projection
    from embver.store import Store, Version

TEXT_CHARS = 200


@dataclass
class ReportFile:
    """Where a report went and what it weighs."""

    path: str | None
    bytes: int
    points: int
    seconds: float

    @property
    def bytes_per_point(self) -> float:
        return self.bytes / max(self.points, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "bytes": self.bytes,
            "points": self.points,
            "bytes_per_point": round(self.bytes_per_point, 1),
            "seconds": round(self.seconds, 2),
        }


def write_report(
    store: Store, a: str, b: str, path: str | os.PathLike[str], **options: Any
) -> ReportFile:
    """Write the report comparing version ``a`` (old) with ``b`` (new) to ``path``."""
    started = time.perf_counter()
    target = output_path(path)  # before the work: a missing folder is found at once
    html, points = build_report(store, a, b, **options)
    with writing(target):
        target.write_text(html, encoding="utf-8")
    return ReportFile(str(target), target.stat().st_size, points, time.perf_counter() - started)


def build_report(
    store: Store,
    a: str,
    b: str,
    method: str = "umap",
    seed: int = 0,
    k: int = 10,
    comparison: dict[str, Any] | None = None,
    **project_params: Any,
) -> tuple[str, int]:
    """The report's HTML and its number of points.

    ``comparison`` is the dict of ``Comparison.to_dict()``; by default it is
    computed with ``embver.compare.api.compare``. Without it the figures
    section says why and the rest of the report stands.
    """
    va, vb = store.get(a), store.get(b)
    pa = project(store, va, method=method, dims=2, seed=seed, **project_params)
    pb = project(store, vb, method=method, dims=2, seed=seed, align_to=va, **project_params)
    error = None
    if comparison is None:
        comparison, error = _compare(store, va, vb, seed)
    data = _report_data(store, va, vb, pa, pb, comparison, k)
    data["comparison_error"] = error
    return render(data), int(data["n"])


def _compare(
    store: Store, va: Version, vb: Version, seed: int
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        from embver.evaluate.api import compare_with_labels as compare
    except ImportError as exc:  # the comparison engine is optional for the report
        return None, f"comparison unavailable: {exc}"
    try:
        return compare(store, va, vb, seed=seed).to_dict(), None
    except Exception as exc:
        return None, f"comparison failed: {type(exc).__name__}: {exc}"


def _report_data(
    store: Store,
    va: Version,
    vb: Version,
    pa: Projection,
    pb: Projection,
    comparison: dict[str, Any] | None,
    k: int,
) -> dict[str, Any]:
    ids = list(pa.ids) + [i for i in pb.ids if i not in set(pa.ids)]
    n = len(ids)
    row_a = np.arange(len(pa.ids))
    row_b, _ = shared_positions(ids, pb.ids)
    where_b = {item: r for r, item in enumerate(pb.ids)}
    in_b = np.asarray([where_b[i] for i in ids if i in where_b])
    items = store.items(va.space, ids=ids)
    overlap, shared_ids = per_item_overlap(va, vb, k)
    label_names, label_codes = _label_codes(items)
    arrays = _arrays(n, pa, pb, row_a, row_b, in_b, label_codes, ids, overlap, shared_ids)
    texts = [_short(t) for t in items["text"].tolist()] if "text" in items else [""] * n
    movers = (comparison or {}).get("movers") or fallback_movers(va, vb, k)
    summaries_a = [s.to_dict() for s in cluster_summaries(store, pa)]
    summaries_b = [s.to_dict() for s in cluster_summaries(store, pb)]
    return {
        "a": va.ref,
        "b": vb.ref,
        "n": n,
        "method": pa.method,
        "dims": 2,
        "seed": pa.seed,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "counts": {"a": len(pa.ids), "b": len(pb.ids), "shared": len(shared_ids)},
        "verdict": vb.verdict,
        "figures": comparison_figures(comparison),
        "arrays": arrays,
        "ids": ids,
        "texts": texts,
        "labels": label_names,
        "clusterNamesA": _cluster_names(summaries_a),
        "clusterNamesB": _cluster_names(summaries_b),
        "clustersA": summaries_a,
        "clustersB": summaries_b,
        "flow": cluster_flow(pa, pb, summaries_a, summaries_b),
        "movers": movers,
        "moverTexts": _mover_texts(movers, ids, texts),
        "displacement": {
            "median": float(np.median(displacement(pb.coords, pb.ids, pa.coords, pa.ids)))
        },
        "byLabel": (comparison or {}).get("by_label") or [],
        "tasks": (comparison or {}).get("tasks") or _recorded(store, va, vb),
    }


def _recorded(store: Store, va: Version, vb: Version) -> list[dict[str, Any]]:
    """The task figures of A and B with B − A (used when no comparison could be made)."""
    from embver.evaluate.api import recorded_differences

    return recorded_differences(store, va, vb)


def _arrays(
    n: int,
    pa: Projection,
    pb: Projection,
    row_a: np.ndarray,
    row_b: np.ndarray,
    in_b: np.ndarray,
    label_codes: np.ndarray,
    ids: list[str],
    overlap: np.ndarray,
    shared_ids: list[str],
) -> dict[str, Any]:
    coords_a = np.full((n, 2), np.nan, dtype=np.float32)
    coords_b = np.full((n, 2), np.nan, dtype=np.float32)
    coords_a[row_a] = pa.coords[:, :2]
    coords_b[row_b] = pb.coords[in_b, :2]
    clusters_a = np.full(n, -1, dtype=np.int16)
    clusters_b = np.full(n, -1, dtype=np.int16)
    clusters_a[row_a] = pa.clusters
    clusters_b[row_b] = pb.clusters[in_b]
    overlap_all = np.full(n, np.nan)
    rows_shared, _ = shared_positions(ids, shared_ids)
    overlap_all[rows_shared] = overlap
    return {
        "ax": pack_array(coords_a[:, 0], "float32"),
        "ay": pack_array(coords_a[:, 1], "float32"),
        "bx": pack_array(coords_b[:, 0], "float32"),
        "by": pack_array(coords_b[:, 1], "float32"),
        "clusterA": pack_array(clusters_a, "int16"),
        "clusterB": pack_array(clusters_b, "int16"),
        "label": pack_array(label_codes, "uint16"),
        "overlap": pack_array(quantize_unit(overlap_all, np.isnan(overlap_all)), "uint8"),
    }


def per_item_overlap(va: Version, vb: Version, k: int) -> tuple[np.ndarray, list[str]]:
    """Share of each shared item's k nearest neighbours kept from A to B, and the shared ids."""
    from embver.compare.api import shared_vectors
    from embver.compare.neighbourhood import overlap_scores
    from embver.neighbors import knn

    pairing = shared_vectors(va.store, va, vb)
    k = min(k, len(pairing.ids) - 1)
    nb_a = knn(pairing.x, k, metric=va.metric)
    nb_b = knn(pairing.y, k, metric=vb.metric)
    overlap, _ = overlap_scores(nb_a, nb_b, k)
    return np.asarray(overlap, dtype=np.float64), list(pairing.ids)


def cluster_flow(
    pa: Projection,
    pb: Projection,
    summaries_a: list[dict[str, Any]],
    summaries_b: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Where each of A's clusters went in B (shares of its shared items), split/merge events."""
    from embver.compare.clusters import compare_clusterings, contingency_table

    mine, theirs = shared_positions(pb.ids, pa.ids)
    if len(mine) < 2:
        return None
    old, new = pa.clusters[theirs], pb.clusters[mine]
    result = compare_clusterings(old, new)
    table, rows, cols = contingency_table(old, new)
    names_a = dict(enumerate(_cluster_names(summaries_a)))
    names_b = dict(enumerate(_cluster_names(summaries_b)))
    flow_rows = []
    for r, cluster in enumerate(rows.tolist()):
        size = int(table[r].sum())
        order = np.argsort(-table[r])[:4]
        targets = [
            {"name": names_b.get(int(cols[c]), str(cols[c])), "share": float(table[r, c] / size)}
            for c in order
            if table[r, c] > 0
        ]
        event = "split" if cluster in result.split else ""
        flow_rows.append(
            {
                "name": names_a.get(cluster, str(cluster)),
                "size": size,
                "to": targets,
                "event": event,
            }
        )
    return {
        "ari": result.ari,
        "ami": result.ami,
        "chance_ari_p95": result.chance_ari_p95,
        "chance_ami_p95": result.chance_ami_p95,
        "clustered_in_both": result.clustered_in_both,
        "n_items": result.n_items,
        "noise_a": result.noise_old,
        "noise_b": result.noise_new,
        "rows": flow_rows,
        "new": [names_b.get(c, str(c)) for c in result.new],
    }


def _cluster_names(summaries: list[dict[str, Any]]) -> list[str]:
    return [cluster_name(s["cluster"], s["top_terms"], s.get("majority_label")) for s in summaries]


def _label_codes(items: Any) -> tuple[list[str], np.ndarray]:
    """Label names, and per-item codes (0 = no label, j + 1 = names[j])."""
    if "label" not in items:
        return [], np.zeros(len(items), dtype=np.uint16)
    values = [None if v is None or v != v else str(v) for v in items["label"].tolist()]
    names = sorted({v for v in values if v is not None})
    code = {name: j + 1 for j, name in enumerate(names)}
    return names, np.asarray([code.get(v, 0) if v else 0 for v in values], dtype=np.uint16)


def _mover_texts(movers: list[dict[str, Any]], ids: list[str], texts: list[str]) -> dict[str, str]:
    text_of = dict(zip(ids, texts, strict=False))
    wanted = {m["id"] for m in movers}
    for m in movers:
        wanted.update(m.get("old_neighbours", []))
        wanted.update(m.get("new_neighbours", []))
    return {i: text_of.get(i, "") for i in wanted}


def _short(text: Any) -> str:
    if text is None or text != text:
        return ""
    text = " ".join(str(text).split())
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def render(data: dict[str, Any]) -> str:
    """Fill the page template with ``data`` (JSON, safe inside a script element)."""
    template = resources.files("embver.report").joinpath("template.html").read_text("utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")
    title = f"{data['a']} → {data['b']}".replace("<", "&lt;").replace(">", "&gt;")
    return template.replace("__TITLE__", title).replace("__DATA__", payload)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
