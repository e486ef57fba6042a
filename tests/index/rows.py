"""Small real rows for the index tests, and the independent nearest-neighbour oracle."""

from __future__ import annotations

from collections.abc import Sequence

import blake3
import numpy as np
import pyarrow as pa


def make_batch(
    ids: Sequence[str],
    vectors: np.ndarray,
    version: str = "1.0.0",
    space: str = "docs",
    fields: dict[str, Sequence[str]] | None = None,
) -> pa.RecordBatch:
    """A batch of index rows; the hash column computed here with blake3 directly."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    columns = {
        "id": pa.array(list(ids), pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
        "embver_space": pa.array([space] * n, pa.string()),
        "embver_version": pa.array([version] * n, pa.string()),
        "embver_content_hash": pa.array(
            [blake3.blake3(v.astype("<f4").tobytes()).hexdigest() for v in vectors], pa.string()
        ),
    }
    for name, values in (fields or {}).items():
        columns[name] = pa.array(list(values), pa.string())
    return pa.RecordBatch.from_pydict(columns)


def cosine_top_k(ids: Sequence[str], vectors: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    """The k ids most cosine-similar to ``query``, by brute force in numpy."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]
