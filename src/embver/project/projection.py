"""A projection of a version: aligned 2-D/3-D coordinates plus HDBSCAN clusters."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from embver.core.display import Image, Part, RichDisplay, Table

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Projection(RichDisplay):
    """A layout of one version's items.

    Attributes
    ----------
    ref : the version, "space@1.2.3"
    method : "umap", "pca" or "tsne"
    dims : 2 or 3
    seed : the seed it was computed with
    params : the method's parameters (as given, defaults filled in by the method)
    ids : item ids, length n, in the version's stored order
    coords : float32 array of shape (n, dims)
    clusters : int32 array of shape (n,), HDBSCAN labels, -1 for noise
    aligned_to : the version whose layout this one was aligned to, or None
    key : the artifact key it is cached under
    seconds : time it took to compute (not to load)
    cached : True when it came from the store's cache
    label_reader : reads the items' labels (n,) in ``ids`` order when the picture needs
        them (None: colour by cluster)
    """

    ref: str
    method: str
    dims: int
    seed: int
    params: dict[str, Any]
    ids: list[str]
    coords: np.ndarray
    clusters: np.ndarray
    aligned_to: str | None = None
    key: str = ""
    seconds: float = 0.0
    cached: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    label_reader: Callable[[], list[object] | None] | None = field(
        default=None, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        aligned = f", aligned to {self.aligned_to}" if self.aligned_to else ""
        return (
            f"<Projection {self.ref} {self.method} {self.dims}-D, {len(self)} items, "
            f"{self.n_clusters} clusters{aligned}>"
        )

    @property
    def n_clusters(self) -> int:
        return int(self.clusters.max(initial=-1)) + 1

    def to_pandas(self) -> pd.DataFrame:
        """Columns id, x, y (z), cluster."""
        import pandas as pd

        frame = pd.DataFrame({"id": self.ids})
        for axis, name in enumerate("xyz"[: self.dims]):
            frame[name] = self.coords[:, axis]
        frame["cluster"] = self.clusters
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (coordinates excluded; use :meth:`to_pandas` for them)."""
        return {
            "ref": self.ref,
            "method": self.method,
            "dims": self.dims,
            "seed": self.seed,
            "params": self.params,
            "items": len(self),
            "clusters": self.n_clusters,
            "noise": int((self.clusters < 0).sum()),
            "aligned_to": self.aligned_to,
            "key": self.key,
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
            **self.meta,
        }

    def to_png(self, colour_by: list[object] | np.ndarray | None = None) -> bytes:
        """A static scatter (PNG bytes) coloured by ``colour_by`` (n,), else by the items'
        labels when they have any, else by cluster (grey: noise)."""
        from embver.project.scatter import scatter_png

        if colour_by is None:
            labels = self.label_reader() if self.label_reader else None
            colour_by = self.clusters if labels is None else labels
        return scatter_png(self.coords, colour_by, title=self._display_title())

    def _display_title(self) -> str:
        aligned = f", aligned to {self.aligned_to}" if self.aligned_to else ""
        return (
            f"Projection {self.ref}: {self.method} {self.dims}-D, {len(self)} items, "
            f"{self.n_clusters} clusters{aligned}"
        )

    def _display_parts(self) -> list[Part]:
        sizes = np.bincount(self.clusters[self.clusters >= 0], minlength=self.n_clusters)
        rows: list[tuple[object, ...]] = [
            (f"cluster {c}", int(n), n / len(self)) for c, n in enumerate(sizes)
        ]
        if (self.clusters < 0).any():
            noise = int((self.clusters < 0).sum())
            rows.append(("noise", noise, noise / len(self)))
        picture = Image(self.to_png(), alt=f"scatter of {self.ref} ({self.method})", width=500)
        return [picture, Table(("cluster", "items", "share"), rows, title="clusters (HDBSCAN)")]

    def payload(self) -> bytes:
        """Binary form kept in the store: coordinates and cluster labels (npz)."""
        buffer = io.BytesIO()
        np.savez(buffer, coords=self.coords.astype(np.float32), clusters=self.clusters)
        return buffer.getvalue()

    @staticmethod
    def arrays_from_payload(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(coords (n, dims) float32, clusters (n,) int32) from :meth:`payload` bytes."""
        with np.load(io.BytesIO(payload)) as data:
            return data["coords"].astype(np.float32), data["clusters"].astype(np.int32)
