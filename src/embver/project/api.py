"""Store-level operations: cached, aligned projections of versions, clusters and drift.

Every derived result is kept in ``store.artifacts`` under a key that hashes
what determines it: the version (id, item count, content hash), the method,
its parameters, the seed and the versions of the libraries that compute it.
Asking twice therefore costs one catalog lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.core import fingerprint
from embver.errors import InvalidInputError
from embver.project import align as alignment
from embver.project.cluster import cluster_vectors, summarize_clusters
from embver.project.dimensions import DimensionReport, inspect_dimension
from embver.project.drift import DriftReport, measure_drift
from embver.project.layout import (
    check_layout_params,
    check_layout_request,
    compute_layout,
    prepare_vectors,
    reduce_dimensions,
)
from embver.project.projection import Projection

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from embver.project.layout import LayoutParams
    from embver.store import Store, Version

#: bump when the pipeline changes what it computes, so old cached results are not reused
PIPELINE_REVISION = 6  # 2: parallel seeded UMAP optimiser, IVF k-NN above 20k points
# 3: a layout aligned to another version is refined more gently (learning rate 0.2, 60 epochs)
# 4: UMAP of 50k items or more: PCA start, 50 epochs, fast kernel, cheaper k-NN index
# 5: UMAP of 50k items or more: 40 epochs, an IVF index of √n lists probed 8 times
# 6: UMAP of 50k items or more: the rows projected on the sampled PCA axes without a copy
PROJECTION_KIND = "projection"
CLUSTERS_KIND = "clusters"
_LIBRARIES = (
    "embver",
    "scipy",  # the spectral start (umap-learn is no longer imported)
    "openTSNE",
    "fast_hdbscan",
    "scikit-learn",
    "faiss-cpu",
    "numpy",
)

ItemSelection = Sequence[str] | Mapping[str, Any] | Callable[..., Any]


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape a projection (read without importing)."""
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _version_identity(version: Version) -> dict[str, Any]:
    return {"id": version.id, "count": version.count, "hash": version.content_hash}


def projection_key(
    version: Version,
    method: str,
    dims: int,
    seed: int,
    params: Mapping[str, Any],
    aligned_to: Projection | None = None,
) -> str:
    """The artifact key of a projection: a hash of everything that determines it."""
    return fingerprint(
        {
            "revision": PIPELINE_REVISION,
            "version": _version_identity(version),
            "method": method,
            "dims": dims,
            "seed": seed,
            "params": dict(params),
            "aligned_to": aligned_to.key if aligned_to is not None else None,
            "libraries": library_versions(),
        },
        prefix="proj-",
    )


def project(
    store: Store,
    ref: str | Version,
    method: str = "umap",
    dims: int = 2,
    seed: int = 0,
    align_to: str | Version | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    on_layout: Callable[[np.ndarray], None] | None = None,
    **params: Unpack[LayoutParams],
) -> Projection:
    """Projection of a version, from the store's cache or computed and cached.

    Parameters
    ----------
    ref : the version ("space@1.2.3", "space@best") or a Version
    method : "umap" (default), "pca" or "tsne"
    dims : 2 or 3
    seed : seeds the layout and the clustering; same inputs, same projection
    align_to : a version to align to: the layout starts from that
        version's layout on shared items and is Procrustes-fitted onto it
    params : method parameters (umap: n_neighbors, min_dist, n_epochs, pca_dims,
        learning_rate; tsne: perplexity, pca_dims; pca: none); another is refused
        with InvalidInputError before any work
    progress : called with each step's name ("reading", "layout", "clusters") as it
        starts, when the projection is computed rather than read from the cache
    on_layout : called with the coordinates (n, dims) as soon as the layout is done,
        before the clusters are computed (the UI draws them while HDBSCAN runs); not
        called when the projection comes from the cache
    """
    version = _resolve(store, ref)
    check_layout_request(method, dims, version.count)
    check_layout_params(method, params)
    reference = None
    if align_to is not None:
        reference = project(
            store, align_to, method=method, dims=dims, seed=seed, progress=progress, **params
        )
    key = projection_key(version, method, dims, seed, params, reference)
    cached = store.artifacts.get(PROJECTION_KIND, key)
    if cached is not None:
        return _labelled(store, version, _from_artifact(cached, version))
    announce = progress or (lambda step: None)
    started = time.perf_counter()
    announce(f"reading {version.ref}")
    ids, vectors = version.ids, version.vectors()
    announce(f"{method} layout of {len(ids)} items")
    coords = _layout(vectors, ids, version.metric, method, dims, seed, params, reference)
    if on_layout is not None:
        on_layout(coords)
    announce("clusters")
    projection = Projection(
        ref=version.ref,
        method=method,
        dims=dims,
        seed=seed,
        params=dict(params),
        ids=ids,
        coords=coords,
        clusters=clusters_of(store, version, seed=seed, vectors=vectors),
        aligned_to=reference.ref if reference else None,
        key=key,
    )
    projection.seconds = time.perf_counter() - started
    _save(store, projection, version, reference)
    return _labelled(store, version, projection)


