"""The UI's read model: what the pages show, computed from a store and cached.

Everything here calls typed functions: the store's API (``store.get``,
``store.items``), :func:`embver.project.api.project` / ``drift`` and
:func:`embver.compare.api.compare`; it returns plain data, and
:mod:`embver.server.app` turns it into HTTP.
Per-version state (ids, items, layouts, vectors) is cached in memory, keyed by
the version's id, because versions are immutable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from embver.errors import InvalidInputError
from embver.neighbors import canonical_metric, knn, prepare
from embver.project.api import cached_projection, project
from embver.project.api import drift as project_drift
from embver.project.layout import METHODS, SampledAxes, sample_rows, sampled_pca_layout
from embver.server.layouts import LayoutJob, LayoutJobs

if TYPE_CHECKING:
    import pandas as pd

    from embver.compare.comparison import Comparison
    from embver.project.projection import Projection
    from embver.store import Store, Version

T = TypeVar("T")

#: a layout method beyond the project's own is refused before any work starts
LAYOUT_METHODS = METHODS
#: above this many items the UI lays a version out by PCA unless asked otherwise (UMAP of
#: 1M items takes minutes on 2 cores, computed in the background: the page shows a quick
#: PCA meanwhile)
UMAP_DEFAULT_LIMIT = 2_000_000
#: the quick layout's PCA axes are fitted on this many sampled rows; a bigger version's
#: first frame (the preview) draws just those rows
QUICK_SAMPLE = 10_000
#: per-item k-NN overlap of a comparison is computed exactly up to this many items
OVERLAP_LIMIT = 200_000
OVERLAP_K = 10
PALETTE_SIZE = 20
#: cluster names (top terms) are found on at most this many items' texts: the legend
#: comes with the first frame, and c-TF-IDF of a million texts would hold it back
NAME_SAMPLE = 50_000


@dataclass
class VersionView:
    """Cached per-version data, each part loaded once, on first use (ids included)."""

    version: Version
    _cache: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _making: dict[str, threading.RLock] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """Item ids in stored order (read and checked on first use: the preview needs none)."""
        return self.cached("ids", lambda: self.version.ids)

    @property
    def index(self) -> dict[str, int]:
        """Item id → position (built on first use: a million entries cost a second)."""
        return self.cached("index", lambda: {item: n for n, item in enumerate(self.ids)})

    def peek(self, key: str) -> Any:
        """The cached value of ``key``, or None; never computes, never waits on a computation."""
        return self._cache.get(key)

    def cached(self, key: str, make: Callable[[], T]) -> T:
        """The value of ``key``, made once: concurrent callers of a key wait for its one
        computation, not for other keys' (the preview does not queue behind the ids)."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            making = self._making.setdefault(key, threading.RLock())
        with making:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            value = make()
            with self._lock:
                self._cache[key] = value
            return value


