"""Qdrant targets: ``qdrant://host:port/NAME`` (a server; ``?api_key=`` or the URL's password,
``?https=true``) and ``qdrant:///abs/folder/NAME`` (local mode, ``QdrantClient(path=...)``).

Physical tables are collections ``NAME__embver_n``; the reader name is a collection alias,
moved in one ``update_collection_aliases`` request (atomic on a server; in local mode the
alias map is replaced in one step). Qdrant point ids are unsigned ints or UUIDs, so a
point's id is ``uuid5`` of the embver id and the embver id is the payload field ``id``,
beside ``embver_space``, ``embver_version``, ``embver_content_hash`` and the item fields.

Local mode admits one client per folder: targets in one process share it
(:func:`local_client`), and another process cannot open the folder while it is in use.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from embver.errors import EmbverError, IndexTargetError
from embver.index._rows import batch_rows, chunks, rows_batch
from embver.index.base import ID, VECTOR, IndexURL, Target, register_target

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from qdrant_client import QdrantClient

#: the namespace of the point UUIDs (uuid5 of the embver id)
POINT_NAMESPACE = uuid.UUID("5b0e7c8e-2f4e-5d6a-9c1b-0e6b7a3d2f11")
_UPSERT_CHUNK = 1024
#: payload field with the vector's norm: Qdrant normalises a Cosine collection's vectors,
#: and scan (hence import) hands back the vectors as published
NORM = "embver_norm"
_DISTANCES = {"cosine": "Cosine", "dot": "Dot", "l2": "Euclid"}

_LOCAL_LOCK = threading.Lock()
_LOCAL: dict[str, tuple[QdrantClient, int]] = {}


def point_id(item_id: str) -> str:
    """The Qdrant point id of an embver item id: a deterministic UUID (uuid5)."""
    return str(uuid.uuid5(POINT_NAMESPACE, item_id))


def local_client(path: str) -> QdrantClient | None:
    """The local-mode client this process holds for ``path``, if a target opened one."""
    with _LOCAL_LOCK:
        held = _LOCAL.get(path)
    return None if held is None else held[0]


def _acquire_local(path: str) -> QdrantClient:
    from qdrant_client import QdrantClient

    with _LOCAL_LOCK:
        client, users = _LOCAL.get(path) or (None, 0)
        if client is None:
            client = QdrantClient(path=path)
        _LOCAL[path] = (client, users + 1)
        return client


def _release_local(path: str) -> None:
    with _LOCAL_LOCK:
        client, users = _LOCAL[path]
        if users > 1:
            _LOCAL[path] = (client, users - 1)
            return
        del _LOCAL[path]
    client.close()


@contextlib.contextmanager
def _engine_errors(url: IndexURL, doing: str) -> Iterator[None]:
    """Turn the client's errors (unreachable, refused, locked folder) into one line."""
    try:
        yield
    except EmbverError:
        raise
    except Exception as error:  # qdrant_client raises httpx, grpc and its own errors
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        hint = (
            "another process holds this local folder (local mode admits one client): stop it "
            "or use a Qdrant server"
            if "already accessed" in first
            else "check the host, port and api key"
        )
        raise IndexTargetError(f"{url}: Qdrant could not {doing}: {first[:300]} — {hint}") from None