def _labelled(store: Store, version: Version, projection: Projection) -> Projection:
    """``projection`` with a reader of its items' labels, for its picture (read on display)."""

    def labels() -> list[Any] | None:
        return _column(store.items(version.space, ids=projection.ids), "label")

    projection.label_reader = labels
    return projection


def cached_projection(
    store: Store,
    ref: str | Version,
    method: str = "umap",
    dims: int = 2,
    seed: int = 0,
    **params: Unpack[LayoutParams],
) -> Projection | None:
    """The projection :func:`project` would return, if the store holds it already; else None.

    Never computes: one catalog lookup (the UI asks it before it draws a quick layout).
    Aligned projections are not looked up here.
    """
    version = _resolve(store, ref)
    check_layout_request(method, dims, version.count)
    check_layout_params(method, params)
    key = projection_key(version, method, dims, seed, params)
    cached = store.artifacts.get(PROJECTION_KIND, key)
    if cached is None:
        return None
    return _labelled(store, version, _from_artifact(cached, version))


def _layout(
    vectors: np.ndarray,
    ids: list[str],
    metric: str,
    method: str,
    dims: int,
    seed: int,
    params: LayoutParams,
    reference: Projection | None,
) -> np.ndarray:
    init = None
    if reference is not None and method != "pca":
        pca_dims = int(params.get("pca_dims", 50))
        reduced = reduce_dimensions(prepare_vectors(vectors, _layout_metric(metric)), pca_dims)
        init = alignment.seeded_start(ids, reduced, reference.ids, reference.coords)
    coords = compute_layout(
        vectors,
        method=method,
        dims=dims,
        seed=seed,
        metric=_layout_metric(metric),
        init=init,
        **params,
    )
    if reference is not None:
        coords = alignment.align_to(coords, ids, reference.coords, reference.ids)
    return coords


def _layout_metric(metric: str) -> str:
    return "cosine" if str(metric).lower() in ("cosine", "cos", "angular") else "euclidean"


def _save(
    store: Store, projection: Projection, version: Version, reference: Projection | None
) -> None:
    meta = {**projection.to_dict(), "libraries": library_versions()}
    meta.pop("cached", None)
    versions = [version.id] + ([store.get(reference.ref).id] if reference else [])
    store.artifacts.put(PROJECTION_KIND, projection.key, projection.payload(), meta, versions)


def _from_artifact(artifact: Any, version: Version) -> Projection:
    coords, clusters = Projection.arrays_from_payload(artifact.payload)
    meta = artifact.meta
    return Projection(
        ref=version.ref,
        method=meta["method"],
        dims=int(meta["dims"]),
        seed=int(meta["seed"]),
        params=dict(meta.get("params", {})),
        ids=version.ids,
        coords=coords,
        clusters=clusters,
        aligned_to=meta.get("aligned_to"),
        key=artifact.key,
        seconds=float(meta["seconds"]),
        cached=True,
    )


def clusters_of(
    store: Store,
    ref: str | Version,
    seed: int = 0,
    vectors: np.ndarray | None = None,
    min_cluster_size: int | None = None,
) -> np.ndarray:
    """HDBSCAN labels (n,) of a version's items in stored order, cached in the store."""
    version = _resolve(store, ref)
    key = fingerprint(
        {
            "revision": PIPELINE_REVISION,
            "version": _version_identity(version),
            "seed": seed,
            "min_cluster_size": min_cluster_size,
            "libraries": library_versions(),
        },
        prefix="clus-",
    )
    cached = store.artifacts.get(CLUSTERS_KIND, key)
    if cached is not None:
        return np.frombuffer(cached.payload, dtype=np.int32).copy()
    data = version.vectors() if vectors is None else vectors
    labels = cluster_vectors(
        data, seed=seed, min_cluster_size=min_cluster_size, metric=_layout_metric(version.metric)
    )
    meta = {"ref": version.ref, "seed": seed, "clusters": int(labels.max(initial=-1)) + 1}
    store.artifacts.put(CLUSTERS_KIND, key, labels.astype(np.int32).tobytes(), meta, [version.id])
    return labels


