"""A version written before it exists: vectors and item rows staged chunk by chunk,
committed once.

:meth:`Space.stage` checks the recipe, the bump and every id up front; then
:meth:`StagedVersion.write` takes the vectors (and item fields) of the next rows, in id
order, and appends them to two Lance datasets that no catalog row names yet. Only
:meth:`StagedVersion.commit` touches the catalog: it adds the staged item rows, hashes
the whole vector dataset as one segment (the content hash that registering every row
at once gives) and inserts the version's row in one transaction. A run killed before
that leaves no version, no space row and no item rows; its staged datasets are
orphans that ``gc`` sweeps, unless the next run passes the :class:`StagedProgress`
it recorded and goes on after the last chunk written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from embver.core import Bump, Recipe, bump_reasons, check_declared_bump, derive_bump
from embver.errors import InvalidInputError, RecipeError
from embver.store import inputs
from embver.store import vectors as vector_data

if TYPE_CHECKING:
    from embver.store.models import ModelFiles
    from embver.store.space import Space
    from embver.store.version import Version


@dataclass(frozen=True)
class StagedProgress:
    """Where a staged version stands: its vector dataset (relative to the data root),
    the rows written, and the Lance versions of its vectors and items after them."""

    data_rel: str
    rows: int = 0
    lance_version: int | None = None
    items_version: int | None = None

    @property
    def items_rel(self) -> str:
        """The staged item rows, beside the vectors (``gc`` sweeps both if abandoned)."""
        return self.data_rel.removesuffix(".lance") + ".items.lance"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StagedProgress:
        return cls(
            str(data["data_rel"]),
            int(data["rows"]),
            data.get("lance_version"),
            data.get("items_version"),
        )


class StagedVersion:
    """The rows of one new version, written in order before its catalog row exists."""

    def __init__(
        self,
        space: Space,
        recipe: Recipe,
        ids: pa.Array,
        parent: Version | None,
        bump: tuple[Bump, list[str]],
        model_files: ModelFiles | None,
        progress: StagedProgress,
    ) -> None:
        self._space, self._recipe, self._ids = space, recipe, ids
        self._parent, (self._derived, self._reasons) = parent, bump
        self._model_files = model_files
        self._progress = progress
        # The content hash, fed as rows are written (ids first, as hash_segment does); a
        # resumed staging re-reads what the earlier run wrote instead (hash_dataset).
        self._hasher = vector_data.id_hasher(ids) if progress.rows == 0 else None

    @classmethod
    def begin(
        cls,
        space: Space,
        ids: Sequence[str] | pa.Array,
        recipe: Recipe,
        *,
        parent: str | Version | None = None,
        bump: Bump | str | None = None,
        model_files: ModelFiles | None = None,
        progress: StagedProgress | None = None,
    ) -> StagedVersion:
        """Check everything known before the vectors (see :meth:`Space.stage`)."""
        id_array = inputs.as_ids(ids, len(ids))
        existing = space.registered(recipe)
        if existing is not None:
            raise RecipeError(
                f"this recipe is registered as {existing.ref} already; register the vectors "
                "to append them to it instead of staging a new version"
            )
        parent_version = space._resolve_parent(parent)
        parent_recipe = parent_version.recipe if parent_version else None
        derived = derive_bump(parent_recipe, recipe)
        reasons = bump_reasons(parent_recipe, recipe)
        check_declared_bump(bump, derived, reasons)
        resumed = _reopen(space, progress, len(id_array)) if progress is not None else None
        fresh = StagedProgress(f"spaces/{space.name}/versions/{uuid.uuid4().hex}.lance")
        return cls(
            space, recipe, id_array, parent_version, (derived, reasons), model_files,
            resumed or fresh,
        )  # fmt: skip

    @property
    def progress(self) -> StagedProgress:
        """What to pass to a later :meth:`Space.stage` to go on after the rows written."""
        return self._progress

    @property
    def ids(self) -> pa.Array:
        """Every id of the version (n,), in the order their rows are written."""
        return self._ids

    def write(
        self,
        vectors: np.ndarray,
        *,
        texts: Sequence[str | None] | None = None,
        labels: Sequence[object] | None = None,
        uris: Sequence[str | None] | None = None,
    ) -> StagedProgress:
        """Append the next ``len(vectors)`` rows: vectors (k, dim) for the next k ids, and
        their item fields (k each). Returns the progress to record once this returns."""
        first, count = self._progress.rows, len(vectors)
        if first + count > len(self._ids):
            raise InvalidInputError(
                f"{first + count} rows written to a staged version of {len(self._ids)} ids; "
                "write exactly one row per id"
            )
        chunk_ids = self._ids.slice(first, count)
        matrix = inputs.check_vectors(
            inputs.as_matrix(vectors), chunk_ids, self._recipe.dim, self._recipe.dtype
        )
        items = inputs.item_table(chunk_ids, texts, labels, uris)
        store, state = self._space.store, self._progress
        items_version = _append(store.data_path(state.items_rel), items, state.items_version)
        table = vector_data.to_table(chunk_ids, matrix, self._recipe.dtype)
        lance_version = _append(store.data_path(state.data_rel), table, state.lance_version)
        if self._hasher is not None:
            self._hasher.update(matrix.view(np.uint8).reshape(-1).data)
        self._progress = StagedProgress(state.data_rel, first + count, lance_version, items_version)
        return self._progress

    def commit(self) -> Version:
        """Register the staged rows as one version (every id must have its row)."""
        state = self._progress
        if state.rows != len(self._ids) or state.lance_version is None:
            raise InvalidInputError(
                f"the staged version has {state.rows} of its {len(self._ids)} rows; write "
                "the rest before commit"
            )
        space, store = self._space, self._space.store
        uri = store.data_path(state.data_rel)
        digest, ids_digest = self._content_hash(uri)
        files = vector_data.hash_new_files(uri, set())
        segment = vector_data.Segment(state.rows, digest, files, ids_digest)
        verdict = self._patch_verdict(uri, segment)
        space._write()  # the rows are whole: from here on the catalog changes
        model_digest = store._keep_model(self._model_files) if self._model_files else None
        for items in self._staged_items():
            store._add_items(space.name, items)
        row = self._row(segment, verdict, model_digest)
        from embver.store.space import _RecipeRegisteredMeanwhile

        try:
            version = space._commit_new(row, self._parent, self._derived, ())
        except _RecipeRegisteredMeanwhile as twin:
            # Another writer registered this recipe while we staged: the ids go to its version.
            winner = store._version_by_id(twin.version_id)
            return space._append_keeping(winner, self._batch(uri, segment), self._model_files)
        store.on_registered(version)
        vector_data.remove_dataset(store.data_path(state.items_rel))
        return version

    # -- steps -------------------------------------------------------------
    def _content_hash(self, uri: str) -> tuple[str, str]:
        """(segment hash, ids hash) of every row, as :func:`vector_data.hash_segment`
        gives: fed while writing, or read back after a resumed staging."""
        if self._hasher is None:
            assert self._progress.lance_version is not None
            return vector_data.hash_dataset(uri, self._progress.lance_version, self._ids)
        ids_digest = str(vector_data.id_hasher(self._ids).hexdigest())
        return str(self._hasher.hexdigest()), ids_digest

    def _row(
        self, segment: vector_data.Segment, verdict: dict[str, Any] | None, model: str | None
    ) -> dict[str, Any]:
        from embver.store.space import version_row

        assert self._progress.lance_version is not None
        return version_row(
            self._recipe, self._derived, self._reasons, self._progress.data_rel,
            self._progress.lance_version, segment, verdict, model,
        )  # fmt: skip

    def _patch_verdict(self, uri: str, segment: vector_data.Segment) -> dict[str, Any] | None:
        """The drop-in verdict of a PATCH (reads the staged vectors whole, as comparing
        with the parent does)."""
        parent = self._parent
        if self._derived != Bump.PATCH or parent is None or parent.dim != self._recipe.dim:
            return None
        return self._space._patch_verdict(parent, self._batch(uri, segment))

    def _batch(self, uri: str, segment: vector_data.Segment) -> inputs.Batch:
        """The staged rows as one checked batch (ids, vectors and items), read whole."""
        state = self._progress
        assert state.lance_version is not None
        table = vector_data.read_table(
            uri, state.lance_version, state.rows, self._recipe.dim, [segment]
        )
        items = pa.concat_tables(list(self._staged_items()))
        return inputs.Batch(self._ids, vector_data.vectors_of(table), items)

    def _staged_items(self) -> Iterator[pa.Table]:
        """The staged item rows, one table per chunk written."""
        state = self._progress
        if state.items_version is None:
            return
        uri = self._space.store.data_path(state.items_rel)
        dataset = vector_data.open_dataset(uri, state.items_version, what="staged item rows")
        with vector_data.lance_failures_as_integrity_errors(uri, what="staged item rows"):
            for fragment in dataset.get_fragments():
                yield fragment.to_table()


def _append(uri: str, table: pa.Table, lance_version: int | None) -> int:
    """Append ``table`` to the staged dataset at ``uri`` (last recorded at ``lance_version``,
    None: nothing yet, so what a killed first write left is overwritten)."""
    if lance_version is None:
        mode = "overwrite" if vector_data.list_files(uri) else "create"
        return vector_data.write_dataset(uri, table, mode)
    return vector_data.write_dataset(uri, table, "append")


def _reopen(space: Space, progress: StagedProgress, count: int) -> StagedProgress | None:
    """``progress`` with its datasets rolled back to what it recorded, or None when they
    are gone or do not match it (the run then starts over)."""
    if progress.rows == 0 or progress.rows > count or progress.lance_version is None:
        return None
    data = space.store.data_path(progress.data_rel)
    items = space.store.data_path(progress.items_rel)
    try:
        for uri, version in ((data, progress.lance_version), (items, progress.items_version)):
            if version is None:
                return None
            vector_data.discard_uncommitted(uri, version)
            rows = vector_data.open_dataset(uri, version).count_rows()
            if rows != progress.rows:
                return None
    except Exception:  # swept by gc, or damaged: nothing worth keeping
        return None
    return progress