@register_target("qdrant")
class QdrantTarget(Target):
    """A Qdrant collection alias over physical collections."""

    atomic_switch: ClassVar[bool] = True
    switch_note: ClassVar[str] = (
        "collection alias moved in one update_collection_aliases request (delete + create, "
        "applied atomically)"
    )

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        self.path = None if url.host else url.location
        if self.path is not None and not self.path:
            raise IndexTargetError(
                f"{url}: write qdrant://host:port/NAME or qdrant:///abs/folder/NAME"
            )
        self._client: QdrantClient | None = None

    @property
    def client(self) -> QdrantClient:
        """The engine's client (in local mode, the one this process shares for the folder)."""
        if self._client is None:
            with _engine_errors(self.url, "connect"):
                self._client = self._connect()
        return self._client

    def _connect(self) -> QdrantClient:
        from qdrant_client import QdrantClient

        if self.path is not None:
            return _acquire_local(self.path)
        params = self.url.params
        client = QdrantClient(
            host=self.url.host,
            port=self.url.port or 6333,
            api_key=params.get("api_key") or self.url.password,
            https=params.get("https", "false").lower() == "true",
            timeout=int(params.get("timeout", "10")),
            check_compatibility=False,
        )
        client.get_collections()  # fail here, in one line, when unreachable or refused
        return client

    def _collections(self) -> list[str]:
        with _engine_errors(self.url, "list collections"):
            return [c.name for c in self.client.get_collections().collections]

    def _aliases(self) -> dict[str, str]:
        with _engine_errors(self.url, "list aliases"):
            return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def _need(self, table: str) -> None:
        if table not in self._collections():
            raise IndexTargetError(
                f"{self.url}: collection {table!r} does not exist — publish first"
            )

    # ------------------------------------------------------------------ the interface

    def reader_table(self) -> str | None:
        return self._aliases().get(self.reader)

    def tables(self) -> list[str]:
        return self.physical_tables(self._collections())

    def foreign(self) -> str | None:
        return self.alias_foreign(self._collections())

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        from qdrant_client import models

        self.check_physical(table)
        if self.dimension(table) is not None:
            self.check_dimension(table, dim)
            return
        distance = models.Distance(_DISTANCES[metric])
        with _engine_errors(self.url, f"create collection {table!r}"):
            self.client.create_collection(
                table, vectors_config=models.VectorParams(size=dim, distance=distance)
            )

    def dimension(self, table: str) -> int | None:
        from qdrant_client import models

        if table not in self._collections():
            return None
        with _engine_errors(self.url, f"read collection {table!r}"):
            vectors = self.client.get_collection(table).config.params.vectors
        if not isinstance(vectors, models.VectorParams):
            raise IndexTargetError(
                f"{self.url}: collection {table!r} has named vectors, not embver's"
            )
        return int(vectors.size)

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        import numpy as np
        from qdrant_client import models

        self._need(table)
        ids, vectors, values = batch_rows(batch)
        norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
        for start, stop in chunks(len(ids), _UPSERT_CHUNK):
            points = models.Batch(
                ids=[point_id(i) for i in ids[start:stop]],
                vectors=vectors[start:stop].tolist(),
                payloads=[
                    {ID: i, **v, NORM: float(n)}
                    for i, v, n in zip(
                        ids[start:stop], values[start:stop], norms[start:stop], strict=True
                    )
                ],
            )
            with _engine_errors(self.url, f"write to collection {table!r}"):
                self.client.upsert(table, points=points, wait=True)

    def delete(self, table: str, ids: Sequence[str]) -> None:
        from qdrant_client import models

        self._need(table)
        for start, stop in chunks(len(ids), _UPSERT_CHUNK):
            selector = models.PointIdsList(points=[point_id(i) for i in ids[start:stop]])
            with _engine_errors(self.url, f"delete from collection {table!r}"):
                self.client.delete(table, points_selector=selector, wait=True)

    def count(self, table: str) -> int:
        if table not in self._collections():
            return 0
        with _engine_errors(self.url, f"count collection {table!r}"):
            return int(self.client.count(table, exact=True).count)

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        dim = self.dimension(table)
        if dim is None:
            raise IndexTargetError(
                f"{self.url}: collection {table!r} does not exist — publish first"
            )
        with _engine_errors(self.url, f"read collection {table!r}"):
            params = self.client.get_collection(table).config.params.vectors
        normalised = getattr(params, "distance", None) == "Cosine"
        payload = sorted({ID, NORM, *(c for c in columns if c != VECTOR)})
        offset = None
        while True:
            with _engine_errors(self.url, f"read collection {table!r}"):
                points, offset = self.client.scroll(
                    table,
                    limit=batch_size,
                    offset=offset,
                    with_payload=payload,
                    with_vectors=VECTOR in columns,
                )
            if points:
                values = [dict(p.payload or {}) for p in points]
                vectors = _vectors(points, normalised) if VECTOR in columns else None
                # a collection embver did not make (import --from): its point ids are the ids
                ids = [str(v.get(ID, p.id)) for v, p in zip(values, points, strict=True)]
                yield rows_batch(columns, dim, ids, vectors, values)
            if offset is None:
                return

    def switch(self, table: str) -> None:
        from qdrant_client import models

        self._need(table)
        operations: list[models.CreateAliasOperation | models.DeleteAliasOperation] = []
        if self.reader in self._aliases():
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.reader))
            )
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=table, alias_name=self.reader)
            )
        )
        with _engine_errors(self.url, f"move alias {self.reader!r} to {table!r}"):
            self.client.update_collection_aliases(change_aliases_operations=operations)

    def drop(self, table: str) -> None:
        self.refuse_dropping_the_readers(table)
        if table in self._collections():
            with _engine_errors(self.url, f"drop collection {table!r}"):
                self.client.delete_collection(table)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        name = self.reader if table is None else table
        if table is None and self.reader_table() is None:
            return []
        with _engine_errors(self.url, "search"):
            found = self.client.query_points(
                name, query=vector.astype("float32").tolist(), limit=k, with_payload=[ID]
            )
        return [str((p.payload or {})[ID]) for p in found.points]

    def close(self) -> None:
        if self._client is None:
            return
        if self.path is not None:
            _release_local(self.path)
        else:
            self._client.close()
        self._client = None


def _vectors(points: Sequence[Any], normalised: bool) -> list[list[float]]:
    """The points' vectors as published: a Cosine collection keeps them normalised, so they
    are scaled to the norm recorded in the payload."""
    import numpy as np

    vectors = np.asarray([p.vector for p in points], dtype=np.float64)
    if normalised:  # local mode hands back raw vectors after a reload: scale to the norm
        published = np.asarray([(p.payload or {}).get(NORM, 1.0) for p in points])
        held = np.linalg.norm(vectors, axis=1)
        vectors *= (published / np.where(held > 0, held, 1.0))[:, None]
    rows: list[list[float]] = vectors.astype(np.float32).tolist()
    return rows


__all__ = ["QdrantTarget", "local_client", "point_id"]
