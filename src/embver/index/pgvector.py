"""PostgreSQL with pgvector: ``postgresql+psycopg://user@host:port/db?table=NAME[&schema=S]``.

Physical tables ``NAME__embver_n`` (id text primary key, vector vector(d), the embver
columns and the item fields as text); readers query ``NAME``, a VIEW over one of them, so
:meth:`PgvectorTarget.switch` replaces the view in one transaction. Rows arrive by binary
COPY: straight into the table while no id is already there, else into a temporary table
merged with ``INSERT … ON CONFLICT (id) DO UPDATE``.
"""

from __future__ import annotations

import json
import struct
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from embver.errors import IndexTargetError
from embver.index.base import (
    FIXED_COLUMNS,
    HASH,
    ID,
    METRICS,
    SPACE,
    VECTOR,
    VERSION,
    IndexURL,
    Target,
    batch_vectors,
    field_names,
    physical_number,
    register_target,
    row_schema,
)

if TYPE_CHECKING:
    import numpy as np
    import psycopg
    import pyarrow as pa

_OPERATORS = {"cosine": "<=>", "dot": "<#>", "l2": "<->"}
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)


def libpq_uri(url: IndexURL) -> str:
    """The libpq URI (``postgresql://``) of an index URL, without ``table`` and ``schema``."""
    parts = urllib.parse.urlsplit(url.raw)
    query = {k: v for k, v in url.params.items() if k not in ("table", "schema")}
    return urllib.parse.urlunsplit(
        parts._replace(scheme="postgresql", query=urllib.parse.urlencode(query))
    )


@contextmanager
def _refused(url: IndexURL, doing: str) -> Iterator[None]:
    """Turn a psycopg error into a one-line IndexTargetError naming the URL."""
    import psycopg

    try:
        yield
    except psycopg.Error as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise IndexTargetError(f"{url}: {doing} failed: {first}") from None


def encode_copy(batch: pa.RecordBatch, columns: Sequence[str]) -> bytearray:
    """``batch`` as a PostgreSQL binary COPY stream of ``columns`` (pgvector's binary vectors).

    Built :data:`_CHUNK_ROWS` rows at a time (their vectors turned big-endian, their pieces
    joined) into one buffer of the stream's exact size: the peak is about one stream, not
    the three of a whole batch's pieces, their join and a big-endian copy of the batch.
    """
    vectors = batch_vectors(batch)
    n, dim = vectors.shape
    vector_head = struct.pack("!ihh", 4 + 4 * dim, dim, 0)
    texts = [
        [None if v is None else v.encode() for v in batch.column(c).to_pylist()]
        for c in columns
        if c != VECTOR
    ]
    text_bytes = sum(4 + len(v) for column in texts for v in column if v is not None)
    nulls = sum(column.count(None) for column in texts)
    size = len(_COPY_HEADER) + n * (2 + len(vector_head) + 4 * dim) + text_bytes + 4 * nulls
    out = bytearray(size + len(_COPY_TRAILER))
    out[: len(_COPY_HEADER)] = _COPY_HEADER
    at = len(_COPY_HEADER)
    vector_at = list(columns).index(VECTOR)
    for first in range(0, n, _CHUNK_ROWS):
        chunk = _copy_rows(vectors[first : first + _CHUNK_ROWS], texts, first, vector_at)
        out[at : at + len(chunk)] = chunk
        at += len(chunk)
    out[at:] = _COPY_TRAILER
    if len(out) != size + len(_COPY_TRAILER):
        raise AssertionError("the COPY stream's size was miscounted")
    return out


#: rows of a COPY stream encoded at a time
_CHUNK_ROWS = 1024
_NULL = b"\xff\xff\xff\xff"


def _copy_rows(
    vectors: np.ndarray, texts: Sequence[Sequence[bytes | None]], first: int, vector_at: int
) -> bytes:
    """COPY tuples of ``vectors`` (shape (m, d)) with rows ``first…`` of the text columns."""
    import numpy as np

    m, dim = vectors.shape
    vector_head = struct.pack("!ihh", 4 + 4 * dim, dim, 0)
    tuple_head = struct.pack("!h", len(texts) + 1)
    body = np.ascontiguousarray(vectors, dtype=">f4")
    parts: list[bytes] = []
    append = parts.append
    for i in range(m):
        append(tuple_head)
        for j, column in enumerate(texts):
            if j == vector_at:
                append(vector_head)
                append(body[i].tobytes())
            value = column[first + i]
            append(_NULL if value is None else _length(value) + value)
        if vector_at == len(texts):
            append(vector_head)
            append(body[i].tobytes())
    return b"".join(parts)


def _length(value: bytes) -> bytes:
    return struct.pack("!i", len(value))


