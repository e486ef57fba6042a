"""Per-item k-NN overlap between two versions of the same items.

For item i with neighbour sets A_i (old version) and B_i (new version), both
of size k and excluding i itself:

- ``overlap``  (mutual k-NN alignment, Huh et al. 2024): |A_i ∩ B_i| / k;
- ``jaccard``: |A_i ∩ B_i| / |A_i ∪ B_i| = m / (2k - m) with m = |A_i ∩ B_i|.

If B_i were a random k-subset of the other n-1 items, E[m] = k²/(n-1), so the
chance level of ``overlap`` is k/(n-1); the chance level of ``jaccard`` is
quoted as c/(2-c) with c = k/(n-1) (the value at the expected intersection).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embver.errors import InvalidInputError


def intersection_counts(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Size of the intersection of each row's neighbour sets.

    Parameters
    ----------
    old, new : int arrays of shape (m, k)
        Neighbour indices per query; each row holds distinct indices.

    Returns
    -------
    int64 array of shape (m,)
    """
    if old.shape != new.shape:
        raise InvalidInputError(
            f"neighbour lists have different shapes {old.shape} and {new.shape}"
        )
    # sort both rows, then count matches with a vectorised merge via searchsorted per row
    a = np.sort(old, axis=1)
    b = np.sort(new, axis=1)
    m, k = a.shape
    offsets = np.arange(m, dtype=np.int64) * (int(max(a.max(initial=0), b.max(initial=0))) + 1)
    flat_a = (a + offsets[:, None]).ravel()
    flat_b = (b + offsets[:, None]).ravel()
    found = np.isin(flat_b, flat_a, assume_unique=True).reshape(m, k)
    return found.sum(axis=1).astype(np.int64)


def overlap_scores(old: np.ndarray, new: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-query (overlap, jaccard) at ``k`` from the first k columns of the neighbour lists.

    Parameters
    ----------
    old, new : int arrays of shape (m, K) with K >= k
    k : int

    Returns
    -------
    overlap, jaccard : float arrays of shape (m,)
    """
    if k < 1 or k > old.shape[1] or k > new.shape[1]:
        raise InvalidInputError(f"k={k} must lie in 1..{min(old.shape[1], new.shape[1])}")
    shared = intersection_counts(old[:, :k], new[:, :k]).astype(np.float64)
    return shared / k, shared / (2 * k - shared)


def chance_overlap(k: int, n: int) -> float:
    """Expected overlap of two random k-subsets of the n-1 other items: k/(n-1)."""
    return k / (n - 1)


def chance_jaccard(k: int, n: int) -> float:
    """Jaccard at the expected random intersection: c/(2-c) with c = k/(n-1)."""
    c = chance_overlap(k, n)
    return c / (2 - c)


def top_movers(scores: np.ndarray, count: int, tie_break: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``count`` lowest scores (most changed first).

    Parameters
    ----------
    scores : float array of shape (m,)
        The primary figure, e.g. per-item Jaccard (many items tie at 0).
    count : int
    tie_break : float array of shape (m,), optional
        A second figure, lower = more changed, that orders items of equal
        score; position orders what still ties.
    """
    keys = (scores,) if tie_break is None else (tie_break, scores)
    order = np.lexsort(keys)  # the last key is the primary one; lexsort is stable
    return order[: max(0, count)]


def tied_with_last(scores: np.ndarray, chosen: np.ndarray) -> int:
    """How many of ``scores`` (m,) equal the score of the last chosen position (0 if none)."""
    if chosen.size == 0:
        return 0
    return int(np.count_nonzero(scores == scores[chosen[-1]]))


def mover_ties(jaccard: np.ndarray, chosen: np.ndarray, k: int) -> dict[str, Any]:
    """How many of the items (Jaccard at ``k``, shape (m,)) tie with the last mover shown.

    The shape of :attr:`~embver.compare.comparison.Comparison.mover_ties`, which the
    CLI, the web UI and the report all state beside their lists of movers.
    """
    return {
        "k": k,
        "jaccard": float(jaccard[chosen[-1]]) if chosen.size else None,
        "tied": tied_with_last(jaccard, chosen),
        "of": int(jaccard.size),
        "tie_break": "similarity_gap",
    }
