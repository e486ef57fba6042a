"""Chroma cases for the index tests: a ``chromadb.PersistentClient`` folder in ``tmp_path``,
read back by collection name (the reader name) as a downstream reader would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from backend_scratch import release_scratch, scratch_folder
from backends import BackendCase


class ChromaCase(BackendCase):
    scheme = "chroma"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        self.folder = scratch_folder(tmp_path, "chroma")
        self.name = name
        self.url = f"chroma://{self.folder}/{name}"
        self._client = None

    def _collection(self):  # -> chromadb Collection | None
        import chromadb
        from chromadb.errors import NotFoundError

        client = chromadb.PersistentClient(path=str(self.folder))
        try:
            return client.get_collection(self.name, embedding_function=None)
        except NotFoundError:
            return None

    def _metadatas(self) -> list[dict]:
        collection = self._collection()
        if collection is None:
            return []
        got = collection.get(include=["metadatas"])
        return [dict(m, id=i) for i, m in zip(got["ids"], got["metadatas"], strict=True)]

    def reader_ids(self) -> set[str]:
        return {row["id"] for row in self._metadatas()}

    def reader_versions(self) -> dict[str, int]:
        return dict(Counter(row["embver_version"] for row in self._metadatas()))

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        collection = self._collection()
        assert collection is not None, "readers find no collection"
        found = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, include=[]
        )
        return list(found["ids"][0])

    def reader_count(self) -> int:
        """Rows under the reader name through one long-lived client (0: no such collection),
        the cheapest read, for counting what a busy reader sees during a switch."""
        import chromadb
        from chromadb.errors import NotFoundError

        if self._client is None:
            self._client = chromadb.PersistentClient(path=str(self.folder))
        try:
            return self._client.get_collection(self.name, embedding_function=None).count()
        except NotFoundError:
            return 0

    def close(self) -> None:
        release_scratch(self.folder)


CASES: dict[str, Callable[[Path], BackendCase]] = {"chroma": ChromaCase}
