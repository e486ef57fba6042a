"""Milvus targets: ``milvus:///abs/file.db/NAME`` (Milvus Lite: ``MilvusClient(uri=file)``
starts a local server for the file) and ``milvus://host:port/NAME`` (a server; the URL's
user and password become its token, ``?https=true`` for TLS).

Physical tables are collections ``NAME__embver_n`` with a VARCHAR primary key ``id`` (the
embver id), a FLOAT_VECTOR ``vector`` (a FLAT index, exact search, by the version's metric),
VARCHAR ``embver_space``/``embver_version``/``embver_content_hash`` and a nullable VARCHAR
per item field. The reader name is a collection alias, moved by ``alter_alias`` (one
server operation, atomic for readers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from embver.errors import EmbverError, IndexTargetError
from embver.index._rows import batch_rows, chunks, rows_batch
from embver.index.base import (
    FIXED_COLUMNS,
    ID,
    VECTOR,
    IndexURL,
    Target,
    register_target,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pymilvus import MilvusClient

_METRICS = {"cosine": "COSINE", "dot": "IP", "l2": "L2"}
_TEXT_LENGTH = 65535
_ID_LENGTH = 1024
_CHUNK = 1000
#: the largest batch a Milvus query iterator accepts
_MAX_BATCH = 16384


@contextlib.contextmanager
def _engine_errors(url: IndexURL, doing: str) -> Iterator[None]:
    """Turn pymilvus' errors (unreachable, refused, bad token) into one line."""
    try:
        yield
    except EmbverError:
        raise
    except Exception as error:  # pymilvus raises MilvusException, grpc and OS errors
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        first = (str(message).strip().splitlines() or [type(error).__name__])[0]
        hint = (
            "Milvus Lite admits one process per file: is another program using it?"
            if "Open local milvus failed" in first
            else "check the address or file and the credentials"
        )
        raise IndexTargetError(f"{url}: Milvus could not {doing}: {first[:300]} — {hint}") from None


