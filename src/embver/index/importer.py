"""``embver import SPACE --from URL``: read an index's ids and vectors back to register them.

A team with vectors already in production starts using embver without re-embedding: the
rows readers see (an embver table, or a table of someone else's with ``id`` and ``vector``
columns) are read in batches; the caller registers them with a recipe like any import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from embver.errors import IndexTargetError
from embver.index.base import ID, ITEM_FIELDS, VECTOR, batch_vectors, open_target

if TYPE_CHECKING:
    import numpy as np


@dataclass
class IndexRows:
    """What an index holds: ids (n,), vectors (n, d) float32 and the item fields present."""

    ids: list[str]
    vectors: np.ndarray
    items: dict[str, list[str | None]] = field(default_factory=dict)
    table: str = ""


def read_index(url: str, batch_size: int = 50_000) -> IndexRows:
    """Every row readers see at ``url``: id, vector and the item fields (text, label, uri)."""
    import numpy as np

    with open_target(url) as target:
        table = target.reader_table()
        if table is None:
            table = target.reader
            if target.dimension(table) is None:
                raise IndexTargetError(
                    f"{target.url}: no table {table!r} with id and vector columns to import"
                )
        columns = [ID, VECTOR]
        probe = next(iter(target.scan(table, columns, 1)), None)
        if probe is None:
            raise IndexTargetError(f"{target.url}: {table} is empty; nothing to import")
        present = _fields_of(target, table)
        ids: list[str] = []
        parts: list[np.ndarray] = []
        items: dict[str, list[str | None]] = {name: [] for name in present}
        for batch in target.scan(table, [*columns, *present], batch_size):
            ids.extend(batch.column(ID).to_pylist())
            parts.append(batch_vectors(batch))
            for name in present:
                items[name].extend(batch.column(name).to_pylist())
    return IndexRows(ids, np.concatenate(parts), items, table)


def _fields_of(target: object, table: str) -> list[str]:
    """The item fields a table has (probed one by one: a backend raises on a missing column)."""
    from embver.index.base import Target

    assert isinstance(target, Target)
    found = []
    for name in ITEM_FIELDS:
        try:
            next(iter(target.scan(table, [ID, name], 1)), None)
        except Exception:  # any backend's "no such column": the field is not there
            continue
        found.append(name)
    return found
