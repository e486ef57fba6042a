"""Derived results cached in the store: projections, comparisons, adapters, clusters.

An artifact is a JSON ``meta`` plus an optional binary payload kept under the
data root (``artifacts/<kind>/<uuid>.bin``); the catalog row is written last.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.store import schema
from embver.store.catalog import write_transaction

if TYPE_CHECKING:
    from embver.store.store import Store


@dataclass
class Artifact:
    """One cached result: ``meta`` (JSON data) and ``payload`` (bytes, loaded lazily)."""

    kind: str
    key: str
    meta: dict[str, Any]
    version_ids: list[int]
    created_at: dt.datetime
    data_uri: str | None
    _store: Store = field(repr=False)

    @property
    def payload(self) -> bytes:
        if self.data_uri is None:
            return b""
        return self._store.read_bytes(self.data_uri)


class Artifacts:
    """The artifact table of a store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def put(
        self,
        kind: str,
        key: str,
        payload: bytes | None = None,
        meta: dict[str, Any] | None = None,
        versions: Sequence[int] = (),
    ) -> Artifact:
        """Store (or replace) the artifact ``kind``/``key``."""
        data_uri = None
        if payload is not None:
            data_uri = f"artifacts/{kind}/{uuid.uuid4().hex}.bin"
            self._store.write_bytes(data_uri, payload)
        row = {
            "kind": kind,
            "key": key,
            "meta": meta or {},
            "data_uri": data_uri,
            "version_ids": list(versions),
            "created_at": dt.datetime.now(dt.timezone.utc),
        }
        table = schema.artifacts
        with write_transaction(self._store.engine) as connection:
            connection.execute(table.delete().where(table.c.kind == kind, table.c.key == key))
            connection.execute(table.insert().values(**row))
        return Artifact(_store=self._store, **row)  # type: ignore[arg-type]

    def get(self, kind: str, key: str) -> Artifact | None:
        table = schema.artifacts
        with self._store.engine.connect() as connection:
            row = (
                connection.execute(sa.select(table).where(table.c.kind == kind, table.c.key == key))
                .mappings()
                .first()
            )
        return self._artifact(row) if row else None

    def find(self, kind: str, version_id: int | None = None) -> list[Artifact]:
        table = schema.artifacts
        with self._store.engine.connect() as connection:
            rows = (
                connection.execute(
                    sa.select(table).where(table.c.kind == kind).order_by(table.c.id)
                )
                .mappings()
                .all()
            )
        found = [self._artifact(row) for row in rows]
        if version_id is not None:
            found = [a for a in found if version_id in a.version_ids]
        return found

    def delete(self, kind: str, key: str) -> None:
        table = schema.artifacts
        with write_transaction(self._store.engine) as connection:
            connection.execute(table.delete().where(table.c.kind == kind, table.c.key == key))

    def _artifact(self, row: Any) -> Artifact:
        return Artifact(
            kind=row["kind"],
            key=row["key"],
            meta=dict(row["meta"] or {}),
            version_ids=list(row["version_ids"] or []),
            created_at=row["created_at"],
            data_uri=row["data_uri"],
            _store=self._store,
        )
