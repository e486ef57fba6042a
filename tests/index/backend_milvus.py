"""Milvus cases for the index tests: ONE Milvus Lite database file per test process (its
server starts once, on first use, and stops at exit), a fresh reader name per case, read
back with ``pymilvus.MilvusClient`` by the reader name (the alias)."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from backends import BackendCase

_SERVER: dict[str, object] = {}
_NAMES = itertools.count()


def milvus_lite_file() -> Path:
    """The Milvus Lite file shared by this process's cases (its server starts on first use)."""
    if "file" not in _SERVER:
        from pymilvus import MilvusClient

        folder = Path(tempfile.mkdtemp(prefix="embver-milvus-"))
        path = folder / "index.db"
        _SERVER["file"] = path
        _SERVER["client"] = MilvusClient(uri=str(path))  # starts the server, held until exit
        atexit.register(_stop, folder)
    return Path(str(_SERVER["file"]))


def _stop(folder: Path) -> None:
    client = _SERVER.pop("client", None)
    if client is not None:
        client.close()  # type: ignore[attr-defined]
    shutil.rmtree(folder, ignore_errors=True)


class MilvusCase(BackendCase):
    scheme = "milvus"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        from pymilvus import MilvusClient

        self.file = milvus_lite_file()
        self.name = f"{name}_{next(_NAMES)}"
        self.url = f"milvus://{self.file}/{self.name}"
        self.client = MilvusClient(uri=str(self.file))

    def _rows(self, fields: list[str]) -> list[dict]:
        if not self.client.has_collection(self.name):
            return []
        iterator = self.client.query_iterator(
            self.name, batch_size=500, filter="", output_fields=fields
        )
        rows: list[dict] = []
        try:
            while batch := iterator.next():
                rows.extend(batch)
        finally:
            iterator.close()
        return rows

    def reader_ids(self) -> set[str]:
        return {row["id"] for row in self._rows(["id"])}

    def reader_versions(self) -> dict[str, int]:
        return dict(Counter(row["embver_version"] for row in self._rows(["embver_version"])))

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        hits = self.client.search(
            self.name, data=[[float(x) for x in vector]], limit=k, output_fields=["id"]
        )
        return [hit["id"] for hit in hits[0]]

    def close(self) -> None:
        self.client.close()


CASES: dict[str, Callable[[Path], BackendCase]] = {"milvus": MilvusCase}
