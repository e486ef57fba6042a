"""A projection of a version: aligned 2-D/3-D coordinates plus HDBSCAN clusters."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Projection:
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
