"""LanceDB cases for the index tests: a fresh database folder in ``tmp_path``, read back with
``lancedb.connect(...).open_table(reader)`` as a downstream reader would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from backends import BackendCase


class LanceDBCase(BackendCase):
    scheme = "lancedb"

    def __init__(self, tmp_path: Path, name: str = "docs") -> None:
        self.folder = tmp_path / "lancedb"
        self.name = name
        self.url = f"lancedb://{self.folder}/{name}"

    def _table(self):  # -> lancedb.table.Table | None, opened fresh as a new reader would
        import lancedb

        db = lancedb.connect(str(self.folder))
        if self.name not in db.list_tables().tables:
            return None
        return db.open_table(self.name)

    def reader_ids(self) -> set[str]:
        table = self._table()
        return set() if table is None else set(table.to_arrow().column("id").to_pylist())

    def reader_versions(self) -> dict[str, int]:
        table = self._table()
        if table is None:
            return {}
        return dict(Counter(table.to_arrow().column("embver_version").to_pylist()))

    def reader_search(self, vector: np.ndarray, k: int) -> list[str]:
        table = self._table()
        assert table is not None, "readers find no table"
        query = table.search(np.asarray(vector, dtype=np.float32)).distance_type(self.metric)
        return query.limit(k).to_arrow().column("id").to_pylist()


CASES: dict[str, Callable[[Path], BackendCase]] = {"lancedb": LanceDBCase}