@register_target("postgresql+psycopg")
class PgvectorTarget(Target):
    """A reader view and its physical tables in one PostgreSQL schema (pgvector)."""

    atomic_switch: ClassVar[bool] = True
    switch_note: ClassVar[str] = (
        "the reader view is replaced in one transaction: readers see the old table until it "
        "commits and the new one after"
    )

    def __init__(self, url: IndexURL) -> None:
        super().__init__(url)
        self.schema = url.params.get("schema", "public")
        self._conn: psycopg.Connection[Any] | None = None
        self._merging: set[str] = set()

    # connection

    def connect(self) -> psycopg.Connection[Any]:
        """The open connection (made on first use; autocommit)."""
        if self._conn is None:
            import psycopg

            with _refused(self.url, "connecting"):
                self._conn = psycopg.connect(
                    libpq_uri(self.url), autocommit=True, connect_timeout=5
                )
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _execute(self, query: Any, params: Sequence[Any] = (), doing: str = "a query") -> Any:
        with _refused(self.url, doing):
            return self.connect().execute(query, params)

    def _name(self, table: str) -> Any:
        from psycopg import sql

        return sql.Identifier(self.schema, table)

    # what is there

    def _relkind(self, name: str) -> str | None:
        row = self._execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            (self.schema, name),
        ).fetchone()
        return None if row is None else str(row[0])

    def _view_sources(self) -> list[str]:
        rows = self._execute(
            "SELECT DISTINCT t.relname FROM pg_rewrite r "
            "JOIN pg_class v ON v.oid = r.ev_class JOIN pg_namespace n ON n.oid = v.relnamespace "
            "JOIN pg_depend d ON d.objid = r.oid JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE n.nspname = %s AND v.relname = %s AND t.oid <> v.oid",
            (self.schema, self.reader),
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def foreign(self) -> str | None:
        kind = self._relkind(self.reader)
        if kind is None:
            return None
        if kind != "v":
            return f"{self.schema}.{self.reader} is a table, not embver's reader view"
        sources = self._view_sources()
        if len(sources) != 1 or physical_number(self.reader, sources[0]) is None:
            return f"view {self.schema}.{self.reader} reads {sources}, not an embver table"
        return None

    def reader_table(self) -> str | None:
        if self._relkind(self.reader) != "v":
            return None
        sources = self._view_sources()
        if len(sources) == 1 and physical_number(self.reader, sources[0]) is not None:
            return sources[0]
        return None

    def tables(self) -> list[str]:
        rows = self._execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            (self.schema, f"{self.reader}__embver_%"),
        ).fetchall()
        names = [str(r[0]) for r in rows if physical_number(self.reader, str(r[0])) is not None]
        return sorted(names, key=lambda t: physical_number(self.reader, t) or 0)

    def dimension(self, table: str) -> int | None:
        row = self._execute(
            "SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s AND NOT a.attisdropped",
            (self.schema, table, VECTOR),
        ).fetchone()
        return None if row is None else int(row[0])

    def _columns(self, table: str) -> list[str]:
        rows = self._execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (self.schema, table),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def metric(self, table: str) -> str:
        """The metric ``table`` was created for (kept in its comment)."""
        row = self._execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')",
            (f'"{self.schema}"."{table}"',),
        ).fetchone()
        try:
            return str(json.loads(row[0])["embver"]["metric"])
        except (TypeError, ValueError, KeyError):
            return "cosine"

    # writing

    def create(self, table: str, dim: int, fields: Sequence[str], metric: str = "cosine") -> None:
        from psycopg import sql

        if metric not in METRICS:
            raise IndexTargetError(f"{self.url}: metric {metric!r} is not one of {METRICS}")
        self.check_dimension(table, dim)
        self._execute("CREATE EXTENSION IF NOT EXISTS vector", doing="CREATE EXTENSION vector")
        columns = sql.SQL(", ").join(
            [
                sql.SQL("id text PRIMARY KEY"),
                sql.SQL("vector vector({})").format(sql.Literal(dim)),
                *(
                    sql.SQL("{} text NOT NULL").format(sql.Identifier(c))
                    for c in (SPACE, VERSION, HASH)
                ),
            ]
        )
        self._execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(self._name(table), columns),
            doing=f"creating {table}",
        )
        for name in fields:
            self._execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} text").format(
                    self._name(table), sql.Identifier(name)
                ),
                doing=f"adding column {name}",
            )
        comment = json.dumps({"embver": {"metric": metric}})
        self._execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(self._name(table), sql.Literal(comment))
        )

    def upsert(self, table: str, batch: pa.RecordBatch) -> None:
        if len(batch) == 0:
            return
        columns = [*FIXED_COLUMNS, *field_names(batch.schema)]
        data = encode_copy(batch, columns)
        if table not in self._merging and self._copy_straight(table, columns, data):
            return
        self._merging.add(table)
        self._copy_merge(table, columns, data)

    def _column_list(self, columns: Sequence[str]) -> Any:
        from psycopg import sql

        return sql.SQL(", ").join(sql.Identifier(c) for c in columns)

    def _copy_straight(self, table: str, columns: Sequence[str], data: bytearray) -> bool:
        """COPY ``data`` into ``table``; False (nothing written) when an id is already there."""
        import psycopg
        from psycopg import sql

        conn = self.connect()
        query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            self._name(table), self._column_list(columns)
        )
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(query) as copy:
                copy.write(data)
        except psycopg.errors.UniqueViolation:
            return False
        except psycopg.Error as error:
            raise IndexTargetError(f"{self.url}: COPY into {table} failed: {error}") from None
        return True

    def _copy_merge(self, table: str, columns: Sequence[str], data: bytearray) -> None:
        from psycopg import sql

        conn = self.connect()
        staging = sql.Identifier(f"_embver_staging_{table}"[:63])
        updates = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c != ID
        )
        names = self._column_list(columns)
        with _refused(self.url, f"upsert into {table}"), conn.transaction(), conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(
                    staging, self._name(table)
                )
            )
            with cur.copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(staging, names)
            ) as copy:
                copy.write(data)
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT (id) DO UPDATE SET {}"
                ).format(self._name(table), names, names, staging, updates)
            )

    def delete(self, table: str, ids: Sequence[str]) -> None:
        from psycopg import sql

        self._execute(
            sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(self._name(table)),
            (list(ids),),
            doing=f"deleting from {table}",
        )

    def count(self, table: str) -> int:
        from psycopg import sql

        row = self._execute(sql.SQL("SELECT count(*) FROM {}").format(self._name(table)))
        return int(row.fetchone()[0])

    def scan(self, table: str, columns: Sequence[str], batch_size: int) -> Iterator[pa.RecordBatch]:
        import psycopg
        import pyarrow as pa
        from psycopg import sql

        dim = self.dimension(table)
        if dim is None:
            raise IndexTargetError(f"{self.url}: table {table!r} does not exist")
        schema = row_schema(dim, [c for c in columns if c not in FIXED_COLUMNS])
        schema = pa.schema([schema.field(c) for c in columns])
        query = sql.SQL("SELECT {} FROM {}").format(self._column_list(columns), self._name(table))
        with (
            _refused(self.url, f"reading {table}"),
            psycopg.connect(libpq_uri(self.url), connect_timeout=5) as conn,
            conn.cursor(name="embver_scan", binary=True) as cur,
        ):
            cur.itersize = batch_size
            cur.execute(query)
            while rows := cur.fetchmany(batch_size):
                yield _rows_to_batch(rows, columns, schema, dim)

    def switch(self, table: str) -> None:
        import psycopg
        from psycopg import sql

        view = self._name(self.reader)
        body = sql.SQL("SELECT * FROM {}").format(self._name(table))
        conn = self.connect()
        with _refused(self.url, f"switching readers to {table}"), conn.transaction():
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS {}").format(view, body))
            except psycopg.errors.InvalidTableDefinition:
                # another dim or other fields change the view's columns: still one transaction
                conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
                conn.execute(sql.SQL("CREATE VIEW {} AS {}").format(view, body))

    def drop(self, table: str) -> None:
        from psycopg import sql

        self.refuse_dropping_the_readers(table, "table")
        self._execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._name(table)))
        self._merging.discard(table)

    def search(self, table: str | None, vector: np.ndarray, k: int) -> list[str]:
        from psycopg import sql

        physical = table or self.reader_table()
        if physical is None:
            return []
        operator = sql.SQL(_OPERATORS[self.metric(physical)])
        literal = "[" + ",".join(repr(float(x)) for x in vector) + "]"
        rows = self._execute(
            sql.SQL("SELECT id FROM {} ORDER BY vector {} %s::vector LIMIT %s").format(
                self._name(table or self.reader), operator
            ),
            (literal, k),
            doing="search",
        ).fetchall()
        return [str(r[0]) for r in rows]


def _rows_to_batch(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[str], schema: pa.Schema, dim: int
) -> pa.RecordBatch:
    """Rows of a binary cursor as a batch: pgvector's binary vectors decoded to float32."""
    import numpy as np
    import pyarrow as pa

    arrays = []
    for j, name in enumerate(columns):
        values = [r[j] for r in rows]
        if name == VECTOR:
            flat = np.frombuffer(b"".join(bytes(v)[4:] for v in values), dtype=">f4")
            arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat.astype(np.float32)), dim))
        else:
            arrays.append(pa.array(values, pa.string()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
