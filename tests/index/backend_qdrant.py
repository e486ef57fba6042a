"""Qdrant cases for the index tests: local mode (``QdrantClient(path=...)``) in ``tmp_path``.

Local mode admits one client per folder per process: while an embver target in this
process holds the folder, the reader uses that same ``QdrantClient`` object (as another
reader in the process would have to); otherwise it opens its own and closes it after.
Either way every read goes through qdrant_client's API against the reader name (the alias).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from backend_scratch import release_scratch, scratch_folder
from backends import BackendCase


class QdrantCase(BackendCase):
    scheme = "qdrant"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        self.folder = scratch_folder(tmp_path, "qdrant")
        self.name = name
        self.url = f"qdrant://{self.folder}/{name}"

    @contextlib.contextmanager
    def client(self) -> Iterator[object]:
        from qdrant_client import QdrantClient

        from embver.index.qdrant import local_client

        shared = local_client(str(self.folder))
        if shared is not None:
            yield shared
            return
        if not self.folder.exists():
            self.folder.mkdir(parents=True)
        own = QdrantClient(path=str(self.folder))
        try:
            yield own
        finally:
            own.close()

    def _payloads(self) -> list[dict]:
        with self.client() as client:
            if not client.collection_exists(self.name):
                return []
            rows, offset = [], None
            while True:
                points, offset = client.scroll(
                    self.name, limit=256, offset=offset, with_payload=True
                )
                rows.extend(p.payload for p in points)
                if offset is None:
                    return rows

    def reader_ids(self) -> set[str]:
        return {row["id"] for row in self._payloads()}

    def reader_versions(self) -> dict[str, int]:
        return dict(Counter(row["embver_version"] for row in self._payloads()))

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        with self.client() as client:
            found = client.query_points(
                self.name, query=[float(x) for x in vector], limit=k, with_payload=["id"]
            )
        return [p.payload["id"] for p in found.points]

    def physical_tables(self) -> list[str]:
        with self.client() as client:
            names = [c.name for c in client.get_collections().collections]
        return sorted(n for n in names if n.startswith(f"{self.name}__embver_"))

    def close(self) -> None:
        release_scratch(self.folder)


CASES: dict[str, Callable[[Path], BackendCase]] = {"qdrant": QdrantCase}
