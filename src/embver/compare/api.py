"""Store-level comparison and adapters: match two versions by item id, then measure or map.

``store.compare(a, b)`` and ``store.adapter(a, b)`` delegate here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.compare.comparison import Comparison, compare_arrays
from embver.compare.maps import MAP_KINDS, Map, map_from_bytes
from embver.compare.migration import fit_migration
from embver.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from embver.store import Store, Version

ADAPTER_KIND = "adapter"
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


def shared_vectors(
    store: Store, a: str | Version, b: str | Version
) -> tuple[Version, Version, list[str], np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
    """Resolve both versions and load the vectors of the items they share, aligned by id."""
    old, new = resolve(store, a), resolve(store, b)
    shared, only_old, only_new = match_ids(old.ids, new.ids)
    if len(shared) < 4:
        raise InvalidInputError(
            f"{old.ref} and {new.ref} share {len(shared)} item ids; comparing needs at least 4"
        )
    return old, new, shared, old.vectors(shared), new.vectors(shared), only_old, only_new


def compare(
    store: Store,
    a: str | Version,
    b: str | Version,
    k: int | Sequence[int] = (10, 50),
    sample: int | None = None,
    seed: int = 0,
    **options: Any,
) -> Comparison:
    """Compare version ``a`` (old) with ``b`` (new) over the items they share.

    Parameters
    ----------
    store : Store
    a, b : str or Version
        References such as ``"stop-signs@1.0.0"`` or ``"stop-signs@best"``.
    k : int or sequence of int
        Neighbour counts.
    sample : int, optional
        Query items for the neighbourhood figures (default: all up to 10k, else 10k).
    seed : int
    options
        Passed to :func:`compare_arrays` (``clusters``, ``migration``, ``map_kinds``).
    """
    old, new, shared, x, y, only_old, only_new = shared_vectors(store, a, b)
    report = compare_arrays(
        x,
        y,
        ids=shared,
        metric_old=old.metric,
        metric_new=new.metric,
        k=k,
        sample=sample,
        seed=seed,
        names=(old.ref, new.ref),
        **options,
    )
    report.only_old, report.only_new = only_old, only_new
    return report


@dataclass
class Adapter:
    """A stored map from one version to another; ``transform`` takes source-version vectors."""

    source: str
    target: str
    kind: str
    retention: float
    map: Map

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Map ``vectors`` (m, d_source) into the target version; float32 (m, d_target)."""
        return self.map.transform(vectors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind,
            "retention": self.retention,
            "dim_in": self.map.dim_in,
            "dim_out": self.map.dim_out,
        }


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
    source, target, _, x, y, _, _ = shared_vectors(store, a, b)
    kinds = MAP_KINDS if kind is None else (kind,)
    migration = fit_migration(
        x,
        y,
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
    meta = {
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
    return Adapter(source.ref, target.ref, best.kind, best.retention, fitted)


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
    )