class _NoLiteTimestampWarning(logging.Filter):
    """Drop pymilvus' warning that Milvus Lite gives its query iterator no server timestamp.

    The iterator falls back to a client-side timestamp (the scans' tests check it reads every
    row written before); the warning would print once per scan under every publish and status.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "failed to get mvccTs" not in record.getMessage()


_QUIET = _NoLiteTimestampWarning()


def _forget_cached_schemas() -> None:
    """Empty pymilvus' process-wide schema cache (keyed by endpoint and collection name).

    Milvus Lite servers started one after another can answer at the same endpoint, so a
    schema cached for another file's ``docs__embver_1`` (with a ``text`` field, say) would
    shape this file's writes: seen as "record has fields ['text'] not in schema".
    """
    try:
        from pymilvus.client.cache import GlobalCache
    except ImportError:  # a pymilvus without the cache has nothing stale to forget
        return
    GlobalCache.schema.clear()


@register_target("milvus")
class MilvusTarget(Target):
    """A Milvus collection alias over physical collections."""

    atomic_switch: ClassVar[bool] = True
    switch_note: ClassVar[str] = "collection alias moved with alter_alias (one atomic operation)"

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        if url.host:
            scheme = "https" if url.params.get("https", "false").lower() == "true" else "http"
            self.uri = f"{scheme}://{url.host}:{url.port or 19530}"
            self.token = f"{url.username}:{url.password}" if url.username else ""
        elif url.location.endswith(".db"):
            self.uri, self.token = url.location, ""
        else:
            raise IndexTargetError(
                f"{url}: write milvus:///abs/file.db/NAME (Milvus Lite) or milvus://host:port/NAME"
            )
        self._client: MilvusClient | None = None
        self._loaded: set[str] = set()

    @property
    def client(self) -> MilvusClient:
        if self._client is None:
            from pymilvus import MilvusClient

            lite = self.uri.endswith(".db")
            if lite:
                _hold_lite(self.uri)
                _forget_cached_schemas()
            try:
                with _engine_errors(self.url, "connect"):
                    self._client = MilvusClient(uri=self.uri, token=self.token, timeout=30)
            except IndexTargetError:
                if lite:
                    _release_lite(self.uri)
                raise
        return self._client

    def _collections(self) -> list[str]:
        with _engine_errors(self.url, "list collections"):
            return [str(name) for name in self.client.list_collections()]

    def _need(self, table: str) -> None:
        if table not in self._collections():
            raise IndexTargetError(
                f"{self.url}: collection {table!r} does not exist — publish first"
            )

    def _describe(self, table: str) -> dict[str, Any]:
        with _engine_errors(self.url, f"describe collection {table!r}"):
            return dict(self.client.describe_collection(table))

    # ------------------------------------------------------------------ the interface

    def reader_table(self) -> str | None:
        with _engine_errors(self.url, "list aliases"):
            for collection in self._collections():
                if self.reader in self.client.list_aliases(collection_name=collection)["aliases"]:
                    return collection
        return None

    def tables(self) -> list[str]:
        return self.physical_tables(self._collections())

    def foreign(self) -> str | None:
        return self.alias_foreign(self._collections())

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        self.check_physical(table)
        if self.dimension(table) is not None:
            self.check_dimension(table, dim)
            return
        with _engine_errors(self.url, f"create collection {table!r}"):
            self.client.create_collection(
                table, schema=self._schema(dim, fields), index_params=self._index(metric)
            )

    def _schema(self, dim: int, fields: Sequence[str]) -> Any:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID, DataType.VARCHAR, is_primary=True, max_length=_ID_LENGTH)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
        for name in FIXED_COLUMNS[2:]:
            schema.add_field(name, DataType.VARCHAR, max_length=256)
        for name in fields:
            schema.add_field(name, DataType.VARCHAR, max_length=_TEXT_LENGTH, nullable=True)
        return schema

    def _index(self, metric: str) -> Any:
        params = self.client.prepare_index_params()
        params.add_index(field_name=VECTOR, index_type="FLAT", metric_type=_METRICS[metric])
        return params

    def dimension(self, table: str) -> int | None:
        if table not in self._collections():
            return None
        for field in self._describe(table)["fields"]:
            if field["name"] == VECTOR:
                return int(field["params"]["dim"])
        raise IndexTargetError(
            f"{self.url}: collection {table!r} has no {VECTOR!r} field: not embver's"
        )

    def _load(self, table: str | None) -> None:
        """Load ``table`` for queries: a collection is released when its server restarts."""
        if table is not None and table not in self._loaded:
            self.client.load_collection(table)
            self._loaded.add(table)

    def _field_names(self, table: str) -> list[str]:
        return [f["name"] for f in self._describe(table)["fields"]]

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        self._need(table)
        known = self._field_names(table)
        ids, vectors, values = batch_rows(batch)
        extra = sorted({name for v in values for name in v} - set(known))
        if extra:
            raise IndexTargetError(
                f"{self.url}: the batch has fields {extra} collection {table!r} lacks: "
                "publish with the same --with fields"
            )
        optional = [name for name in known if name not in FIXED_COLUMNS]
        for start, stop in chunks(len(ids), _CHUNK):
            rows = [
                {
                    **{name: None for name in optional},
                    **values[i],
                    ID: ids[i],
                    VECTOR: vectors[i].tolist(),
                }
                for i in range(start, stop)
            ]
            with _engine_errors(self.url, f"write to collection {table!r}"):
                self.client.upsert(table, data=rows)

    def delete(self, table: str, ids: Sequence[str]) -> None:
        self._need(table)
        for start, stop in chunks(len(ids), _CHUNK):
            with _engine_errors(self.url, f"delete from collection {table!r}"):
                self.client.delete(table, ids=list(ids[start:stop]))

    def count(self, table: str) -> int:
        if table not in self._collections():
            return 0
        with _engine_errors(self.url, f"count collection {table!r}"):
            self._load(table)
            rows = self.client.query(table, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        dim = self.dimension(table)
        if dim is None:
            raise IndexTargetError(
                f"{self.url}: collection {table!r} does not exist — publish first"
            )
        known = self._field_names(table)
        wanted = [c for c in columns if c in known]
        logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_QUIET)
        with _engine_errors(self.url, f"read collection {table!r}"):
            self._load(table)
            iterator = self.client.query_iterator(
                table,
                batch_size=min(batch_size, _MAX_BATCH),
                filter="",
                output_fields=sorted({ID, *wanted}),
            )
        try:
            while True:
                with _engine_errors(self.url, f"read collection {table!r}"):
                    rows = iterator.next()
                if not rows:
                    return
                vectors = [r[VECTOR] for r in rows] if VECTOR in columns else None
                yield rows_batch(columns, dim, [str(r[ID]) for r in rows], vectors, rows)
        finally:
            iterator.close()

    def switch(self, table: str) -> None:
        self._need(table)
        current = self.reader_table()
        if current == table:
            return
        with _engine_errors(self.url, f"move alias {self.reader!r} to {table!r}"):
            if current is None:
                self.client.create_alias(table, self.reader)
            else:
                self.client.alter_alias(table, self.reader)

    def drop(self, table: str) -> None:
        self.refuse_dropping_the_readers(table)
        if table in self._collections():
            with _engine_errors(self.url, f"drop collection {table!r}"):
                self.client.drop_collection(table)
            self._loaded.discard(table)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        if table is None and self.reader_table() is None:
            return []
        name = self.reader if table is None else table
        with _engine_errors(self.url, "search"):
            self._load(self.reader_table() if table is None else table)
            hits = self.client.search(
                name, data=[vector.astype("float32").tolist()], limit=k, output_fields=[ID]
            )
        return [str(hit["id"]) for hit in hits[0]]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
            self._loaded.clear()
            if self.uri.endswith(".db"):
                _release_lite(self.uri)


# Milvus Lite serves a file from a server inside this process and admits one process per
# file: the last embver target on a file stops the server it started, so that another
# process (a CLI run, a reader) can open the file afterwards.
_LITE_LOCK = threading.Lock()
_LITE_USERS: dict[str, int] = {}
_LITE_STARTED: set[str] = set()


def _hold_lite(path: str) -> None:
    from milvus_lite.server_manager import server_manager_instance

    key = os.path.abspath(path)
    with _LITE_LOCK:
        if not _LITE_USERS.get(key) and key not in server_manager_instance._servers:
            _LITE_STARTED.add(key)
        _LITE_USERS[key] = _LITE_USERS.get(key, 0) + 1


def _release_lite(path: str) -> None:
    from milvus_lite.server_manager import server_manager_instance

    key = os.path.abspath(path)
    with _LITE_LOCK:
        _LITE_USERS[key] -= 1
        if _LITE_USERS[key] or key not in _LITE_STARTED:
            return
        del _LITE_USERS[key]
        _LITE_STARTED.discard(key)
    server_manager_instance.release_server(key)


__all__ = ["MilvusTarget"]
