"""A registered version: its number, recipe, lineage and vectors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from embver.core import Bump, Recipe, SemVer
from embver.core.display import Part, RichDisplay
from embver.errors import InvalidInputError, NotFoundError
from embver.store import vectors as vector_data

if TYPE_CHECKING:
    import pandas as pd

    from embver.store.store import Store


class Version(RichDisplay):
    """One immutable embedding function of a space and its materialised vectors."""

    def __init__(self, store: Store, row: Any, space: str) -> None:
        self._store = store
        self._row = dict(row)
        self.space = space

    @property
    def store(self) -> Store:
        """The store that holds this version."""
        return self._store

    def __repr__(self) -> str:
        return f"<Version {self.ref} ({self.count} × {self.dim}, {self.bump})>"

    def _display_title(self) -> str:
        return f"Version {self.ref} [{self.bump}]"

    def _display_parts(self) -> list[Part]:
        from embver.store.display import version_parts

        return version_parts(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and other.id == self.id and other._store is self._store

    def __hash__(self) -> int:
        return hash(self.id)

    # -- catalog fields -------------------------------------------------
    @property
    def id(self) -> int:
        return int(self._row["id"])

    @property
    def number(self) -> SemVer:
        return SemVer(self._row["major"], self._row["minor"], self._row["patch"])

    @property
    def ref(self) -> str:
        return f"{self.space}@{self.number}"

    @cached_property
    def recipe(self) -> Recipe:
        return Recipe.from_dict(self._row["recipe"])

    @property
    def bump(self) -> Bump:
        return Bump.parse(self._row["bump"])

    @property
    def reasons(self) -> list[str]:
        return list(self._row["reasons"] or [])

    @property
    def count(self) -> int:
        return int(self._row["count"])

    @property
    def dim(self) -> int:
        return int(self._row["dim"])

    @property
    def dtype(self) -> str:
        return str(self._row["dtype"])

    @property
    def metric(self) -> str:
        return str(self._row["metric"])

    @property
    def content_hash(self) -> str:
        return str(self._row["content_hash"])

    @property
    def created_at(self) -> dt.datetime:
        return self._row["created_at"]

    @property
    def author(self) -> str | None:
        return self._row["author"]

    @property
    def verdict(self) -> dict[str, Any] | None:
        return self._row["verdict"]

    @property
    def parent_id(self) -> int | None:
        return self._row["parent_id"]

    @property
    def parent(self) -> Version | None:
        return None if self.parent_id is None else self._store._version_by_id(self.parent_id)

    @property
    def appended(self) -> bool:
        """True when the last register call appended to this existing version."""
        return bool(self._row.get("_appended", False))

    @property
    def appended_count(self) -> int:
        """How many new items the last register call appended (0: none were new)."""
        return int(self._row.get("_appended_count", 0))

    @property
    def data_uri(self) -> str:
        return self._store.data_path(self._row["data_uri"])

    @property
    def segments(self) -> list[vector_data.Segment]:
        return [vector_data.Segment(**s) for s in self._row["segments"]]

    @property
    def model_digest(self) -> str | None:
        """The digest of the model kept with this version (None: no model kept)."""
        return self._row.get("model_digest")

    @property
    def model(self) -> dict[str, Any] | None:
        """The kept model's record (digest, kind, bytes, files, ref, spec), or None."""
        digest = self.model_digest
        kept = self._store._model(digest) if digest else None
        return kept.to_dict() if kept else None

    @property
    def aliases(self) -> list[str]:
        return self._store.aliases_of(self)

    # -- data ------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """The vectors as an Arrow table with columns ``id`` and ``vector``, checked
        against the content hash (IntegrityError when the data was damaged)."""
        return vector_data.read_table(
            self.data_uri, self._row["lance_version"], self.count, self.dim, self.segments
        )

    def iter_batches(
        self,
        batch_size: int,
        columns: Sequence[str] = ("id", "vector"),
        *,
        check_ahead: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        """The rows in stored order, in batches of at most ``batch_size``, never the whole table.

        ``columns``: ``("id", "vector")`` or ``("id",)``; ``vector`` is a fixed-size list of
        ``dim`` values of the stored dtype. Each segment is re-hashed as it streams: damage
        raises IntegrityError before that segment's last batch, so a consumer must not make
        what it wrote visible before the iteration ends. ``check_ahead``: check each segment
        before yielding any of its batches (reads the vectors twice); for writes that readers
        see at once.
        """
        wanted = tuple(columns)
        if wanted not in (("id", "vector"), ("id",)):
            raise InvalidInputError(f"columns {list(wanted)}: stream ['id', 'vector'] or ['id']")
        return vector_data.iter_batches(
            self.data_uri, self._row["lance_version"], self.count, self.dim, self.segments,
            batch_size, vectors="vector" in wanted, check_ahead=check_ahead,
        )  # fmt: skip

    @property
    def ids(self) -> list[str]:
        """Item ids in stored order."""
        return self._id_array().to_pylist()

    def _id_array(self) -> pa.Array:
        """The ids (n,), checked against the recorded hashes (IntegrityError if damaged)."""
        return vector_data.read_ids(
            self.data_uri, self._row["lance_version"], self.count, self.dim, self.segments
        )

    def vectors(self, ids: Sequence[str] | None = None) -> np.ndarray:
        """Vectors of shape (n, dim), for all items in stored order or for ``ids`` in order."""
        table = self.to_arrow()
        matrix = vector_data.vectors_of(table)
        if ids is None:
            return matrix
        return matrix[self._positions(table.column("id").combine_chunks(), ids)]

    def peek_rows(self, rows: np.ndarray) -> np.ndarray:
        """Vectors (len(rows), dim) at stored positions ``rows`` (int, ascending), read
        **without** the content-hash check (a hash covers whole segments): only the
        layout and the row count are checked. A preview only: :meth:`vectors` is the
        checked read that must confirm it."""
        return vector_data.take_rows(
            self.data_uri, self._row["lance_version"], self.count, self.dim, rows
        )

    def _positions(self, stored: pa.Array, ids: Sequence[str]) -> np.ndarray:
        import pyarrow.compute as pc

        wanted = pa.array(list(ids), type=pa.string())
        positions = pc.index_in(wanted, value_set=stored).to_numpy(zero_copy_only=False)
        missing = np.isnan(positions) if positions.dtype.kind == "f" else None
        if missing is not None and missing.any():
            first = wanted[int(np.argmax(missing))].as_py()
            raise NotFoundError(f"{int(missing.sum())} id(s) are not in {self.ref}, e.g. {first!r}")
        return positions.astype(np.int64)

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame with ``id`` and ``vector`` (one numpy row per item)."""
        import pandas as pd

        table = self.to_arrow()
        return pd.DataFrame(
            {"id": table.column("id").to_pylist(), "vector": list(vector_data.vectors_of(table))}
        )

    def items(self) -> pd.DataFrame:
        """The item rows (id, text, label, uri, metadata) for this version's ids."""
        return self._store.items(self.space, ids=self.ids)

    def to_dict(self) -> dict[str, Any]:
        parent = self.parent
        return {
            "ref": self.ref,
            "space": self.space,
            "version": str(self.number),
            "bump": str(self.bump),
            "reasons": self.reasons,
            "parent": str(parent.number) if parent else None,
            "aliases": self.aliases,
            "count": self.count,
            "dim": self.dim,
            "dtype": self.dtype,
            "metric": self.metric,
            "content_hash": self.content_hash,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "author": self.author,
            "verdict": self.verdict,
            "recipe": self.recipe.to_dict(),
            "model": self.model,
        }
