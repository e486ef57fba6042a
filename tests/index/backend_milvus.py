"""Milvus cases for the index tests: a Milvus Lite file in ``tmp_path``, read back with
``pymilvus.MilvusClient`` by the reader name (the alias).

Milvus Lite serves a file from a server inside the process that opened it first and admits
one process per file, so each check opens a client, reads, closes it, and stops the server
when the check started it (about 10 ms): a CLI run in a subprocess can open the file between
checks. A server per case costs as little, so none is shared between cases.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from backends import BackendCase


class MilvusCase(BackendCase):
    scheme = "milvus"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        self.file = tmp_path / "milvus" / "index.db"
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.url = f"milvus://{self.file}/{name}"

    @contextlib.contextmanager
    def client(self) -> Iterator[object]:
        from milvus_lite.server_manager import server_manager_instance
        from pymilvus import MilvusClient

        path = os.path.abspath(self.file)
        started = path not in server_manager_instance._servers
        client = MilvusClient(uri=str(self.file))
        try:
            yield client
        finally:
            client.close()
            if started:
                server_manager_instance.release_server(path)

    def _rows(self, fields: list[str]) -> list[dict]:
        rows: list[dict] = []
        with self.client() as client:
            if not client.has_collection(self.name):
                return rows
            client.load_collection(self.name)  # a restarted server holds collections released
            iterator = client.query_iterator(
                self.name, batch_size=500, filter="", output_fields=fields
            )
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
        with self.client() as client:
            client.load_collection(self.name)
            hits = client.search(
                self.name, data=[[float(x) for x in vector]], limit=k, output_fields=["id"]
            )
        return [hit["id"] for hit in hits[0]]

    def physical_tables(self) -> list[str]:
        with self.client() as client:
            names = client.list_collections()
        return sorted(n for n in names if n.startswith(f"{self.name}__embver_"))


CASES: dict[str, Callable[[Path], BackendCase]] = {"milvus": MilvusCase}
