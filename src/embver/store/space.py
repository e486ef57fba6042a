"""A space: a named embedding, its item table and its versions; registration lives here."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from embver.core import (
    Bump,
    Recipe,
    allocate_number,
    bump_reasons,
    check_declared_bump,
    derive_bump,
)
from embver.core.display import Part, RichDisplay
from embver.errors import ImmutabilityError, NotFoundError, RecipeError, VerdictError
from embver.store import inputs, schema
from embver.store import vectors as vector_data
from embver.store.actor import default_actor
from embver.store.catalog import lock_space, write_transaction

if TYPE_CHECKING:
    import pandas as pd

    from embver.store.models import ModelFiles
    from embver.store.staged import StagedProgress, StagedVersion
    from embver.store.store import Store
    from embver.store.version import Version


def coerce_recipe(recipe: Recipe | Mapping[str, Any] | None) -> Recipe:
    """A :class:`Recipe` from a Recipe or a mapping (as read from YAML/JSON)."""
    if isinstance(recipe, Recipe):
        return recipe
    if recipe is None:
        raise RecipeError("a recipe is required: pass recipe=embver.Recipe(...) or a mapping")
    return Recipe.from_dict(recipe)


class Space(RichDisplay):
    """A named embedding that others consume (e.g. ``stop-signs``)."""

    def __init__(self, store: Store, row: Any) -> None:
        self._store = store
        self._id: int | None = None if row["id"] is None else int(row["id"])
        self.name = str(row["name"])
        self.kind = str(row["kind"])

    @classmethod
    def unwritten(cls, store: Store, name: str, kind: str) -> Space:
        """A space that exists only in memory until its first version is accepted:
        input refused before then leaves no trace in the catalog."""
        return cls(store, {"id": None, "name": name, "kind": kind})

    def __repr__(self) -> str:
        return f"<Space {self.name}>"

    def _display_title(self) -> str:
        count = len(self.versions())
        return f"Space {self.name} ({self.kind}): {count} version{'s' if count != 1 else ''}"

    def _display_parts(self) -> list[Part]:
        from embver.store.display import space_parts

        return space_parts(self)

    @property
    def store(self) -> Store:
        """The store that holds this space."""
        return self._store

    @property
    def exists(self) -> bool:
        """Whether the catalog has this space (another writer may have created it)."""
        return self._lookup_id() is not None

    @property
    def id(self) -> int:
        """The catalog id; NotFoundError while the space has no row yet."""
        found = self._lookup_id()
        if found is None:
            raise NotFoundError(
                f"space {self.name!r} does not exist yet: it is created by its first version"
            )
        return found

    def _lookup_id(self) -> int | None:
        if self._id is None:
            row = self._store._space_row(self.name)
            self._id = None if row is None else int(row["id"])
        return self._id

    def _write(self) -> None:
        """Create the catalog row (once input was accepted), or find a concurrent writer's."""
        if self._lookup_id() is None:
            self._id = int(self._store._create_space(self.name, self.kind)["id"])

    def versions(self) -> list[Version]:
        return self._store.versions(self.name) if self.exists else []

    def get(self, selector: str = "latest") -> Version:
        return self._store.get(f"{self.name}@{selector}")

    def items(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        return self._store.items(self.name, ids=ids)

    def registered(self, recipe: Recipe) -> Version | None:
        """The version this embedding function (``recipe``'s identity) is registered as, if any:
        registering it again appends to that version instead of making a new one."""
        return self._store._find_identity(self, recipe.identity_hash)

    def unchanged(self, version: Version) -> Version:
        """``version`` as a register call that added nothing returns it: re-read, marked
        appended with 0 new items (see :attr:`Version.appended`)."""
        return self._store._mark_appended(version)

    def appended(self, version: Version, added: int) -> Version:
        """``version`` re-read, marked as the target of appends that added ``added`` items
        in all (several register calls, one per chunk of a large input)."""
        return self._store._mark_appended(version, added)

    def stage(
        self,
        ids: Sequence[str] | pa.Array,
        recipe: Recipe | Mapping[str, object],
        *,
        parent: str | Version | None = None,
        bump: Bump | str | None = None,
        author: str | None = None,
        model_files: ModelFiles | None = None,
        progress: StagedProgress | None = None,
    ) -> StagedVersion:
        """A new version of ``recipe`` for ``ids`` (n,), written a chunk of rows at a time
        with :meth:`StagedVersion.write` and registered by :meth:`StagedVersion.commit`.

        The recipe, the bump (as for :meth:`register`) and the ids are checked now,
        before anything is written; nothing reaches the catalog before ``commit``.
        ``progress``: what an earlier, interrupted staging recorded, to go on after its
        last chunk (ignored when its data is gone).
        """
        from embver.store.staged import StagedVersion

        checked = coerce_recipe(recipe)
        if author and not checked.context.author:
            checked = checked.with_context(author=author)
        return StagedVersion.begin(
            self, ids, checked, parent=parent, bump=bump, model_files=model_files,
            progress=progress,
        )  # fmt: skip

    def register(
        self,
        vectors: inputs.VectorInput,
        ids: inputs.IdsInput = None,
        recipe: Recipe | Mapping[str, object] | None = None,
        *,
        parent: str | Version | None = None,
        bump: Bump | str | None = None,
        texts: Sequence[str | None] | None = None,
        labels: Sequence[object] | None = None,
        uris: Sequence[str | None] | None = None,
        metadata: inputs.MetadataInput = None,
        author: str | None = None,
        edges: Sequence[tuple[int, str, Mapping[str, object]]] = (),
        model_files: ModelFiles | None = None,
    ) -> Version:
        """Register ``vectors`` (n, dim) for ``ids`` under ``recipe``.

        The bump is derived from the recipe against ``parent`` (default: the
        space's latest version); a recipe equal to an existing version's appends
        the new ids to that version. ``edges`` adds lineage edges
        ``(version_id, kind, meta)`` (composites use kind ``"component"``).
        ``model_files``: the model to keep with the version (checked by the caller;
        written once the input is accepted, before the version's row).
        """
        recipe = coerce_recipe(recipe)
        if author and not recipe.context.author:
            recipe = recipe.with_context(author=author)
        unchecked = inputs.prepare(vectors, ids, recipe.dim, recipe.dtype)
        existing = self.registered(recipe)
        if existing is not None:
            batch = self._check_input(unchecked, texts, labels, uris, metadata)
            return self._append_keeping(existing, batch, model_files)
        data_rel = f"spaces/{self.name}/versions/{uuid.uuid4().hex}.lance"
        lance_version, segment, accepted = self._write_accepting(
            self._store.data_path(data_rel), unchecked, recipe, parent, bump, model_files,
            texts, labels, uris, metadata,
        )  # fmt: skip
        row = version_row(
            recipe, accepted.derived, accepted.reasons, data_rel, lance_version, segment,
            accepted.verdict, accepted.model_digest,
        )  # fmt: skip
        try:
            version = self._commit_new(row, accepted.parent, accepted.derived, edges)
        except _RecipeRegisteredMeanwhile as twin:
            # Another writer registered this recipe while we wrote; our data is an orphan
            # for gc, and the ids go to the version that won.
            winner = self._store._version_by_id(twin.version_id)
            return self._append_keeping(winner, accepted.batch, model_files)
        self._store.on_registered(version)
        return version

    def _write_accepting(
        self,
        uri: str,
        unchecked: inputs.Unchecked,
        recipe: Recipe,
        *accept_args: Any,
    ) -> tuple[int, vector_data.Segment, _Accepted]:
        """Write the vectors to ``uri`` while one thread accepts the input (:meth:`_accept`)
        and another hashes (:func:`~embver.store.vectors.write_segment`).

        The hashing does not wait for the accepting: that ends in catalog commits and
        the item table's write, which wait on the disk, and the hashes would otherwise
        start only then (1M × 384: about 1 s into a 1.2 s write).
        When either fails (bad input first of all) the write stops and the dataset is
        removed again; the input's error is the one raised.
        """
        abandon = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as accepter:
            accepting = accepter.submit(self._accept, unchecked, recipe, abandon, *accept_args)
            try:
                lance_version, segment = vector_data.write_segment(
                    uri, unchecked.ids, unchecked.vectors, recipe.dtype, abandon=abandon
                )
                return lance_version, segment, accepting.result()
            except BaseException:
                abandon.set()
                wait([accepting])
                vector_data.remove_dataset(uri)
                accepting.result()  # the input's error, when it was refused
                raise

    def _accept(
        self,
        unchecked: inputs.Unchecked,
        recipe: Recipe,
        abandon: threading.Event,
        parent: str | Version | None,
        bump: Bump | str | None,
        model_files: ModelFiles | None,
        *item_fields: Any,
    ) -> _Accepted:
        """Check the input and the bump of a new version; once both are accepted, create
        the space's row and add the item rows. ``abandon`` is set when they are refused."""
        try:
            batch = self._check_input(unchecked, *item_fields)
            parent_version = self._resolve_parent(parent)
            parent_recipe = parent_version.recipe if parent_version else None
            derived = derive_bump(parent_recipe, recipe)
            reasons = bump_reasons(parent_recipe, recipe)
            check_declared_bump(bump, derived, reasons)
            verdict = self._patch_verdict(parent_version, batch) if derived == Bump.PATCH else None
        except BaseException:
            abandon.set()
            raise
        self._write()  # the input is accepted: from here on the store changes
        model_digest = self._store._keep_model(model_files) if model_files else None
        self._store._add_items(self.name, batch.items)
        return _Accepted(batch, parent_version, derived, reasons, verdict, model_digest)

    def _append_keeping(
        self, existing: Version, batch: inputs.Batch, model_files: ModelFiles | None
    ) -> Version:
        """Append to ``existing``; a model given for a version that keeps none is kept."""
        appended = self._append(existing, batch)
        if model_files is None or existing.model_digest is not None:
            return appended
        return self._store._set_model(appended, self._store._keep_model(model_files))

    # -- steps -------------------------------------------------------------
    def _check_input(
        self,
        unchecked: inputs.Unchecked,
        texts: Any,
        labels: Any,
        uris: Any,
        metadata: Any,
    ) -> inputs.Batch:
        inputs.check_values(unchecked)
        items = inputs.item_table(unchecked.ids, texts, labels, uris, metadata)
        return inputs.Batch(ids=unchecked.ids, vectors=unchecked.vectors, items=items)

    def _resolve_parent(self, parent: str | Version | None) -> Version | None:
        from embver.store.version import Version

        if isinstance(parent, Version):
            if parent.space != self.name:
                raise RecipeError(
                    f"parent {parent.ref} belongs to another space than {self.name!r}"
                )
            return parent
        if parent is not None:
            return self._store.get(str(parent) if "@" in str(parent) else f"{self.name}@{parent}")
        versions = self.versions()
        return versions[-1] if versions else None

    def _patch_verdict(self, parent: Version | None, batch: inputs.Batch) -> dict[str, Any] | None:
        """Measure the drop-in promise of a PATCH on the items it shares with its parent."""
        if parent is None or parent.dim != batch.vectors.shape[1]:
            return None
        old_table = parent.to_arrow()
        shared_old, shared_new = _shared_positions(
            old_table.column("id").combine_chunks(), batch.ids
        )
        if len(shared_old) < 20:
            return None
        old = vector_data.vectors_of(old_table)[shared_old].astype(np.float32)
        new = batch.vectors[shared_new].astype(np.float32)
        shared_ids = batch.ids.take(pa.array(shared_new)).to_pylist()
        result = self._store.judge_patch(old, new, parent.metric, space=self.name, ids=shared_ids)
        if result is None:
            return None
        if result["label"] == "breaking" and self._store.setting("strict"):
            raise VerdictError(
                f"strict mode: this PATCH of {parent.ref} is breaking, so it was refused; "
                f"measured: {result}"
            )
        return result

    def _commit_new(
        self,
        row: dict[str, Any],
        parent: Version | None,
        derived: Bump,
        edges: Sequence[tuple[int, str, Mapping[str, object]]],
    ) -> Version:
        versions = schema.versions
        now = dt.datetime.now(dt.timezone.utc)
        with write_transaction(self._store.engine) as connection:
            lock_space(connection, self.id)
            twin = connection.execute(
                sa.select(versions.c.id).where(
                    versions.c.space_id == self.id,
                    versions.c.identity_hash == row["identity_hash"],
                )
            ).first()
            if twin is not None:
                raise _RecipeRegisteredMeanwhile(int(twin[0]))
            taken = [
                _semver(r)
                for r in connection.execute(
                    sa.select(versions.c.major, versions.c.minor, versions.c.patch).where(
                        versions.c.space_id == self.id
                    )
                )
            ]
            number = allocate_number(parent.number if parent else None, derived, taken)
            values = {
                **row,
                "space_id": self.id,
                "major": number.major,
                "minor": number.minor,
                "patch": number.patch,
                "parent_id": parent.id if parent else None,
                "created_at": now,
            }
            inserted = connection.execute(versions.insert().values(**values))
            version_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            lineage: list[tuple[int, str, dict[str, Any]]] = (
                [(parent.id, "parent", {})] if parent else []
            )
            for source_id, kind, meta in [*lineage, *edges]:
                connection.execute(
                    schema.edges.insert().values(
                        child_id=version_id, parent_id=source_id, kind=kind, meta=meta
                    )
                )
        return self._store._version_by_id(version_id)

    def _append(self, existing: Version, batch: inputs.Batch) -> Version:
        """Append ids new to ``existing``; ids it has must come with identical vectors."""
        table = existing.to_arrow()
        stored_ids = table.column("id").combine_chunks()
        old_pos, new_pos = _shared_positions(stored_ids, batch.ids)
        if len(old_pos):
            stored = vector_data.vectors_of(table)[old_pos]
            differs = np.any(stored != batch.vectors[new_pos], axis=1)
            if differs.any():
                first = batch.ids[int(new_pos[int(np.argmax(differs))])].as_py()
                raise ImmutabilityError(
                    f"{int(differs.sum())} id(s) already in {existing.ref} come with different "
                    f"vectors (e.g. {first!r}); registered vectors are immutable — register a new "
                    "version (change the recipe) instead"
                )
        fresh = np.setdiff1d(np.arange(len(batch.ids)), new_pos)
        if len(fresh) == 0:
            return self.unchanged(existing)
        ids = batch.ids.take(pa.array(fresh))
        matrix = batch.vectors[fresh]
        self._store._add_items(
            self.name, batch.items.take(pa.array(fresh)) if batch.items else None
        )
        return self._store._append_segment(existing, ids, matrix)


@dataclass(frozen=True)
class _Accepted:
    """What :meth:`Space._accept` found: the checked input and the new version's bump."""

    batch: inputs.Batch
    parent: Version | None
    derived: Bump
    reasons: list[str]
    verdict: dict[str, Any] | None
    model_digest: str | None


class _RecipeRegisteredMeanwhile(Exception):
    """A concurrent writer committed the same recipe first (rolls back our transaction)."""

    def __init__(self, version_id: int) -> None:
        super().__init__(version_id)
        self.version_id = version_id


def _shared_positions(stored: pa.Array, incoming: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in ``stored``, in ``incoming``) of the ids both contain."""
    import pyarrow.compute as pc

    found = pc.index_in(incoming, value_set=stored)
    mask = found.is_valid().to_numpy(zero_copy_only=False)
    new_pos = np.flatnonzero(mask)
    old_pos = found.filter(found.is_valid()).to_numpy(zero_copy_only=False).astype(np.int64)
    return old_pos, new_pos


def _semver(row: Any) -> Any:
    from embver.core import SemVer

    return SemVer(int(row[0]), int(row[1]), int(row[2]))


def version_row(
    recipe: Recipe,
    bump: Bump,
    reasons: list[str],
    data_rel: str,
    lance_version: int,
    segment: vector_data.Segment,
    verdict: dict[str, Any] | None,
    model_digest: str | None,
) -> dict[str, Any]:
    """The catalog row of a new version whose vectors are the one ``segment`` at
    ``data_rel`` (Lance version ``lance_version``)."""
    return {
        "bump": bump.name.lower(),
        "reasons": reasons,
        "recipe": recipe.to_dict(),
        "identity_hash": recipe.identity_hash,
        "dim": recipe.dim,
        "dtype": recipe.dtype,
        "metric": recipe.metric,
        "data_uri": data_rel,
        "lance_version": lance_version,
        "count": segment.rows,
        "segments": [segment.to_dict()],
        "content_hash": vector_data.content_hash([segment]),
        "verdict": verdict,
        "author": recipe.context.author or default_actor(),
        "model_digest": model_digest,
    }
