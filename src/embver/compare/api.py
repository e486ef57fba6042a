"""Store-level comparison and adapters: match two versions by item id, then measure or map.

``store.compare(a, b)`` and ``store.adapter(a, b)`` delegate here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.compare.comparison import Comparison, compare_arrays, largest_k
from embver.compare.maps import MAP_KINDS, Map, map_from_bytes
from embver.compare.migration import fit_migration
from embver.core.display import Part, RichDisplay, Table, Text
from embver.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from embver.store import Store, Version

ADAPTER_KIND = "adapter"
ADAPTER_FIGURES = ("pool", "chance", "retention_full", "n_items", "chance_full")
EXAMPLES = 10


def resolve(store: Store, ref: str | Version) -> Version:
    """A version from a reference ("space@1.2.3", "space@best") or a Version."""
    return store.get(ref) if isinstance(ref, str) else ref


def match_ids(
    old_ids: Sequence[str], new_ids: Sequence[str]
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Shared ids (in the old version's order) and the ids found on one side only."""
    new_set = set(new_ids)
    old_set = set(old_ids)
    shared = [i for i in old_ids if i in new_set]
    only_old = sorted(old_set - new_set)
    only_new = sorted(new_set - old_set)
    return (
        shared,
        {"count": len(only_old), "examples": only_old[:EXAMPLES]},
        {"count": len(only_new), "examples": only_new[:EXAMPLES]},
    )


@dataclass(frozen=True, eq=False)
class Pairing:
    """Two versions matched by item id: the vectors of the n items both hold, row-paired.

    Attributes
    ----------
    old, new : Version
        The versions compared (``a`` and ``b``).
    ids : list of n str
        Ids of the shared items, in the old version's stored order.
    x : float32 array of shape (n, d_old)
        Old vectors of the shared items; row i is item ``ids[i]``.
    y : float32 array of shape (n, d_new)
        New vectors of the same items, in the same order.
    only_old, only_new : dict
        Ids on one side only: ``{"count": int, "examples": first 10 ids}``.
    """

    old: Version
    new: Version
    ids: list[str]
    x: np.ndarray
    y: np.ndarray
    only_old: dict[str, Any]
    only_new: dict[str, Any]


def shared_vectors(store: Store, a: str | Version, b: str | Version) -> Pairing:
    """Resolve both versions and load the vectors of the items they share, aligned by id."""
    old, new = resolve(store, a), resolve(store, b)
    shared, only_old, only_new = match_ids(old.ids, new.ids)
    if len(shared) < 4:
        raise InvalidInputError(
            f"{old.ref} and {new.ref} share {len(shared)} item ids; comparing needs at least 4"
        )
    x = np.asarray(old.vectors(shared), dtype=np.float32)
    y = np.asarray(new.vectors(shared), dtype=np.float32)
    return Pairing(old, new, shared, x, y, only_old, only_new)


def compare(
    store: Store,
    a: str | Version,
    b: str | Version,
    k: int | Sequence[int] = (10, 50),
    sample: int | None = None,
    seed: int = 0,
    *,
    clusters: bool = True,
    migration: bool = True,
    map_kinds: tuple[str, ...] = ("procrustes", "ridge", "mlp"),
    progress: Callable[[str], None] | None = None,
    pairing: Pairing | None = None,
) -> Comparison:
    """Compare version ``a`` (old) with ``b`` (new) over the items they share.

    Parameters
    ----------
    store : Store
    a, b : str or Version
        References such as ``"stop-signs@1.0.0"`` or ``"stop-signs@best"``.
    k : int or sequence of int
        Neighbour counts; those too large for the shared items are dropped (listed
        in ``ks_dropped``), and only when none fits is the comparison refused.
    sample : int, optional
        Query items for the neighbourhood figures (default: all up to 10k, else 10k).
    seed : int
    clusters, migration, map_kinds, progress
        As for :func:`compare_arrays`: whether to compare clusterings and fit migration
        maps, which maps, and a callback told each step's name and what it does.
    pairing : Pairing, optional
        ``shared_vectors(store, a, b)`` when the caller has read it already.
    """
    pairing = pairing or shared_vectors(store, a, b)
    old, new = pairing.old, pairing.new
    kept, dropped = fitting_ks(k, len(pairing.ids))
    report = compare_arrays(
        pairing.x,
        pairing.y,
        ids=pairing.ids,
        metric_old=old.metric,
        metric_new=new.metric,
        k=kept,
        sample=sample,
        seed=seed,
        names=(old.ref, new.ref),
        clusters=clusters,
        migration=migration,
        map_kinds=map_kinds,
        progress=progress,
    )
    report.only_old, report.only_new = pairing.only_old, pairing.only_new
    report.ks_dropped = dropped
    report.verdict = new.verdict if new.parent_id == old.id else None
    report.store = store
    return report


