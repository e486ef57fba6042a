"""Derived results cached in the store: projections, comparisons, adapters, clusters.

An artifact is a JSON ``meta`` plus an optional binary payload kept under the
data root (``artifacts/<kind>/<uuid>.bin``); the catalog row is written last, with
a content hash over both (see :func:`artifact_hash`). Reading the payload (or, for
an artifact without one, its meta) re-hashes it: damage raises IntegrityError
rather than reaching a decoder (a damaged projection used to end in BadZipFile).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from embver.errors import IntegrityError, NotFoundError
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
    content_hash: str | None = None

    @property
    def payload(self) -> bytes:
        """The payload bytes, checked with the meta against the content hash."""
        if self.data_uri is None:
            return b""
        try:
            payload = self._store._read_bytes(self.data_uri)
        except NotFoundError:
            raise IntegrityError(
                f"artifact {self.kind}/{self.key}: its payload {self.data_uri!r} is missing; "
                "run `embver verify`"
            ) from None
        self.check(payload)
        return payload

    def check(self, payload: bytes | None = None) -> None:
        """IntegrityError unless ``meta`` and ``payload`` hash to the recorded content hash
        (artifacts written before hashes were recorded are not checked)."""
        if self.content_hash is None:
            return
        if artifact_hash(self.meta, payload) != self.content_hash:
            raise IntegrityError(
                f"artifact {self.kind}/{self.key} does not match its content hash "
                "(damaged or replaced); run `embver verify`, then delete and recompute it"
            )


def artifact_hash(meta: dict[str, Any], payload: bytes | None) -> str:
    """blake3 over the meta as canonical JSON, then (if there is one) the payload."""
    import blake3

    hasher = blake3.blake3(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    if payload is not None:
        hasher.update(b"\0payload\0")
        hasher.update(payload)
    return str(hasher.hexdigest())


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
            self._store._write_bytes(data_uri, payload)
        row = {
            "kind": kind,
            "key": key,
            "meta": meta or {},
            "data_uri": data_uri,
            "version_ids": list(versions),
            "created_at": dt.datetime.now(dt.timezone.utc),
            "content_hash": artifact_hash(meta or {}, payload),
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

    def all(self) -> list[Artifact]:
        """Every artifact, of every kind (unchecked: ``verify`` checks them)."""
        table = schema.artifacts
        with self._store.engine.connect() as connection:
            rows = connection.execute(sa.select(table).order_by(table.c.id)).mappings().all()
        return [self._artifact(row, check=False) for row in rows]

    def _artifact(self, row: Any, check: bool = True) -> Artifact:
        """The artifact of a catalog row; one without a payload (a composite definition)
        is all meta, so it is checked here, before anyone reads it."""
        artifact = Artifact(
            kind=row["kind"],
            key=row["key"],
            meta=dict(row["meta"] or {}),
            version_ids=list(row["version_ids"] or []),
            created_at=row["created_at"],
            data_uri=row["data_uri"],
            _store=self._store,
            content_hash=row["content_hash"],
        )
        if check and artifact.data_uri is None:
            artifact.check()
        return artifact


def problems(artifact: Artifact) -> list[str]:
    """What ``verify`` finds wrong with ``artifact``: a missing or damaged payload, or meta
    that no longer matches the content hash."""
    try:
        if artifact.data_uri is None:
            artifact.check()
        else:
            artifact.payload  # noqa: B018 (reading it checks it)
    except IntegrityError as exc:
        return [str(exc)]
    return []
