"""The store: catalog + vector data + artifacts, and the operations across spaces."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from embver.core import Ref, SemVer, parse_ref, validate_alias_name, validate_space_name
from embver.errors import NotFoundError
from embver.store import items as item_table
from embver.store import models, objectstore, schema
from embver.store import settings as store_settings
from embver.store import vectors as vector_data
from embver.store.actor import default_actor
from embver.store.artifacts import Artifacts
from embver.store.catalog import ChangeWatch, lock_space, open_catalog, write_transaction
from embver.store.location import StoreLocation, discover, new_location
from embver.store.space import Space
from embver.store.version import Version

if TYPE_CHECKING:
    import pandas as pd

#: the Store class (or the facade's subclass) that init/open return
S = TypeVar("S", bound="Store")
T = TypeVar("T")


def init(
    path: str | os.PathLike[str] = ".",
    catalog: str | None = None,
    data: str | None = None,
    *,
    store_class: type[S] | None = None,
) -> S:
    """Create a store in ``path/.embver/`` (SQLite + local Lance unless URLs are given).

    If the store cannot be opened (an unreachable catalog, say) nothing is left behind.
    ``store_class``: the :class:`Store` subclass to return (the facade's, in :mod:`embver.api`).
    """
    cls = store_class or Store
    with new_location(path, catalog, data) as location:
        return cls(location, new=True)  # type: ignore[return-value]


def open(path: str | os.PathLike[str] | None = None, *, store_class: type[S] | None = None) -> S:
    """Open the store at ``path``, ``$EMBVER_STORE``, or the nearest ``.embver/`` upward."""
    cls = store_class or Store
    return cls(StoreLocation.read(discover(path)))  # type: ignore[return-value]


class Store:
    """Everything embver keeps: spaces, versions, aliases, lineage, items, artifacts.

    Persistence only: what measures or builds (compare, project, composites, embedding)
    is composed on top by :mod:`embver.api`, whose ``Store`` subclass users hold.
    """

    #: the class of the spaces this store hands out (the facade's adds ``embed``)
    space_class: type[Space] = Space
    #: the class of the versions it hands out (the facade's adds ``encoder``)
    version_class: type[Version] = Version

    def __init__(self, location: StoreLocation, *, new: bool = False) -> None:
        """Open the store at ``location``; ``new``: it is being created (see :func:`init`)."""
        objectstore.check_environment(location.data_uri, os.environ)
        self.location = location
        self.engine = open_catalog(location.catalog_url, new=new)
        self.artifacts = Artifacts(self)
        self._changes: ChangeWatch | None = None

    def __repr__(self) -> str:
        return f"<Store {self.location.root}>"

    def close(self) -> None:
        if self._changes is not None:
            self._changes.close()
        self.engine.dispose()

    def catalog_changes(self) -> int | None:
        """A number that moves whenever anyone commits to the catalog (an alias set, a
        version registered), or None when this catalog cannot be watched cheaply (PostgreSQL):
        what was read from the catalog is current while it stays the same."""
        if self._changes is None:
            self._changes = ChangeWatch(self.engine)
        return self._changes.current()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- paths -------------------------------------------------------------
    def data_path(self, relative: str) -> str:
        """The URI of ``relative`` under the data root (a local path or an object-store URL)."""
        return f"{self.location.data_uri.rstrip('/')}/{relative}"

    def _filesystem(self) -> tuple[Any, str]:
        root = self.location.data_uri
        if objectstore.is_local(root):
            Path(objectstore.local_path(root)).mkdir(parents=True, exist_ok=True)
        return objectstore.filesystem(root)

    def _write_bytes(self, relative: str, payload: bytes) -> None:
        fs, base = self._filesystem()
        path = f"{base}/{relative}"
        fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(path) as stream:
            stream.write(payload)

    def _read_bytes(self, relative: str) -> bytes:
        fs, base = self._filesystem()
        try:
            with fs.open_input_stream(f"{base}/{relative}") as stream:
                return stream.read()
        except FileNotFoundError:
            raise NotFoundError(
                f"stored file {relative!r} is missing; run `embver verify`"
            ) from None

    # -- kept models (store/models.py) -------------------------------------
    def _keep_model(self, model: models.ModelFiles) -> str:
        """Write ``model``'s files and catalog row (once per digest); returns its digest."""
        return models.keep(self, model)

    def _model(self, digest: str) -> models.KeptModel | None:
        return models.model_row(self, digest)

    def _model_folder(self, digest: str) -> Path:
        """A local folder with kept model ``digest``'s files, each re-hashed (IntegrityError
        if one is damaged); object storage is copied into a per-store cache first."""
        return models.model_folder(self, digest)

    def _load_model(self, digest: str, load: Callable[[Path], T]) -> T:
        """``load(folder)`` of kept model ``digest``, returned only once its files re-hashed
        equal to the manifest (the re-hash overlaps the load; IntegrityError if damaged)."""
        return models.load_checked(self, digest, load)

    def _set_model(self, version: Version, digest: str) -> Version:
        """Record that kept model ``digest`` made ``version`` (one that had none)."""
        v = schema.versions
        with write_transaction(self.engine) as connection:
            connection.execute(
                v.update()
                .where(v.c.id == version.id, v.c.model_digest.is_(None))
                .values(model_digest=digest)
            )
        fresh = self._version_by_id(version.id)
        fresh._row.update({k: val for k, val in version._row.items() if k.startswith("_")})
        return fresh

    # -- spaces ------------------------------------------------------------
    def space(self, name: str, create: bool = True, kind: str = "plain") -> Space:
        """The space ``name``; unless ``create=False``, a new one is created by its first
        accepted version (input refused before that writes nothing)."""
        validate_space_name(name)
        row = self._space_row(name)
        if row is not None:
            return self.space_class(self, row)
        if not create:
            raise NotFoundError(f"space {name!r} does not exist; known: {self.space_names()}")
        return self.space_class.unwritten(self, name, kind)

    def _space_row(self, name: str) -> Any:
        with self.engine.connect() as connection:
            return (
                connection.execute(sa.select(schema.spaces).where(schema.spaces.c.name == name))
                .mappings()
                .first()
            )

    def _create_space(self, name: str, kind: str) -> Any:
        try:
            with write_transaction(self.engine) as connection:
                if self._space_row_in(connection, name) is None:
                    connection.execute(
                        schema.spaces.insert().values(
                            name=name, kind=kind, meta={}, created_at=_now()
                        )
                    )
        except sa.exc.IntegrityError:
            pass  # created concurrently by another writer
        return self._space_row(name)

    @staticmethod
    def _space_row_in(connection: Any, name: str) -> Any:
        return connection.execute(
            sa.select(schema.spaces.c.id).where(schema.spaces.c.name == name)
        ).first()

    def spaces(self) -> list[Space]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(schema.spaces).order_by(schema.spaces.c.name)
            ).mappings()
            return [self.space_class(self, row) for row in rows]

    def space_names(self) -> list[str]:
        return [s.name for s in self.spaces()]

    # -- versions ------------------------------------------------------------
    def versions(self, space: str) -> list[Version]:
        """All versions of ``space``, ordered by number."""
        space_obj = self.space(space, create=False)
        v = schema.versions
        with self.engine.connect() as connection:
            rows = (
                connection.execute(
                    sa.select(v)
                    .where(v.c.space_id == space_obj.id)
                    .order_by(v.c.major, v.c.minor, v.c.patch)
                )
                .mappings()
                .all()
            )
        return [self.version_class(self, row, space) for row in rows]

    def _version_by_id(self, version_id: int) -> Version:
        v, s = schema.versions, schema.spaces
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(v, s.c.name.label("space_name"))
                    .join(s, s.c.id == v.c.space_id)
                    .where(v.c.id == version_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"version id {version_id} does not exist")
        data = dict(row)
        return self.version_class(self, data, data.pop("space_name"))

    def get(self, ref: str | Ref) -> Version:
        """The version a reference names: ``space@1.2.3``, ``@alias``, ``@latest``, ``@1.2``."""
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        if parsed.kind == "alias":
            return self._by_alias(parsed)
        versions = self.versions(parsed.space)
        if parsed.kind == "version":
            found = [x for x in versions if x.number == parsed.version]
        elif parsed.kind == "prefix":
            found = [
                x for x in versions if x.number.as_tuple()[: len(parsed.prefix)] == parsed.prefix
            ]
        else:
            found = versions
        if not found:
            raise NotFoundError(
                f"no version matches {parsed}; {parsed.space} has "
                f"{[str(x.number) for x in versions] or 'no versions yet'}"
            )
        return found[-1]

    def _by_alias(self, ref: Ref) -> Version:
        space = self.space(ref.space, create=False)
        a = schema.aliases
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(a.c.version_id).where(a.c.space_id == space.id, a.c.name == ref.alias)
            ).first()
        if row is None:
            known = sorted(self.aliases(ref.space))
            raise NotFoundError(
                f"alias {ref.alias!r} does not exist in space {ref.space!r}; known: {known}"
            )
        return self._version_by_id(row[0])

    def _find_identity(self, space: Space, identity_hash: str) -> Version | None:
        if not space.exists:
            return None
        v = schema.versions
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(v).where(v.c.space_id == space.id, v.c.identity_hash == identity_hash)
                )
                .mappings()
                .first()
            )
        return self.version_class(self, row, space.name) if row else None

    def _mark_appended(self, version: Version, added: int = 0) -> Version:
        """``version`` re-read, marked as the target of a register call that appended
        ``added`` new items to it (0: it already held every item given)."""
        fresh = self._version_by_id(version.id)
        fresh._row["_appended"] = True
        fresh._row["_appended_count"] = int(added)
        return fresh

    def _append_segment(self, version: Version, ids: pa.Array, matrix: np.ndarray) -> Version:
        """Append rows to ``version``'s dataset and record the segment, under the catalog lock."""
        v = schema.versions
        with write_transaction(self.engine) as connection:
            row = (
                connection.execute(sa.select(v).where(v.c.id == version.id).with_for_update())
                .mappings()
                .one()
            )
            uri = self.data_path(row["data_uri"])
            vector_data.discard_uncommitted(uri, row["lance_version"])
            lance_version, segment = vector_data.write_segment(
                uri, ids, matrix, row["dtype"], mode="append"
            )
            segments = [vector_data.Segment(**s) for s in row["segments"]] + [segment]
            connection.execute(
                v.update()
                .where(v.c.id == version.id)
                .values(
                    lance_version=lance_version,
                    count=row["count"] + segment.rows,
                    segments=[s.to_dict() for s in segments],
                    content_hash=vector_data.content_hash(segments),
                )
            )
        return self._mark_appended(version, segment.rows)

    # -- items -----------------------------------------------------------------
    def _items_uri(self, space: str) -> str:
        return self.data_path(f"spaces/{space}/items.lance")

    def _add_items(self, space: str, items: pa.Table | None) -> None:
        """Add item rows whose ids the space does not have yet, and record them hashed.

        Holds the space's lock while it writes: two writers that both created the
        table would each commit Lance version 1 and one would replace the other, and
        the segments recorded must follow the order of the appends.
        """
        if items is None or items.num_rows == 0:
            return
        s = schema.spaces
        with write_transaction(self.engine) as connection:
            # FOR UPDATE: the row is read once the lock is ours, as the last writer left it
            query = sa.select(s).where(s.c.name == space).with_for_update()
            row = connection.execute(query).mappings().one()
            state = item_table.ItemState.of(row)
            written = item_table.append(self._items_uri(space), state, items)
            if written != state:
                connection.execute(s.update().where(s.c.id == row["id"]).values(written.to_row()))

    def items(self, space: str, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Item rows of ``space`` (id, text, label, uri, metadata as dicts), checked
        against their content hash (IntegrityError when the table is damaged or gone)."""
        import pandas as pd

        row = self._space_row(space)
        if row is None:
            raise NotFoundError(f"space {space!r} does not exist; known: {self.space_names()}")
        table = item_table.read(self._items_uri(space), item_table.ItemState.of(row))
        columns = list(item_table.COLUMNS)
        frame = table.to_pandas() if table is not None else pd.DataFrame(columns=columns)
        frame = frame.drop_duplicates("id", keep="first")
        frame["metadata"] = [json.loads(m) if isinstance(m, str) else {} for m in frame["metadata"]]
        if ids is not None:
            frame = frame.set_index("id").reindex(list(ids)).reset_index()
        return frame.reset_index(drop=True)

    def item_fields(
        self, space: str, fields: Sequence[str], ids: pa.Array | None = None
    ) -> pa.Table:
        """Columns ``id`` and ``fields`` (str) of the items of ``space`` (those whose id is in
        ``ids``), read segment by segment (never the whole item table), checked as :meth:`items`."""
        row = self._space_row(space)
        if row is None:
            raise NotFoundError(f"space {space!r} does not exist; known: {self.space_names()}")
        state = item_table.ItemState.of(row)
        return item_table.read_fields(self._items_uri(space), state, fields, ids)

    # -- aliases -----------------------------------------------------------------
    def set_alias(
        self,
        space: str,
        name: str,
        target: str | Version,
        reason: str | None = None,
        actor: str | None = None,
    ) -> Version:
        """Point alias ``name`` of ``space`` at ``target``, recording who, why and from where."""
        validate_alias_name(name)
        version = (
            target
            if isinstance(target, Version)
            else self.get(target if "@" in str(target) else f"{space}@{target}")
        )
        if version.space != space:
            raise NotFoundError(f"{version.ref} is not a version of space {space!r}")
        space_obj = self.space(space, create=False)
        a = schema.aliases
        with write_transaction(self.engine) as connection:
            # the read of the current target and the move are one step for concurrent movers
            lock_space(connection, space_obj.id)
            current = connection.execute(
                sa.select(a.c.version_id).where(a.c.space_id == space_obj.id, a.c.name == name)
            ).first()
            if current is None:
                connection.execute(
                    a.insert().values(
                        space_id=space_obj.id, name=name, version_id=version.id, updated_at=_now()
                    )
                )
            else:
                connection.execute(
                    a.update()
                    .where(a.c.space_id == space_obj.id, a.c.name == name)
                    .values(version_id=version.id, updated_at=_now())
                )
            self._alias_event(
                connection,
                space_obj.id,
                name,
                current[0] if current else None,
                version.id,
                actor,
                reason,
            )
        return version

    def remove_alias(
        self, space: str, name: str, reason: str | None = None, actor: str | None = None
    ) -> None:
        space_obj = self.space(space, create=False)
        a = schema.aliases
        with write_transaction(self.engine) as connection:
            lock_space(connection, space_obj.id)
            current = connection.execute(
                sa.select(a.c.version_id).where(a.c.space_id == space_obj.id, a.c.name == name)
            ).first()
            if current is None:
                raise NotFoundError(f"alias {name!r} does not exist in space {space!r}")
            connection.execute(a.delete().where(a.c.space_id == space_obj.id, a.c.name == name))
            self._alias_event(connection, space_obj.id, name, current[0], None, actor, reason)

    @staticmethod
    def _alias_event(
        connection: Any,
        space_id: int,
        name: str,
        old: int | None,
        new: int | None,
        actor: str | None,
        reason: str | None,
    ) -> None:
        connection.execute(
            schema.alias_events.insert().values(
                space_id=space_id,
                name=name,
                from_version_id=old,
                to_version_id=new,
                actor=actor or default_actor(),
                reason=reason,
                at=_now(),
            )
        )

    def aliases(self, space: str) -> dict[str, str]:
        """Alias name → version number string for ``space``."""
        space_obj = self.space(space, create=False)
        a, v = schema.aliases, schema.versions
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(a.c.name, v.c.major, v.c.minor, v.c.patch)
                .join(v, v.c.id == a.c.version_id)
                .where(a.c.space_id == space_obj.id)
            ).all()
        return {row[0]: str(SemVer(row[1], row[2], row[3])) for row in rows}

    def aliases_of(self, version: Version) -> list[str]:
        a = schema.aliases
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(a.c.name).where(a.c.version_id == version.id).order_by(a.c.name)
            ).all()
        return [row[0] for row in rows]

    def alias_history(self, space: str, name: str | None = None) -> list[dict[str, Any]]:
        """Every move of ``space``'s aliases (or of alias ``name``), oldest first."""
        space_obj = self.space(space, create=False)
        e = schema.alias_events
        query = sa.select(e).where(e.c.space_id == space_obj.id).order_by(e.c.id)
        if name is not None:
            query = query.where(e.c.name == name)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        numbers = self._numbers_by_id(space)
        return [
            {
                "alias": row["name"],
                "from": numbers.get(row["from_version_id"]),
                "to": numbers.get(row["to_version_id"]),
                "actor": row["actor"],
                "reason": row["reason"],
                "at": row["at"].isoformat(),
            }
            for row in rows
        ]

    def _numbers_by_id(self, space: str) -> dict[int, str]:
        return {x.id: str(x.number) for x in self.versions(space)}

    # -- lineage ---------------------------------------------------------------
    def edges(self, version: Version, direction: str = "up") -> list[dict[str, Any]]:
        """Lineage edges of ``version``: ``up`` to its parents/components, ``down`` to children."""
        e = schema.edges
        column, other = (
            (e.c.child_id, e.c.parent_id) if direction == "up" else (e.c.parent_id, e.c.child_id)
        )
        with self.engine.connect() as connection:
            rows = (
                connection.execute(sa.select(e).where(column == version.id).order_by(e.c.id))
                .mappings()
                .all()
            )
        result = []
        for row in rows:
            target = self._version_by_id(row[other.name])
            result.append(
                {
                    "kind": row["kind"],
                    "ref": target.ref,
                    "version_id": target.id,
                    "meta": dict(row["meta"] or {}),
                }
            )
        return result

    # -- the PATCH verdict -------------------------------------------------------------
    def judge_patch(
        self, old: np.ndarray, new: np.ndarray, metric: str, *, space: str, ids: Sequence[str]
    ) -> dict[str, Any] | None:
        """The verdict on a PATCH from the shared items' old (n, d) and new (n, d) vectors
        (rows paired; ``ids`` (n,) the items of ``space`` they belong to), as a dict with a
        ``label``; None: not measured (this layer knows no science; the facade's store
        measures it with :func:`embver.compare.verdict.patch_verdict` and, when a default
        task is set, the task figures). Raising refuses the registration."""
        return None

    def on_registered(self, version: Version) -> None:
        """Called once a new version is committed (not on appends); the facade's store
        records the default task's figures of a PATCH and its parent here."""

    # -- settings --------------------------------------------------------------
    @property
    def settings(self) -> dict[str, store_settings.Value]:
        """Every declared setting (see :mod:`embver.store.settings`) with its typed value."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(schema.settings)).all()
        return store_settings.resolve({row[0]: row[1] for row in rows})

    def setting(self, name: str) -> store_settings.Value:
        """The typed value of setting ``name`` (InvalidInputError for an unknown one)."""
        return self.settings[store_settings.setting(name).name]

    def set_setting(self, name: str, value: store_settings.Value) -> store_settings.Value:
        """Set ``name`` to ``value`` (a value of its type, or text such as ``"false"``);
        returns the typed value stored. Unknown names and bad values are refused."""
        typed = store_settings.setting(name).parse(value)
        table = schema.settings
        with write_transaction(self.engine) as connection:
            connection.execute(table.delete().where(table.c.key == name))
            connection.execute(table.insert().values(key=name, value=typed))
        return typed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