def fitting_ks(k: int | Sequence[int], n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Split neighbour counts into those ``n`` shared items allow and those dropped.

    The defaults (10, 50) suit a few hundred items; a small space keeps what fits
    instead of failing. Values that are not positive integers stay in the first part
    so that :func:`compare_arrays` refuses them by name.
    """
    values = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
    too_large = [
        v
        for v in values
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > largest_k(n)
    ]
    kept = tuple(v for v in values if v not in too_large)
    if too_large and not kept:
        asked = ",".join(str(v) for v in values)
        raise InvalidInputError(
            f"none of k={asked} fits {n} shared items; use k ≤ {largest_k(n)} "
            f"(e.g. --k {max(largest_k(n), 1)})"
        )
    return kept, tuple(sorted({int(v) for v in too_large}))


@dataclass(repr=False)
class Adapter(RichDisplay):
    """A stored map from one version to another; ``transform`` takes source-version vectors."""

    source: str
    target: str
    kind: str
    retention: float
    map: Map
    #: pool, chance, retention_full, chance_full: what the retention is measured against
    figures: dict[str, Any] = field(default_factory=dict)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Map ``vectors`` (m, d_source) into the target version; float32 (m, d_target)."""
        return self.map.transform(vectors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "retention": self.retention,
            **self.figures,
            "dim_in": self.map.dim_in,
            "dim_out": self.map.dim_out,
        }

    def __repr__(self) -> str:
        return (
            f"<Adapter {self.source} → {self.target} ({self.kind}, retention {self.retention:.3f})>"
        )

    def _display_title(self) -> str:
        return f"Adapter {self.source} → {self.target}: {self.kind} map"

    def _display_parts(self) -> list[Part]:
        figures = self.figures
        rows = [
            ("retention (test pool)", self.retention, figures.get("chance"), figures.get("pool")),
            ("retention (full index)", figures.get("retention_full"), figures.get("chance_full"),
             figures.get("n_items")),
        ]  # fmt: skip
        shape = Text(f"maps {self.map.dim_in}-D vectors to {self.map.dim_out}-D; re-embedding = 1")
        return [shape, Table(("figure", "value", "chance", "items"), rows)]


def adapter_key(source: Version, target: Version) -> str:
    return f"{source.id}->{target.id}"


def fit_adapter(
    store: Store,
    a: str | Version,
    b: str | Version,
    kind: str | None = None,
    seed: int = 0,
    k: int = 10,
) -> Adapter:
    """Fit maps from ``a`` to ``b``, keep the best (or ``kind``) and store it as an artifact.

    Retention is measured on held-out items (see :mod:`embver.compare.migration`).
    """
    if kind is not None and kind not in MAP_KINDS:
        raise InvalidInputError(
            f"kind={kind!r} is not a map kind; use one of {', '.join(MAP_KINDS)}"
        )
    pairing = shared_vectors(store, a, b)
    source, target = pairing.old, pairing.new
    kinds = MAP_KINDS if kind is None else (kind,)
    migration = fit_migration(
        pairing.x,
        pairing.y,
        metric_old=source.metric,
        metric_new=target.metric,
        kinds=kinds,
        directions=("old->new",),
        k=k,
        seed=seed,
    )
    best = migration.best("old->new")
    assert best is not None  # at least one kind was fitted
    fitted = migration.maps[(best.kind, "old->new")]
    figures = {
        "pool": migration.n_holdout, "chance": migration.chance(),
        "retention_full": best.retention_full, "n_items": migration.n_items,
        "chance_full": migration.chance_full(),
    }  # fmt: skip
    meta = {
        **figures,
        "source": source.ref,
        "target": target.ref,
        "kind": best.kind,
        "retention": best.retention,
        "ci": [best.ci_low, best.ci_high],
        "scores": [s.to_dict() for s in migration.scores],
        "n_train": migration.n_train,
        "n_holdout": migration.n_holdout,
        "k": k,
        "seed": seed,
    }
    store.artifacts.put(
        ADAPTER_KIND,
        adapter_key(source, target),
        fitted.to_bytes(),
        meta,
        versions=(source.id, target.id),
    )
    return Adapter(source.ref, target.ref, best.kind, best.retention, fitted, figures)


def adapter(store: Store, a: str | Version, b: str | Version) -> Adapter:
    """The stored adapter from ``a`` to ``b``; fit one with :func:`fit_adapter` first."""
    source, target = resolve(store, a), resolve(store, b)
    artifact = store.artifacts.get(ADAPTER_KIND, adapter_key(source, target))
    if artifact is None:
        raise NotFoundError(
            f"no adapter from {source.ref} to {target.ref}; "
            f"run `embver adapter fit {source.ref} {target.ref}` first"
        )
    meta = artifact.meta
    return Adapter(
        source.ref,
        target.ref,
        str(meta["kind"]),
        float(meta["retention"]),
        map_from_bytes(artifact.payload),
        {key: meta[key] for key in ADAPTER_FIGURES if key in meta},
    )
