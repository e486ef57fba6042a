"""Align one version's layout to another's on the items they share.

Two steps, so that an item that did not move in the embedding does not move
on screen:

1. *seeded start*: B's optimisation starts from A's layout — shared items at
   A's coordinates, new items at the mean position of their nearest shared
   neighbours in B's own space;
2. *orthogonal Procrustes* (rotation/reflection, uniform scale, translation)
   of B's final 2-D/3-D coordinates onto A's on the shared items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embver.errors import InvalidInputError


@dataclass(frozen=True)
class SimilarityTransform:
    """``y = scale * x @ rotation + translation`` for row vectors ``x`` (n, dims)."""

    rotation: np.ndarray
    scale: float
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform ``points`` (n, dims); float32 (n, dims)."""
        moved = self.scale * (points @ self.rotation) + self.translation
        return np.asarray(moved, dtype=np.float32)


def procrustes_fit(source: np.ndarray, target: np.ndarray) -> SimilarityTransform:
    """Best similarity transform taking ``source`` (n, dims) onto ``target`` (n, dims)."""
    if source.shape != target.shape or len(source) < 2:
        raise InvalidInputError(
            f"Procrustes needs two layouts of the same shape with >= 2 points; "
            f"got {source.shape} and {target.shape}"
        )
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    a = (source - source_mean).astype(np.float64)
    b = (target - target_mean).astype(np.float64)
    u, singular, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    scale = float(singular.sum() / max((a**2).sum(), 1e-30))
    translation = target_mean - scale * (source_mean @ rotation)
    return SimilarityTransform(rotation, scale, translation)


def shared_positions(
    ids: Sequence[str], reference_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (in ``ids``, in ``reference_ids``) of the ids both hold, in ``ids`` order."""
    where = {item: row for row, item in enumerate(reference_ids)}
    rows = [(row, where[item]) for row, item in enumerate(ids) if item in where]
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    mine, theirs = zip(*rows, strict=True)
    return np.asarray(mine, dtype=np.int64), np.asarray(theirs, dtype=np.int64)


def seeded_start(
    ids: Sequence[str],
    reduced: np.ndarray,
    reference_ids: Sequence[str],
    reference_layout: np.ndarray,
    k: int = 5,
) -> np.ndarray | None:
    """Start layout (n, dims) for ``ids``: A's coordinates, or the mean of k shared neighbours.

    ``reduced`` (n, p) are this version's (PCA-reduced) vectors, used to find
    the shared neighbours of items A does not have. None when nothing is shared.
    """
    mine, theirs = shared_positions(ids, reference_ids)
    if len(mine) < 2:
        return None
    start = np.empty((len(ids), reference_layout.shape[1]), dtype=np.float32)
    start[mine] = reference_layout[theirs]
    missing = np.setdiff1d(np.arange(len(ids)), mine)
    if len(missing):
        start[missing] = _mean_of_shared_neighbours(reduced, mine, missing, start, k)
    return start


def _mean_of_shared_neighbours(
    reduced: np.ndarray, shared: np.ndarray, missing: np.ndarray, start: np.ndarray, k: int
) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatL2(reduced.shape[1])
    index.add(np.ascontiguousarray(reduced[shared], dtype=np.float32))
    _, nearest = index.search(
        np.ascontiguousarray(reduced[missing], dtype=np.float32), min(k, len(shared))
    )
    return start[shared][nearest].mean(axis=1)


def align_to(
    layout: np.ndarray,
    ids: Sequence[str],
    reference_layout: np.ndarray,
    reference_ids: Sequence[str],
) -> np.ndarray:
    """``layout`` (n, dims) moved by the Procrustes fit of its shared items onto the reference."""
    mine, theirs = shared_positions(ids, reference_ids)
    if len(mine) < 3:
        return layout
    transform = procrustes_fit(layout[mine], reference_layout[theirs])
    return transform.apply(layout)


def layout_spread(layout: np.ndarray) -> float:
    """Root-mean-square distance of the points (n, dims) from their centroid."""
    centred = layout - layout.mean(axis=0)
    return float(np.sqrt((centred**2).sum(axis=1).mean()))


def displacement(
    layout: np.ndarray,
    ids: Sequence[str],
    reference_layout: np.ndarray,
    reference_ids: Sequence[str],
) -> np.ndarray:
    """On-screen distance moved by each shared item, in units of the reference's spread.

    Returns a float64 array of shape (n_shared,), in the order of ``ids``.
    """
    mine, theirs = shared_positions(ids, reference_ids)
    moved = np.linalg.norm(layout[mine] - reference_layout[theirs], axis=1)
    return moved / max(layout_spread(reference_layout), 1e-12)
