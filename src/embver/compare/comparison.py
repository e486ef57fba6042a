"""Comparing two versions of the same items: every figure, in one :class:`Comparison`.

:func:`compare_arrays` works on paired arrays; :func:`embver.compare.api.compare`
matches two stored versions by item id and calls it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from embver.compare import clusters as cluster_mod
from embver.compare.display import comparison_parts, comparison_title
from embver.compare.dropin import cross_retrieval, per_item_cosine, random_pair_cosine
from embver.compare.migration import fit_migration
from embver.compare.neighbourhood import (
    chance_jaccard,
    chance_overlap,
    mover_ties,
    overlap_scores,
    top_movers,
)
from embver.compare.stats import bootstrap_mean_interval, fisher_interval, summarize
from embver.compare.structure import (
    Moments,
    centred_moments,
    linear_cka_from_moments,
    pair_similarities,
    procrustes_from_moments,
    spearman_and_chance,
)
from embver.compare.trust import MAX_ITEMS as TRUST_ITEMS
from embver.compare.trust import chance_trustworthiness, trust_and_continuity
from embver.core.display import Part, RichDisplay
from embver.errors import InvalidInputError
from embver.neighbors import as_float32, canonical_metric, check_paired, knn, prepare

if TYPE_CHECKING:
    from embver.store.store import Store

#: beyond this many items, neighbourhood figures use this many sampled queries
SAMPLE_THRESHOLD: Final = 10_000
PAIRS: Final = 100_000
MOVERS: Final = 10
MOVER_NEIGHBOURS: Final = 5


@dataclass(repr=False)
class Comparison(RichDisplay):
    """A report on two versions over the items they share; see :meth:`to_dict`."""

    old: str
    new: str
    n_shared: int
    dims: tuple[int, int]
    metrics: tuple[str, str]
    ks: tuple[int, ...]
    seed: int
    n_queries: int
    sampled: bool
    only_old: dict[str, Any] = field(default_factory=lambda: {"count": 0, "examples": []})
    only_new: dict[str, Any] = field(default_factory=lambda: {"count": 0, "examples": []})
    neighbourhood: dict[str, Any] = field(default_factory=dict)
    movers: list[dict[str, Any]] = field(default_factory=list)
    mover_ties: dict[str, Any] = field(default_factory=dict)
    structure: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, Any] | None = None
    same_space: dict[str, Any] | None = None
    migration: dict[str, Any] | None = None
    #: wall and CPU (all threads) seconds per step, in the order they ran; the clusters'
    #: layouts run in the background beside the later steps, so ``clusters`` counts the
    #: compare's own time on them (preparing, then any wait at the end) and the CPU seconds
    #: of the steps beside them include theirs
    timings: dict[str, float] = field(default_factory=dict)
    cpu_timings: dict[str, float] = field(default_factory=dict)
    #: requested neighbour counts left out because the shared items are too few for them
    ks_dropped: tuple[int, ...] = ()
    #: per label (when the items have labels): count, label purity in old and new, its
    #: change, the share of neighbours kept and the purity chance level; sharpest loss first
    by_label: list[dict[str, Any]] = field(default_factory=list)
    #: the task figures recorded for both versions (``embver eval``) with B − A, paired
    tasks: list[dict[str, Any]] = field(default_factory=list)
    #: the new version's PATCH verdict when the old version is its parent, else None
    verdict: dict[str, Any] | None = None
    #: the store the versions came from (None for arrays compared directly): the trackers
    #: build the static report from it (:mod:`embver.integrations`)
    store: Store | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "old": self.old,
            "new": self.new,
            "n_shared": self.n_shared,
            "dims": list(self.dims),
            "metrics": list(self.metrics),
            "ks": list(self.ks),
            "ks_dropped": list(self.ks_dropped),
            "seed": self.seed,
            "n_queries": self.n_queries,
            "sampled": self.sampled,
            "only_old": self.only_old,
            "only_new": self.only_new,
            "neighbourhood": self.neighbourhood,
            "movers": self.movers,
            "mover_ties": self.mover_ties,
            "structure": self.structure,
            "clusters": self.clusters,
            "same_space": self.same_space,
            "migration": self.migration,
            "by_label": self.by_label,
            "tasks": self.tasks,
            "verdict": self.verdict,
            "timings": self.timings,
            "cpu_timings": self.cpu_timings,
        }

    def to_text(self) -> str:
        """A readable multi-line rendering."""
        from embver.compare.render import render_text

        return render_text(self.to_dict())

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"<Comparison {self.old} → {self.new}, {self.n_shared} shared items>"

    def _display_title(self) -> str:
        return comparison_title(self.to_dict())

    def _display_parts(self) -> list[Part]:
        return comparison_parts(self.to_dict())


def largest_k(n: int) -> int:
    """The largest neighbour count ``n`` items allow: each item's neighbours exclude
    itself, and chance levels need one more item than the k neighbours and the query."""
    return max(n - 2, 0)


def check_ks(ks: int | Sequence[int], n: int) -> tuple[int, ...]:
    """Validate neighbour counts against n items; return them sorted and unique."""
    values = (ks,) if isinstance(ks, (int, np.integer)) else tuple(ks)
    if not values:
        raise InvalidInputError("k is empty; give at least one neighbour count, e.g. k=(10, 50)")
    for k in values:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidInputError(f"k={k!r} must be a positive integer")
        if k > largest_k(n):
            raise InvalidInputError(
                f"k={k} is too large for {n} shared items; use k ≤ {largest_k(n)}"
            )
    return tuple(sorted({int(k) for k in values}))


def choose_queries(n: int, sample: int | None, seed: int) -> np.ndarray:
    """Rows used as queries: all when n ≤ threshold (or sample ≥ n), else a seeded sample."""
    if sample is not None and (
        isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1
    ):
        raise InvalidInputError(f"sample={sample!r} must be a positive number of queries or None")
    size = (n if n <= SAMPLE_THRESHOLD else SAMPLE_THRESHOLD) if sample is None else min(sample, n)
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


class _Timer:
    """Wall-clock and CPU seconds per step (CPU time reads true cost on a busy machine)."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def step(self, name: str, doing: str = "", again: bool = False) -> Iterator[None]:
        """Time step ``name``; announce it first as "name: what it does" when given.

        ``again`` adds to the step's earlier time (a step resumed later), announcing it
        only when ``doing`` says something.
        """
        if self._progress is not None and (doing or not again):
            self._progress(f"{name}: {doing}" if doing else name)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
            if again:
                seconds += self.seconds.get(name, 0.0)
                cpu_seconds += self.cpu_seconds.get(name, 0.0)
            self.seconds[name] = round(seconds, 4)
            self.cpu_seconds[name] = round(cpu_seconds, 4)