def cluster_summaries(store: Store, projection: Projection, **options: Any) -> list[Any]:
    """Summaries (size, purity, top terms, representatives) of a projection's clusters."""
    version = store.get(projection.ref)
    items = store.items(version.space, ids=projection.ids)
    texts = _column(items, "text")
    labels = _column(items, "label")
    return summarize_clusters(
        projection.clusters,
        version.vectors(),
        projection.ids,
        texts=texts,
        labels=labels,
        **options,
    )


def _column(items: pd.DataFrame, name: str) -> list[Any] | None:
    if name not in items or items[name].isna().all():
        return None
    return [None if v is None or v != v else v for v in items[name].tolist()]


def drift(
    store: Store,
    ref: str | Version,
    reference: ItemSelection,
    current: ItemSelection,
    seed: int = 0,
    sample: int = 500,
    permutations: int = 200,
) -> DriftReport:
    """Drift of the ``current`` items of a version against its ``reference`` items.

    ``reference`` and ``current`` each select items of the version: a sequence
    of ids, a mapping ``{field: value}`` matched against the item's label, uri
    or metadata, or a callable taking the items DataFrame and returning a mask.
    """
    version = _resolve(store, ref)
    items = store.items(version.space, ids=version.ids)
    ref_rows = select_items(items, reference, "reference")
    cur_rows = select_items(items, current, "current")
    vectors = version.vectors()
    clusters = clusters_of(store, version, seed=seed, vectors=vectors)
    return measure_drift(
        vectors[ref_rows],
        vectors[cur_rows],
        clusters[ref_rows],
        clusters[cur_rows],
        metric=_layout_metric(version.metric),
        sample=sample,
        permutations=permutations,
        seed=seed,
    )


def select_items(items: pd.DataFrame, selection: ItemSelection, name: str) -> np.ndarray:
    """Row numbers of ``items`` chosen by ``selection`` (ids, {field: value}, or a callable)."""
    if callable(selection):
        mask = np.asarray(selection(items), dtype=bool)
    elif isinstance(selection, Mapping):
        mask = np.ones(len(items), dtype=bool)
        for field_name, wanted in selection.items():
            mask &= np.asarray([_field(row, field_name) == wanted for row in items.itertuples()])
    else:
        wanted_ids = set(selection)
        mask = items["id"].isin(wanted_ids).to_numpy()
        if mask.sum() < len(wanted_ids):
            raise InvalidInputError(
                f"{name}: {len(wanted_ids) - int(mask.sum())} of the given ids are not in "
                "the version; pass ids of its items"
            )
    rows = np.flatnonzero(mask)
    if len(rows) < 2:
        raise InvalidInputError(f"{name} selects {len(rows)} item(s); drift needs at least 2")
    return rows


def _field(row: Any, name: str) -> Any:
    if name in ("id", "text", "label", "uri"):
        return getattr(row, name)
    return (row.metadata or {}).get(name)


def _resolve(store: Store, ref: str | Version) -> Version:
    return store.get(ref) if isinstance(ref, str) else ref


def dimension(
    store: Store,
    ref: str | Version,
    dimension: int | None = None,
    component: int | None = None,
    n_extremes: int = 5,
) -> DimensionReport:
    """What one raw dimension or principal component of a version means, read through its items.

    Extremes, variance share, correlation ratio with the items' labels and
    correlations with every numeric metadata field.
    """
    version = _resolve(store, ref)
    items = store.items(version.space, ids=version.ids)
    metadata = pd_metadata_columns(items)
    return inspect_dimension(
        version.vectors(), version.ids, dimension=dimension, component=component,
        labels=_column(items, "label"), metadata=metadata, n_extremes=n_extremes,
        metric=_layout_metric(version.metric),
    )  # fmt: skip


def pd_metadata_columns(items: pd.DataFrame) -> dict[str, list[Any]]:
    """Metadata dicts of the items turned into one column per field (None where absent)."""
    fields = sorted({key for meta in items["metadata"] for key in (meta or {})})
    return {name: [(meta or {}).get(name) for meta in items["metadata"]] for name in fields}