class UIData:
    """Read model of a store for the UI (thread-safe, cached per version)."""

    def __init__(self, store: Store, default_method: str | None = None) -> None:
        self.store = store
        self._default_method = default_method
        self._views: dict[int, VersionView] = {}
        self._lock = threading.Lock()
        self._pairs: dict[tuple[int, int, str], Any] = {}
        self.jobs = LayoutJobs(store)

    # -- versions ----------------------------------------------------------
    def view(self, ref: str) -> VersionView:
        version = self.store.get(ref)
        with self._lock:
            cached = self._views.get(version.id)
        if cached is not None:
            return cached
        made = VersionView(version=version)
        with self._lock:
            return self._views.setdefault(version.id, made)

    def items(self, view: VersionView) -> pd.DataFrame:
        """The item table aligned with ``view.ids``."""

        def load() -> pd.DataFrame:
            frame = self.store.items(view.version.space, ids=view.ids)
            if "id" in frame.columns:
                frame = frame.set_index("id", drop=False).reindex(view.ids)
            return frame.reset_index(drop=True)

        return view.cached("items", load)

    def vectors(self, view: VersionView) -> np.ndarray:
        return view.cached("vectors", lambda: np.asarray(view.version.vectors(), np.float32))

    def prepared(self, view: VersionView) -> np.ndarray:
        """The vectors (n, d) as the version's metric searches them: unit rows for cosine.

        :func:`embver.neighbors.prepare`, once per version: normalising a million
        rows per click would cost more than the search (dot and l2 share :meth:`vectors`).
        """
        return view.cached("prepared", lambda: prepare(self.vectors(view), view.version.metric))

    def default_method(self, view: VersionView) -> str:
        if self._default_method:
            return self._default_method
        return "umap" if view.version.count <= UMAP_DEFAULT_LIMIT else "pca"

    def method_of(self, view: VersionView, method: str | None) -> str:
        """``method`` (or the default) checked against the layout methods."""
        method = (method or self.default_method(view)).lower()
        if method not in LAYOUT_METHODS:
            raise InvalidInputError(
                f"layout method {method!r} is unknown; use one of {LAYOUT_METHODS}"
            )
        return method

    def layout(self, view: VersionView, method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """2-D coordinates (n, 2) and cluster labels (n,) in ``view.ids`` order.

        Waits for the full projection (the background job the version page started, or
        a new one); the store caches it, so `embver project` and the report read it too.
        """
        method = self.method_of(view, method)
        key = f"layout:{method}"
        found = view.peek(key)
        if found is not None:
            return found
        # waited for outside the view's lock: the quick layout and the item table of the
        # same version stay available meanwhile
        result = self.full_job(view, method).result()
        return view.cached(key, lambda: result)

    def full_job(self, view: VersionView, method: str) -> LayoutJob:
        """The job computing (or holding) the full projection; started if there is none.

        A projection the store already holds becomes a finished job at once.
        """
        return self._known_job(view, method) or self.jobs.start(view.version, method)

    def _known_job(self, view: VersionView, method: str) -> LayoutJob | None:
        """The running or finished job, or one made of the store's cached projection; or None."""
        job = self.jobs.get(view.version, method)
        if job is not None and job.stage != "failed":
            return job
        cached = cached_projection(self.store, view.version, method=method, dims=2, seed=0)
        if cached is None:
            return None
        coords, clusters = _coords_and_clusters(cached)
        return self.jobs.finished(view.version, method, coords, clusters)

    def layout_now(self, view: VersionView, method: str | None = None) -> tuple[np.ndarray, str]:
        """The best layout (n, 2) there is now and its stage: ``"full"`` or ``"quick"``.

        Never waits for a projection: when the full one is not ready, its job is
        started (once) and the quick layout, PCA axes fitted on a sample, is returned.
        """
        method = self.method_of(view, method)
        found = view.peek(f"layout:{method}")
        if found is not None:
            return found[0], "full"
        job = self._known_job(view, method)
        if job is None:
            # the quick layout before the job starts: they would compete for the cores
            quick = self.quick_layout(view)
            job = self.full_job(view, method)
            return (job.coords, "full") if job.coords is not None else (quick, "quick")
        if job.coords is not None:
            return job.coords, "full"
        return self.quick_layout(view), "quick"

    def first_frame(
        self, view: VersionView, method: str | None = None
    ) -> tuple[np.ndarray, str, np.ndarray | None]:
        """What the page draws first: ``(coords (k, 2), stage, rows (k,) or None)``.

        The full layout when it is ready (stage ``"full"``); else, for a version of more
        than :data:`QUICK_SAMPLE` items, the :meth:`preview` of the sampled rows (stage
        ``"preview"``, unverified); else the quick layout of every row (:meth:`layout_now`).
        Either way the full projection's job starts (once the preview is computed: the
        worker's imports would take the cores its read and fit wait for). The job's own
        read of the vectors is checked against the content hash, so a damaged version's
        job fails there and nothing of it is laid out or cached, while the page's checked
        read of every row withdraws the preview.
        """
        method = self.method_of(view, method)
        found = view.peek(f"layout:{method}")
        if found is not None:
            return found[0], "full", None
        job = self._known_job(view, method)
        if job is not None and job.coords is not None:
            return job.coords, "full", None
        if view.version.count <= QUICK_SAMPLE:
            coords, stage = self.layout_now(view, method)
            return coords, stage, None
        rows, coords = self.preview(view)
        # the full layout starts now, while the page draws the preview and reads every row:
        # waiting for that checked read (~2 s on a cold 100k page) delayed it as much
        self.full_job(view, method)
        return coords, "preview", rows

    def preview(self, view: VersionView) -> tuple[np.ndarray, np.ndarray]:
        """The rows (k,) the quick layout's axes are fitted on, and their coords (k, 2).

        The same rows, axes and coordinates as :meth:`quick_layout` (up to float32
        rounding), read with :meth:`Version.peek_rows`: ~10 % of the data, **without**
        the content-hash check, which the quick layout's full read makes.
        """

        def make() -> tuple[np.ndarray, np.ndarray]:
            rows = sample_rows(view.version.count, QUICK_SAMPLE)
            sampled = np.asarray(view.version.peek_rows(rows), dtype=np.float32)
            axes = SampledAxes.fit(sampled, dims=2, metric=self._quick_metric(view))
            return rows, axes.project(sampled)

        return view.cached("preview", make)

    def _quick_metric(self, view: VersionView) -> str:
        return "cosine" if canonical_metric(view.version.metric) == "cosine" else "euclidean"

    def quick_layout(self, view: VersionView) -> np.ndarray:
        """PCA of the (normalised) vectors, axes fitted on a sample; float32 (n, 2)."""
        return view.cached(
            "layout:quick",
            lambda: sampled_pca_layout(
                self.vectors(view), dims=2, metric=self._quick_metric(view), sample=QUICK_SAMPLE
            ),
        )

    def layout_status(self, view: VersionView, method: str | None = None) -> dict[str, Any]:
        """The full projection's progress: :meth:`LayoutJob.status` (starting it if needed)."""
        method = self.method_of(view, method)
        job = self.jobs.get(view.version, method)
        if job is None:
            found = view.peek(f"layout:{method}")
            if found is not None:
                job = self.jobs.finished(view.version, method, found[0], found[1])
        if job is not None and job.stage == "failed":
            return job.status()  # not restarted by polling: the next layout request does
        return (job or self.full_job(view, method)).status()

    # -- colours -------------------------------------------------------------
    def colour_codes(
        self, view: VersionView, by: str, method: str | None, wait: bool = True
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Per-point category codes and a legend for ``by`` in cluster|label|meta:<key>, or
        ``default``: the labels when the items have any, else the clusters.

        With ``wait=False`` clusters that are still being computed come back as one
        category and a legend marked ``"pending": True`` (the page asks again later).
        """
        if by == "default":
            labels = _column(self.items(view), "label")
            by = (
                "label"
                if any(label is not None and label == label for label in labels)
                else "cluster"
            )
        if by == "cluster":
            if not wait and not self._clusters_ready(view, method):
                n = view.version.count
                pending = {"name": "clusters: computing…", "count": n}
                legend = {"title": "cluster", "kind": "categorical", "categories": [pending]}
                return np.zeros(n, np.int64), {**legend, "pending": True}
            _, clusters = self.layout(view, method)
            names = self.cluster_names(view, method)
            return categorical_codes(clusters, title="cluster", name=lambda c: names[int(c)])
        items = self.items(view)
        if by == "label":
            return categorical_codes(_column(items, "label"), title="label")
        if by.startswith("meta:"):
            key = by[5:]
            values = [
                (m or {}).get(key) if isinstance(m, dict) else None
                for m in _column(items, "metadata")
            ]
            return categorical_codes(values, title=key)
        if by == "none":
            return np.zeros(len(view.ids), np.int64), {
                "title": "",
                "kind": "none",
                "categories": [],
            }
        raise InvalidInputError(
            f"colour by {by!r} is unknown; use cluster, label, none or meta:<key>"
        )

    def _clusters_ready(self, view: VersionView, method: str | None) -> bool:
        """Whether the clusters are computed; starts nothing (the layout request does)."""
        method = self.method_of(view, method)
        if view.peek(f"layout:{method}") is not None:
            return True
        job = self._known_job(view, method)
        return job is not None and job.stage == "full"

    def cluster_names(self, view: VersionView, method: str | None) -> dict[int, str]:
        """Cluster → its name in the report: "3: river, boat, fish" (c-TF-IDF top terms)."""
        method = (method or self.default_method(view)).lower()
        _, clusters = self.layout(view, method)

        def make() -> dict[int, str]:
            from embver.project.cluster import cluster_name, cluster_names

            items = self.items(view)
            rows = _name_sample(len(clusters)).tolist()
            texts, labels = _column(items, "text"), _column(items, "label")
            names = cluster_names(
                clusters[rows], [texts[n] for n in rows], [labels[n] for n in rows]
            )
            # a cluster too small to be drawn into the sample still gets a name
            return {
                int(c): names.get(int(c)) or cluster_name(int(c), []) for c in np.unique(clusters)
            }

        return view.cached(f"cluster-names:{method}", make)

    def metadata_keys(self, view: VersionView, sample: int = 2000) -> list[str]:
        """Metadata fields seen among the first ``sample`` items."""
        items = self.items(view)
        if "metadata" not in items.columns:
            return []
        keys: set[str] = set()
        for meta in items["metadata"].iloc[:sample].tolist():
            if isinstance(meta, dict):
                keys.update(str(k) for k in meta)
        return sorted(keys)

    # -- items ---------------------------------------------------------------
    def item(self, view: VersionView, position: int) -> dict[str, Any]:
        if not 0 <= position < len(view.ids):
            raise InvalidInputError(f"point {position} is out of range 0..{len(view.ids) - 1}")
        row = self.items(view).iloc[position]
        uri = _clean(row.get("uri"))
        return {
            "index": position,
            "id": view.ids[position],
            "text": _clean(row.get("text")),
            "label": _clean(row.get("label")),
            "has_image": bool(uri),
            "metadata": _clean(row.get("metadata")) or {},
        }

    def search(self, view: VersionView, query: str, limit: int = 1000) -> list[int]:
        """Positions of items whose id, text, label or metadata contain ``query`` (any case)."""
        query = query.strip().lower()
        if not query:
            return []

        def haystack() -> list[str]:
            items = self.items(view)
            columns = [_column(items, name) for name in ("text", "label", "metadata")]
            return [
                " ".join([view.ids[n]] + [str(c[n]) for c in columns if c[n] is not None]).lower()
                for n in range(len(view.ids))
            ]

        texts = view.cached("haystack", haystack)
        return [n for n, text in enumerate(texts) if query in text][:limit]

    def neighbours(self, view: VersionView, position: int, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` nearest items of a point in the full-dimensional space, with scores."""
        if not 0 <= position < len(view.ids):
            raise InvalidInputError(f"point {position} is out of range 0..{len(view.ids) - 1}")
        k = max(1, min(int(k), 100, len(view.ids) - 1))
        if len(view.ids) < 2:
            return []
        # the exact search `embver compare` counts (same ties), and its similarity as score
        from embver.compare.structure import pair_similarities

        vectors, metric = self.prepared(view), canonical_metric(view.version.metric)
        found = knn(vectors, k, query_ids=np.array([position]), metric=metric, prepared=True)[0]
        scores = pair_similarities(vectors, np.full(k, position), found, metric)
        return [
            {**self.item(view, int(n)), "score": float(s)}
            for n, s in zip(found, scores, strict=True)
        ]

    # -- dimensions ----------------------------------------------------------
    def dimension_stats(self, view: VersionView) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            vectors = self.vectors(view)
            std = vectors.std(axis=0)
            total = float((std**2).sum()) or 1.0
            return {
                "dim": int(vectors.shape[1]),
                "mean": vectors.mean(axis=0).round(5).tolist(),
                "std": std.round(5).tolist(),
                "variance_share": ((std**2) / total).round(5).tolist(),
            }

        return view.cached("dimstats", make)

    def dimension_items(self, view: VersionView, dimension: int, count: int = 8) -> dict[str, Any]:
        """Items with the highest and lowest value along one dimension."""
        vectors = self.vectors(view)
        if not 0 <= dimension < vectors.shape[1]:
            raise InvalidInputError(
                f"dimension {dimension} is out of range 0..{vectors.shape[1] - 1}"
            )
        column = vectors[:, dimension]
        order = np.argsort(column, kind="stable")
        pick = lambda rows: [{**self.item(view, int(n)), "value": float(column[n])} for n in rows]  # noqa: E731
        return {
            "dimension": dimension,
            "top": pick(order[::-1][:count]),
            "bottom": pick(order[:count]),
        }

    # -- drift ---------------------------------------------------------------
    def drift(self, view: VersionView, key: str, value: str) -> dict[str, Any]:
        """Drift of the batch ``metadata[key] == value`` against the other items."""
        metas = _column(self.items(view), "metadata")
        batch = [n for n, m in enumerate(metas) if isinstance(m, dict) and str(m.get(key)) == value]
        if not batch or len(batch) == len(view.ids):
            raise InvalidInputError(
                f"batch metadata[{key!r}] == {value!r} selects {len(batch)} of {len(view.ids)} "
                "items; choose a batch that is a proper subset"
            )
        batch_ids = [view.ids[n] for n in batch]
        chosen = set(batch_ids)
        reference = [i for i in view.ids if i not in chosen]
        result = project_drift(self.store, view.version, reference=reference, current=batch_ids)
        return {"batch": batch, **result.to_dict()}

    # -- comparisons ---------------------------------------------------------
    def shared(self, a: VersionView, b: VersionView) -> tuple[np.ndarray, np.ndarray]:
        """Positions in ``a`` and in ``b`` of the items both hold, in ``a``'s order."""
        pos_a = [n for n, i in enumerate(a.ids) if i in b.index]
        pos_b = [b.index[a.ids[n]] for n in pos_a]
        return np.array(pos_a, np.int64), np.array(pos_b, np.int64)

    def comparison(self, a: VersionView, b: VersionView) -> dict[str, Any]:
        key = (a.version.id, b.version.id, "report")
        if key not in self._pairs:
            self._pairs[key] = self._compare(a, b).to_dict()
        return self._pairs[key]

    def _compare(self, a: VersionView, b: VersionView) -> Comparison:
        """The two versions compared as `embver compare` does, per label included."""
        # imported here: the comparison engine pulls in scipy.stats (~1 s) on first use only
        from embver.evaluate.api import compare_with_labels

        return compare_with_labels(self.store, a.version, b.version)

    def overlap(self, a: VersionView, b: VersionView) -> np.ndarray:
        """Per shared item k-NN overlap (|A ∩ B| / k, k=10) in the order of :meth:`shared`."""
        key = (a.version.id, b.version.id, "overlap")
        if key not in self._pairs:
            self._pairs[key] = self._compute_overlap(a, b)
        return self._pairs[key]

    def _compute_overlap(self, a: VersionView, b: VersionView) -> np.ndarray:
        from embver.compare.neighbourhood import overlap_scores

        n = len(self.shared(a, b)[0])
        if n <= OVERLAP_K + 1:
            return np.ones(n)
        lists = self.neighbour_lists(a, b)
        if lists is None:
            return np.full(n, np.nan)
        return overlap_scores(*lists, OVERLAP_K)[0]

    def neighbour_lists(
        self, a: VersionView, b: VersionView
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Each shared item's k=10 nearest shared items in A and in B, two (n_shared, 10)
        arrays of positions in :meth:`shared` order; None when there are too few or too
        many items for exact neighbours."""
        key = (a.version.id, b.version.id, "neighbours")
        if key not in self._pairs:
            self._pairs[key] = self._compute_neighbour_lists(a, b)
        return self._pairs[key]

    def _compute_neighbour_lists(
        self, a: VersionView, b: VersionView
    ) -> tuple[np.ndarray, np.ndarray] | None:
        pos_a, pos_b = self.shared(a, b)
        if not OVERLAP_K + 1 < len(pos_a) <= OVERLAP_LIMIT:
            return None
        # rows of the prepared version are the prepared rows of the shared items
        metric_a, metric_b = canonical_metric(a.version.metric), canonical_metric(b.version.metric)
        old = knn(self.prepared(a)[pos_a], OVERLAP_K, metric=metric_a, prepared=True)
        new = knn(self.prepared(b)[pos_b], OVERLAP_K, metric=metric_b, prepared=True)
        return old, new

    def movers(self, a: VersionView, b: VersionView, count: int) -> dict[str, Any]:
        """The ``count`` shared items whose neighbours changed most, as `embver compare` ranks them.

        Jaccard of the k=10 neighbour lists ranks them and, among equal Jaccard (often
        hundreds at 0), how far each item's old neighbours moved in B (the compare
        package's :func:`~embver.compare.neighbourhood.top_movers` with its
        :func:`~embver.compare.comparison.similarity_gap`).

        Returns ``{"rows": int array (≤ count,) of positions in :meth:`shared` order,
        "jaccard", "similarity_gap": float arrays (n_shared,), "ties": {...}}``, ``ties``
        shaped like :attr:`Comparison.mover_ties`; or no rows, ``ties`` None and a ``note``
        saying why when the shared items are too few or too many for exact neighbours.
        """
        key = (a.version.id, b.version.id, "movers")
        if key not in self._pairs:
            self._pairs[key] = self._mover_measures(a, b)
        measures = self._pairs[key]
        if measures is None:
            note = f"movers need exact neighbours: {OVERLAP_K + 2} to {OVERLAP_LIMIT} shared items"
            return {"rows": np.empty(0, np.int64), "ties": None, "note": note}
        from embver.compare.neighbourhood import mover_ties, top_movers

        jaccard, gap = measures
        rows = top_movers(jaccard, count, tie_break=gap)
        ties = mover_ties(jaccard, rows, OVERLAP_K)
        return {"rows": rows, "jaccard": jaccard, "similarity_gap": gap, "ties": ties}

    def _mover_measures(
        self, a: VersionView, b: VersionView
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per shared item Jaccard at k=10 and similarity gap in B, two (n_shared,) arrays."""
        from embver.compare.comparison import similarity_gap
        from embver.compare.neighbourhood import overlap_scores

        lists = self.neighbour_lists(a, b)
        if lists is None:
            return None
        old, new = lists
        _, pos_b = self.shared(a, b)
        metric = canonical_metric(b.version.metric)
        base = self.prepared(b)[pos_b]
        gap = similarity_gap(base, np.arange(len(pos_b)), old, new, metric)
        return overlap_scores(old, new, OVERLAP_K)[1], gap

    def aligned_layouts(
        self, a: VersionView, b: VersionView, method: str | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Layouts (n_shared, 2) of the shared items in A and in B, B aligned onto A.

        B's layout starts from A's and is Procrustes-fitted onto it on the shared items
        (:func:`embver.project.api.project` with ``align_to``), so the morph moves only
        what changed.
        """
        method = (method or self.default_method(a if len(a.ids) >= len(b.ids) else b)).lower()
        pos_a, pos_b = self.shared(a, b)
        coords_a = self.layout(a, method)[0][pos_a].astype(np.float64)
        coords_b = self._layout_aligned_to(b, a, method)[pos_b].astype(np.float64)
        return coords_a, coords_b

    def _layout_aligned_to(
        self, view: VersionView, reference: VersionView, method: str
    ) -> np.ndarray:
        """``view``'s 2-D layout (n, 2) started from and fitted onto ``reference``'s."""

        def make() -> np.ndarray:
            projection = project(
                self.store, view.version, method=method, dims=2, seed=0, align_to=reference.version
            )
            return _coords_and_clusters(projection)[0]

        return view.cached(f"aligned:{method}:{reference.version.id}", make)


def _coords_and_clusters(projection: Projection) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D projection's coords, float32 (n, 2), and cluster labels, int64 (n,).

    Both are in the version's stored order, which is ``VersionView.ids``.
    """
    coords = np.asarray(projection.coords, dtype=np.float32)[:, :2]
    return coords, np.asarray(projection.clusters, dtype=np.int64)


def categorical_codes(
    values: Any,
    title: str,
    limit: int = PALETTE_SIZE,
    name: Callable[[Any], str] = str,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Codes for the most frequent values; past ``limit`` colours the rest share ``other``.

    ``values`` is a sequence or array of shape (n,); None/NaN/"" count as missing;
    ``name`` turns a value into its legend entry.
    Returns codes of shape (n,) and a legend ``{"title", "kind", "categories"}`` whose
    ``categories[code]`` names each code (``other`` and ``missing`` come last).
    Vectorised (pandas.factorize): a million values take well under a second.
    """
    import pandas as pd

    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        raw, uniques = pd.factorize(values)
    else:
        series = pd.Series(values, dtype=object)
        raw, uniques = pd.factorize(series.where(series != "", None), use_na_sentinel=True)
    counts = np.bincount(raw[raw >= 0], minlength=len(uniques))
    n_missing = int((raw < 0).sum())
    order = sorted(range(len(uniques)), key=lambda u: (-counts[u], name(uniques[u])))
    room = limit - (1 if n_missing else 0)
    kept = order if len(order) <= room else order[: room - 1]
    categories = [{"name": name(uniques[u]), "count": int(counts[u])} for u in kept]
    other, missing = len(kept), len(kept) + (1 if len(kept) < len(order) else 0)
    remap = np.full(len(uniques) + 1, other, np.int64)  # last slot: missing (raw == -1)
    remap[np.asarray(kept, dtype=np.int64)] = np.arange(len(kept))
    remap[-1] = missing
    if len(kept) < len(order):
        categories.append(
            {"name": "other", "count": int(sum(counts[u] for u in order[len(kept) :]))}
        )
    if n_missing:
        categories.append({"name": "missing", "count": n_missing})
    codes = remap[np.where(raw < 0, len(uniques), raw)]
    return codes, {"title": title, "kind": "categorical", "categories": categories}


def _name_sample(n: int, limit: int = NAME_SAMPLE) -> np.ndarray:
    """Rows (≤ limit,) whose texts name the clusters: all, or a seeded sample of a big space."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def overlap_codes(overlap: np.ndarray, bins: int = 11) -> tuple[np.ndarray, dict[str, Any]]:
    """Overlap in [0, 1] as ``bins`` ordered codes (NaN → an extra 'not computed' code)."""
    codes = np.where(
        np.isnan(overlap), bins, np.clip(np.rint(np.nan_to_num(overlap) * (bins - 1)), 0, bins - 1)
    )
    categories = [
        {"name": f"{n / (bins - 1):.1f}", "count": int((codes == n).sum())} for n in range(bins)
    ]
    if np.isnan(overlap).any():
        categories.append({"name": "not computed", "count": int(np.isnan(overlap).sum())})
    return codes.astype(np.int64), {
        "title": f"k-NN overlap (k={OVERLAP_K})",
        "kind": "sequential",
        "categories": categories,
    }


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [_clean(v) for v in frame[name].tolist()]


def _clean(value: Any) -> Any:
    """None for NaN/None; plain Python for numpy scalars."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes, dict, list)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value
    return value