def compare_arrays(
    old: np.ndarray,
    new: np.ndarray,
    *,
    ids: Sequence[str] | None = None,
    metric_old: str = "cosine",
    metric_new: str = "cosine",
    k: int | Sequence[int] = (10, 50),
    sample: int | None = None,
    seed: int = 0,
    names: tuple[str, str] = ("old", "new"),
    clusters: bool = True,
    migration: bool = True,
    map_kinds: tuple[str, ...] = ("procrustes", "ridge", "mlp"),
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Compare two versions of the same n items.

    Parameters
    ----------
    old : array of shape (n, d_old)
    new : array of shape (n, d_new)
        Vectors of the same items, rows paired; dimensions may differ.
    ids : sequence of n str, optional
        Item ids, used to name the items that changed most.
    metric_old, metric_new : {"cosine", "dot", "l2"}
    k : int or sequence of int
        Neighbour counts for the neighbourhood figures.
    sample : int, optional
        Query items for neighbourhood figures; default all up to 10k items,
        10k sampled queries beyond (neighbours are always exact over all items).
    seed : int
        Seeds every sample, bootstrap, clustering and map fit.
    clusters, migration : bool
        Whether to cluster both versions and to fit migration maps.
    progress : callable, optional
        Called as each step starts with its name and what it does, e.g.
        ``"clusters: UMAP + HDBSCAN on 3,000 items, …"`` (the name is what ``timings`` keys).
    """
    old = as_float32(old, "old")
    new = as_float32(new, "new")
    n = check_paired(old, new)
    if ids is not None and len(ids) != n:
        raise InvalidInputError(f"ids has {len(ids)} entries for {n} items")
    ks = check_ks(k, n)
    m_old, m_new = canonical_metric(metric_old), canonical_metric(metric_new)
    queries = choose_queries(n, sample, seed)
    labels = np.asarray(ids if ids is not None else [str(i) for i in range(n)], dtype=object)
    timer = _Timer(progress)
    report = Comparison(
        old=names[0],
        new=names[1],
        n_shared=n,
        dims=(old.shape[1], new.shape[1]),
        metrics=(m_old, m_new),
        ks=ks,
        seed=seed,
        n_queries=int(queries.size),
        sampled=bool(queries.size < n),
    )
    clustering = None
    if clusters:
        # prepared here; their layouts then run in the background beside the steps below
        with timer.step("clusters", _clusters_doing(n)):
            clustering = _start_clusters(old, new, m_old, m_new, seed)
    try:
        with _blas_beside(clustering is not None):
            _other_steps(report, timer, old, new, m_old, m_new, ks, queries, labels, seed,
                         migration, map_kinds)  # fmt: skip
        if clustering is not None:
            waiting = (
                "" if clustering.running.done() else "waiting for the layouts in the background"
            )
            with timer.step("clusters", waiting, again=True):
                report.clusters = clustering.finish()
    finally:
        if clustering is not None:
            clustering.running.cancel()
    report.timings = timer.seconds
    report.cpu_timings = timer.cpu_seconds
    return report


#: the BLAS thread count the compare began with, while its other steps run on one thread
#: beside the clusters' layouts (see :func:`_blas_beside`); None when they run alone
_BLAS_BEFORE: ContextVar[list[dict[str, Any]] | None] = ContextVar("_BLAS_BEFORE", default=None)


@contextmanager
def _blas_beside(background: bool) -> Iterator[None]:
    """One BLAS (and OpenMP) thread for the steps run beside the clusters' two layout
    threads: on two cores a second BLAS thread mostly spins, waiting for a core (3,000
    items, 3 interleaved rounds: 14.9 CPU-s a compare against 16.4 with every step's BLAS
    on two threads). Their figures are the same at any
    thread count but for the moments' float32 sums, which :func:`_moments` computes at the
    count the compare began with, so every figure is that of the steps run alone."""
    if not background:
        yield
        return
    from threadpoolctl import threadpool_info, threadpool_limits

    token = _BLAS_BEFORE.set(threadpool_info())
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        _BLAS_BEFORE.reset(token)


def _moments(x: np.ndarray, y: np.ndarray) -> Moments:
    """:func:`centred_moments`, at the BLAS thread count the compare began with."""
    before = _BLAS_BEFORE.get()
    if before is None:
        return centred_moments(x, y)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=before):
        return centred_moments(x, y)


def _other_steps(
    report: Comparison,
    timer: _Timer,
    old: np.ndarray,
    new: np.ndarray,
    m_old: str,
    m_new: str,
    ks: tuple[int, ...],
    queries: np.ndarray,
    labels: np.ndarray,
    seed: int,
    migration: bool,
    map_kinds: tuple[str, ...],
) -> None:
    """Every step but the clusters, in order, filling ``report``."""
    n = old.shape[0]
    with timer.step(
        "neighbours", f"exact {ks[-1]}-NN of {queries.size:,} queries among {n:,} items"
    ):
        base_old, base_new = prepare(old, m_old), prepare(new, m_new)
        nb_old = knn(base_old, ks[-1], query_ids=queries, metric=m_old, prepared=True)
        nb_new = knn(base_new, ks[-1], query_ids=queries, metric=m_new, prepared=True)
    with timer.step("neighbourhood", "overlap, Jaccard and movers"):
        report.neighbourhood = _neighbourhood(nb_old, nb_new, ks, n, seed)
        report.movers, report.mover_ties = _movers(
            nb_old, nb_new, ks[0], queries, labels, base_new, m_new
        )
    with timer.step("structure", "CKA, Procrustes, Spearman of pairs, trustworthiness"):
        report.structure = _structure(old, new, base_old, base_new, m_old, m_new, ks[0], seed)
    if old.shape[1] == new.shape[1] and m_old == m_new:
        with timer.step("same_space", "per-item cosine and cross-version retrieval"):
            report.same_space = _same_space(old, new, base_old, queries, nb_old, m_old, seed)
    if migration and n >= 2 * (ks[0] + 4):
        with timer.step("migration", f"fitting {', '.join(map_kinds)} maps old → new"):
            fitted = fit_migration(
                old, new, metric_old=m_old, metric_new=m_new, kinds=map_kinds, k=ks[0], seed=seed
            )
            report.migration = fitted.to_dict()


def _neighbourhood(
    nb_old: np.ndarray, nb_new: np.ndarray, ks: tuple[int, ...], n: int, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ks:
        overlap, jaccard = overlap_scores(nb_old, nb_new, k)
        out[str(k)] = {
            "overlap": summarize(overlap, seed=seed).to_dict(),
            "jaccard": summarize(jaccard, seed=seed).to_dict(),
            "chance_overlap": chance_overlap(k, n),
            "chance_jaccard": chance_jaccard(k, n),
        }
    return out


def _movers(
    nb_old: np.ndarray,
    nb_new: np.ndarray,
    k: int,
    queries: np.ndarray,
    labels: np.ndarray,
    base_new: np.ndarray,
    metric_new: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The items whose neighbours changed most, and how many tie at the cut-off.

    Jaccard at k ranks them; among equal Jaccard (often hundreds at 0) the
    item whose old neighbours ended up farthest in the new version comes first.
    """
    _, jaccard = overlap_scores(nb_old, nb_new, k)
    gap = similarity_gap(base_new, queries, nb_old[:, :k], nb_new[:, :k], metric_new)
    rows = top_movers(jaccard, MOVERS, tie_break=gap)
    movers = [
        {
            "id": str(labels[queries[r]]),
            "jaccard": float(jaccard[r]),
            "similarity_gap": float(gap[r]),
            "old_neighbours": [str(x) for x in labels[nb_old[r, :MOVER_NEIGHBOURS]]],
            "new_neighbours": [str(x) for x in labels[nb_new[r, :MOVER_NEIGHBOURS]]],
        }
        for r in rows
    ]
    return movers, mover_ties(jaccard, rows, k)


def similarity_gap(
    vectors: np.ndarray, queries: np.ndarray, old_nb: np.ndarray, new_nb: np.ndarray, metric: str
) -> np.ndarray:
    """Mean new-version similarity of each query to its old neighbours minus to its new ones.

    Parameters
    ----------
    vectors : array of shape (n, d)
        The new version (prepared for ``metric``).
    queries : int array of shape (m,)
    old_nb, new_nb : int arrays of shape (m, k)
        Old and new neighbour lists of the queries.

    Returns
    -------
    float array of shape (m,), ≤ 0: 0 when the old neighbours are as close
    as the new ones, more negative the farther they moved away.
    """
    rows = np.repeat(queries, old_nb.shape[1])
    to_old = pair_similarities(vectors, rows, old_nb.ravel(), metric).reshape(old_nb.shape)
    to_new = pair_similarities(vectors, rows, new_nb.ravel(), metric).reshape(new_nb.shape)
    return np.asarray(to_old.mean(axis=1) - to_new.mean(axis=1))


def _structure(
    old: np.ndarray,
    new: np.ndarray,
    base_old: np.ndarray,
    base_new: np.ndarray,
    m_old: str,
    m_new: str,
    k: int,
    seed: int,
) -> dict[str, Any]:
    # CKA and Procrustes see the vectors as the metric does: cosine spaces are normalised
    x, y = base_old, base_new
    moments = _moments(x, y)
    rng = np.random.default_rng(seed)
    n = old.shape[0]
    sample = np.sort(rng.choice(n, min(n, TRUST_ITEMS), replace=False))
    null = _null_structure(x[sample], y[sample], rng)
    pair_args: dict[str, Any] = {"metric_x": m_old, "metric_y": m_new, "seed": seed, "pairs": PAIRS}
    rho, pairs, chance = spearman_and_chance(old, new, **pair_args)
    tk = min(k, (sample.size - 1) // 2)
    out: dict[str, Any] = {
        "cka": linear_cka_from_moments(moments),
        "cka_debiased": linear_cka_from_moments(moments, debiased=True),
        "procrustes_angle": procrustes_from_moments(moments),
        "spearman": {
            "rho": rho,
            # from the distinct pairs used; pairs sharing items make it a little optimistic
            "ci": list(fisher_interval(rho, pairs)),
            "pairs": pairs,
            "exhaustive": pairs == n * (n - 1) // 2,
            "chance": chance,
        },
        "null": null,
        "trust_sample": int(sample.size),
        "trust_k": int(tk),
    }
    if tk >= 1:
        xs, ys = old[sample], new[sample]
        out["trustworthiness"], out["continuity"] = trust_and_continuity(
            xs, ys, k=tk, metric_x=m_old, metric_y=m_new
        )
        out["null"]["trustworthiness"] = chance_trustworthiness(int(sample.size), tk)
    return out


def _null_structure(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Figures for the same data with pairing destroyed (rows of y shuffled): a noise floor."""
    moments = _moments(x, y[rng.permutation(y.shape[0])])
    return {
        "cka": linear_cka_from_moments(moments),
        "cka_debiased": linear_cka_from_moments(moments, debiased=True),
        "procrustes_angle": procrustes_from_moments(moments),
        "n": int(x.shape[0]),
    }


def _clusters_doing(n: int) -> str:
    """What the clusters step announces: its method, its size, and the one-time JIT."""
    rows = min(n, cluster_mod.CLUSTER_SAMPLE)
    return (
        f"UMAP + HDBSCAN on {rows:,} items, each version twice; their layouts run in the "
        "background beside the next steps (the first run on a machine also compiles the "
        "layout optimiser, a few seconds, cached for later runs)"
    )


@dataclass(frozen=True)
class _PendingClusters:
    """The clusters step under way: four clusterings of ``rows`` in the background."""

    running: cluster_mod.FourClusterings
    rows: np.ndarray
    seed: int

    def finish(self) -> dict[str, Any]:
        """Wait for the clusterings and compare them: the report's ``clusters``."""
        labels_old, labels_new, old_again, new_again = self.running.result()
        result = cluster_mod.compare_clusterings(
            labels_old, labels_new, old_again=old_again, new_again=new_again, seed=self.seed
        ).to_dict()
        result["method"] = (
            f"UMAP(5-d) + HDBSCAN on {self.rows.size} items; floor: each version clustered "
            f"again, coordinates permuted, seed {self.seed + 1}"
        )
        return result


def _start_clusters(
    old: np.ndarray, new: np.ndarray, m_old: str, m_new: str, seed: int
) -> _PendingClusters:
    n = old.shape[0]
    rows = np.arange(n)
    if n > cluster_mod.CLUSTER_SAMPLE:
        rows = np.sort(
            np.random.default_rng(seed).choice(n, cluster_mod.CLUSTER_SAMPLE, replace=False)
        )
    running = cluster_mod.start_four(
        old[rows], new[rows], metric_old=m_old, metric_new=m_new, seed=seed
    )
    return _PendingClusters(running, rows, seed)


def _same_space(
    old: np.ndarray,
    new: np.ndarray,
    base_old: np.ndarray,
    queries: np.ndarray,
    nb_old: np.ndarray,
    metric: str,
    seed: int,
) -> dict[str, Any]:
    cosine = per_item_cosine(old, new)
    noise = random_pair_cosine(old, new, pairs=min(PAIRS, 10 * old.shape[0]), seed=seed)
    k = min(10, nb_old.shape[1])
    cross = cross_retrieval(base_old, new, queries, nb_old, k=k, metric=metric, prepared=True)
    hit = cross.self_hit.astype(np.float64)
    low, high = bootstrap_mean_interval(hit, seed=seed)
    return {
        "cosine": summarize(cosine, seed=seed).to_dict(),
        "cosine_random_pairs": {
            "mean": float(noise.mean()),
            "p95": float(np.percentile(noise, 95)),
        },
        "cr_at_k": summarize(cross.overlap, seed=seed).to_dict(),
        "cr_k": k,
        "cr_chance": k / (old.shape[0] - 1),
        "self_hit_at_1": {"mean": float(hit.mean()), "ci_low": low, "ci_high": high},
        "self_hit_chance": 1 / old.shape[0],
    }
